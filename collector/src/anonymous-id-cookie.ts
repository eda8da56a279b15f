import type { AppConfig } from './app-context.js';
import type { Source } from './config.js';
import { decideConsent, DEFAULT_CONSENT_CATEGORY } from './ingest/consent.js';
import type { EventRecord } from './ingest/records.js';

/** The cookie the browser tracker keeps its anonymousId in (`ANONYMOUS_ID` in sdk-web/src/identity.ts). */
export const ANONYMOUS_ID_COOKIE = 'tally_aid';
/** 400 days: the longest lifetime Chromium grants a cookie. */
export const ANONYMOUS_ID_COOKIE_MAX_AGE = 400 * 86_400;

/** What of the request decides whether a cookie would be the site's own. */
export interface CookieRequest {
  /** The `Origin` header: browsers send it with every POST, so its absence means a server or an app. */
  origin: string | undefined;
  /** The `Sec-Fetch-Site` header: `cross-site` means the collector is not under the site's own domain. */
  fetchSite: string | undefined;
}

/**
 * The `Set-Cookie` value that keeps the visitor's anonymousId as a first-party cookie set by the
 * server, which Safari does not cap at 7 days as it caps cookies written by scripts — or
 * undefined when none is due. It is due only for a client source that asked for it (`anonymousIdCookie`,
 * else `TALLY_ANONYMOUS_ID_COOKIE`), for a page's request (an `Origin`) that is not cross-site,
 * and it follows the last stored event of the batch: the anonymousId it carries when its consent
 * allows `analytics` (the one rule, `decideConsent`), or a cookie that expires at once when its
 * consent does not (a deny clears what was set). `Secure` when the page is https; `SameSite=Lax`;
 * `Path=/` and no `Domain`, the same cookie the tracker writes, so that the two never coexist.
 *
 * @example
 * const cookie = anonymousIdCookie(prepared.events, source, deps.config, { origin, fetchSite });
 * if (cookie) c.header('Set-Cookie', cookie);
 */
export function anonymousIdCookie(
  events: readonly Pick<EventRecord, 'anonymous_id' | 'context'>[],
  source: Source,
  config: Pick<AppConfig, 'anonymousIdCookie'>,
  request: CookieRequest,
): string | undefined {
  if (!(source.anonymousIdCookie ?? config.anonymousIdCookie) || source.kind !== 'client') return undefined;
  if (request.origin === undefined || request.fetchSite === 'cross-site') return undefined;
  const last = events.at(-1);
  if (!last) return undefined;
  const consent = last.context.consent;
  const preferences = typeof consent === 'object' && consent !== null ? (consent as Record<string, unknown>).categoryPreferences : undefined;
  const allowed = decideConsent(source.consentMode, { consent: { categoryPreferences: preferences, category: DEFAULT_CONSENT_CATEGORY } }).allowed;
  const secure = request.origin.startsWith('https:') ? '; Secure' : '';
  if (!allowed) return `${ANONYMOUS_ID_COOKIE}=; Path=/; Max-Age=0; SameSite=Lax${secure}`;
  if (!last.anonymous_id) return undefined;
  return `${ANONYMOUS_ID_COOKIE}=${encodeURIComponent(last.anonymous_id)}; Path=/; Max-Age=${ANONYMOUS_ID_COOKIE_MAX_AGE}; SameSite=Lax${secure}`;
}
