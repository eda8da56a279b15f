#!/usr/bin/env node
// The `tally-collector` command; a file in the repository, so that installing links it before `dist/` is built.
import "../dist/server.js";
