/**
 * The script tag add-on `tally-tcf.js` (dist/tally-tcf.js): `<script src=".../tally-tcf.js" defer></script>`
 * after the tracker's tag passes the page's TCF consent manager's decisions to `window.tally`,
 * with the default purposes ({@link TCF_PURPOSES}).
 */
import { pageTarget } from './consent-bridge.js';
import { bridgeTcf } from './tcf.js';

try {
  bridgeTcf(pageTarget());
} catch {
  // never reach the host page
}
