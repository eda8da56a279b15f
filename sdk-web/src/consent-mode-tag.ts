/**
 * The script tag add-on `tally-consent-mode.js` (dist/tally-consent-mode.js):
 * `<script src=".../tally-consent-mode.js" defer></script>` after the tracker's tag passes the
 * page's Google Consent Mode state to `window.tally`, with the default signals ({@link CONSENT_MODE_SIGNALS}).
 */
import { pageTarget } from './consent-bridge.js';
import { bridgeConsentMode } from './consent-mode.js';

try {
  bridgeConsentMode(pageTarget());
} catch {
  // never reach the host page
}
