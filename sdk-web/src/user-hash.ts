import type { CallOptions, Properties, Tally } from './core.js';

/** `identify`'s options: those of every call, and the userHash the site's server computed. */
export interface IdentifyOptions extends CallOptions {
  /**
   * Hex HMAC-SHA256 of the userId under the source's identity secret, computed by the site's
   * server; sent as `context.userHash`. A collector source with an `identitySecret` links
   * the userId only when it matches.
   */
  userHash?: string;
}

/** The tracker with `identify(userId, traits, { userHash })`. */
export interface VerifiedTally extends Tally {
  identify(userId?: string, traits?: Properties, options?: IdentifyOptions): void;
}

/**
 * Makes `identify` take `{ userHash }` and send it as `context.userHash`. ESM only: the
 * script tag's budget has no room, and there `{ context: { userHash } }` does the same.
 *
 * @example
 * const tally = acceptUserHash(createTally(browserEnv));
 * tally.identify('user-42', { plan: 'pro' }, { userHash: hashFromServer });
 */
export function acceptUserHash(tally: Tally): VerifiedTally {
  const identify = tally.identify;
  tally.identify = (userId?: string, traits?: Properties, options?: IdentifyOptions) =>
    identify(
      userId,
      traits,
      typeof options?.userHash == 'string' ? { ...options, context: { ...options.context, userHash: options.userHash } } : options,
    );
  return tally;
}
