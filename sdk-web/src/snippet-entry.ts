// Entry of dist/snippet.js.
import { installStub } from './snippet.js';

installStub(window as { tally?: unknown }, document);
