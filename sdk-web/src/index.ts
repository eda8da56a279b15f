/**
 * The ESM package for single-page apps.
 * @example
 * import { init, track, grant } from '@tally/sdk-web';
 * init({ writeKey: 'wk_123', host: 'https://t.example.com', consent: { mode: 'opt-in' } });
 * track('Signed Up', { plan: 'pro' });
 * grant('analytics');
 * experimentViewed({ experiment_id: 'checkout-button', variant_id: 'green' });
 */
import { browserEnv } from './browser-env.js';
import { captureClicks } from './capture-clicks.js';
import { capturePages } from './capture-pages.js';
import { createTally, type CallOptions } from './core.js';
import { trackExperimentViewed } from './experiments.js';
import { acceptUserHash, type VerifiedTally } from './user-hash.js';
import type { ExperimentViewedProperties } from '@tally/schemas';

export { createTally, CONSENT } from './core.js';
export type { CallOptions, Options, Plugin, Properties, Tally } from './core.js';
export type { ConsentOptions, ConsentState } from './consent.js';
export type { Env, KeyValueStorage, SendResult } from './env.js';
export { memoryStorage } from './env.js';
export type { User } from './identity.js';
export type { IdentifyOptions, VerifiedTally } from './user-hash.js';
export { acceptUserHash } from './user-hash.js';
export type { Ecommerce } from './ecommerce.js';
export { trackExperimentViewed } from './experiments.js';
export { browserEnv } from './browser-env.js';
export { capturePages } from './capture-pages.js';
export { captureClicks } from './capture-clicks.js';

/**
 * The page's tracker: the same API as the script tag's global `tally`, whose `identify` also
 * takes `{ userHash }` (see `acceptUserHash`).
 */
export const tally: VerifiedTally = /* @__PURE__ */ acceptUserHash(/* @__PURE__ */ createTally(browserEnv, [capturePages, captureClicks]));

export const {
  init,
  track,
  page,
  screen,
  identify,
  group,
  alias,
  reset,
  flush,
  consent,
  grant,
  deny,
  user,
  productViewed,
  productAdded,
  productRemoved,
  cartViewed,
  checkoutStarted,
  orderCompleted,
} = tally;

/**
 * `Experiment Viewed` on the page's tracker: which variant of an A/B test the person was
 * shown. Only in the ESM package.
 *
 * @example
 * experimentViewed({ experiment_id: 'checkout-button', experiment_name: 'Checkout button', variant_id: 'green' });
 */
export const experimentViewed = (properties: ExperimentViewedProperties, options?: CallOptions): void =>
  trackExperimentViewed(tally, properties, options);
