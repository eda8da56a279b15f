import { clampInstant, isAcceptedInstant } from '@tally/schemas';
import { UAParser } from 'ua-parser-js';
import { truncateIp } from './client-ip.js';
import type { EventRecord } from './records.js';

/** What the collector knows of the request an event arrived in. */
export interface RequestFacts {
  receivedAt: Date;
  /** The client's address (already resolved through trusted proxies), untruncated. */
  ip: string | undefined;
  /** The request's `User-Agent` header. */
  userAgent: string | undefined;
}

export interface EnrichOptions {
  sourceId: string;
  /** A client clock off by more than this has its timestamps corrected. */
  skewThresholdMs: number;
}

type Json = Record<string, unknown>;

/**
 * Turns a validated message into an `events` row (docs/design.md §1, §5): server `received_at`, the corrected
 * timestamp (the client's kept in `original_timestamp`), browser/OS/device from the user
 * agent, the client IP truncated (also inside the stored context), and the page and UTM
 * fields lifted into columns.
 *
 * @example
 * const row = enrichEvent(message, { receivedAt: new Date(), ip: '203.0.113.9', userAgent }, { sourceId: 'shop', skewThresholdMs: 60_000 });
 */
export function enrichEvent(message: Json, request: RequestFacts, options: EnrichOptions): EventRecord {
  const context: Json = { ...(asRecord(message.context) ?? {}) };
  const properties = asRecord(message.properties) ?? {};
  const traits = asRecord(message.traits) ?? asRecord(context.traits) ?? {};

  const contextIp = typeof context.ip === 'string' ? truncateIp(context.ip) : undefined;
  const ip = contextIp ?? (request.ip ? truncateIp(request.ip) : undefined) ?? null;
  if ('ip' in context) {
    if (contextIp) context.ip = contextIp;
    else delete context.ip;
  }

  const clientTimestamp = instant(message.timestamp) ?? instant(message.originalTimestamp);
  const sentAt = instant(message.sentAt);
  const receivedAt = request.receivedAt;
  const timestamp = correctTimestamp(clientTimestamp, sentAt, receivedAt, options.skewThresholdMs);

  const page = asRecord(context.page) ?? {};
  const pageProperties = message.type === 'page' ? properties : {};
  const url = text(page.url) ?? text(pageProperties.url);
  const path = text(page.path) ?? text(pageProperties.path) ?? pathOf(url);
  const referrer = text(page.referrer) ?? text(pageProperties.referrer);
  const campaign = asRecord(context.campaign) ?? {};
  const query = searchParamsOf(url, text(page.search));
  const utm = (key: string, param: string) => text(campaign[key]) ?? query?.get(param) ?? null;

  const agent = appAgentFields(context) ?? parseUserAgent(text(context.userAgent) ?? request.userAgent);

  return {
    message_id: message.messageId as string,
    source_id: options.sourceId,
    type: message.type as string,
    event: text(message.event),
    name: text(message.name),
    anonymous_id: text(message.anonymousId),
    user_id: text(message.userId),
    group_id: text(message.groupId),
    previous_id: text(message.previousId),
    timestamp: timestamp.toISOString(),
    original_timestamp: clientTimestamp?.toISOString() ?? null,
    sent_at: sentAt?.toISOString() ?? null,
    received_at: receivedAt.toISOString(),
    properties,
    traits,
    context,
    url,
    path,
    referrer,
    utm_source: utm('source', 'utm_source'),
    utm_medium: utm('medium', 'utm_medium'),
    utm_campaign: utm('name', 'utm_campaign'),
    utm_term: utm('term', 'utm_term'),
    utm_content: utm('content', 'utm_content'),
    ...agent,
    ip,
  };
}

/**
 * The time an event happened, on the server's clock. When the client's clock is off by more
 * than `thresholdMs` (judged by `sentAt` against arrival), its timestamp is shifted by that
 * offset: `receivedAt - (sentAt - timestamp)`. Either way the result never lies after
 * `receivedAt`, and an event without a timestamp happened when it arrived.
 *
 * @example
 * correctTimestamp(new Date('2030-01-01T00:00:00Z'), new Date('2030-01-01T00:00:05Z'), new Date('2026-01-01T00:00:05Z'), 60_000);
 * // 2026-01-01T00:00:00Z
 */
export function correctTimestamp(timestamp: Date | undefined, sentAt: Date | undefined, receivedAt: Date, thresholdMs: number): Date {
  if (!timestamp) return receivedAt;
  let corrected = timestamp.getTime();
  if (sentAt && Math.abs(receivedAt.getTime() - sentAt.getTime()) > thresholdMs) {
    corrected = receivedAt.getTime() - (sentAt.getTime() - timestamp.getTime());
  }
  // A shift by a far-future `sentAt` can land before year 1: kept inside the accepted range
  // (docs/design.md §1), so that one such event can never abort a write shared with others.
  return new Date(clampInstant(Math.min(corrected, receivedAt.getTime())));
}

export interface UserAgentFields {
  browser: string | null;
  browser_version: string | null;
  os: string | null;
  os_version: string | null;
  device_type: string | null;
}

const agentCache = new Map<string, UserAgentFields>();
const AGENT_CACHE_SIZE = 2_000;
const NO_AGENT: UserAgentFields = { browser: null, browser_version: null, os: null, os_version: null, device_type: null };

/**
 * Browser, OS and device type of a user agent (`desktop` when the parser names no device
 * type but knows the browser). Results are cached: a site's traffic repeats few agents.
 *
 * @example
 * parseUserAgent('Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) … Safari/604.1').device_type; // 'mobile'
 */
export function parseUserAgent(userAgent: string | undefined): UserAgentFields {
  if (!userAgent) return NO_AGENT;
  const cached = agentCache.get(userAgent);
  if (cached) return cached;
  const result = new UAParser(userAgent).getResult();
  const fields: UserAgentFields = {
    browser: result.browser.name ?? null,
    browser_version: result.browser.version ?? null,
    os: result.os.name ?? null,
    os_version: result.os.version ?? null,
    device_type: result.device.type ?? (result.browser.name || result.os.name ? 'desktop' : null),
  };
  if (agentCache.size >= AGENT_CACHE_SIZE) agentCache.clear();
  agentCache.set(userAgent, fields);
  return fields;
}

/** ua-parser-js's device types, which `context.device.type` may name as they are. */
const DEVICE_TYPES = new Set(['mobile', 'tablet', 'console', 'smarttv', 'wearable', 'xr', 'embedded', 'desktop']);

/**
 * The OS and device type an app states in `context.os` and `context.device` (as Segment's and
 * RudderStack's mobile SDKs and Tally's React Native entry send them), for an event without a
 * `context.userAgent`: the request's own agent is then the app's HTTP library's (`okhttp/4.12`,
 * `Shop/412 CFNetwork/1490`), which names no device. Segment's `device.type` is the platform
 * (`ios`, `android`), so the form factor comes from the names: an iPad is a tablet, other iOS
 * and Android devices are phones.
 *
 * @example
 * appAgentFields({ os: { name: 'iOS', version: '17.4' }, device: { type: 'ios', model: 'iPhone15,2' } });
 * // { browser: null, browser_version: null, os: 'iOS', os_version: '17.4', device_type: 'mobile' }
 */
export function appAgentFields(context: Json): UserAgentFields | undefined {
  const os = asRecord(context.os);
  const name = text(os?.name);
  if (!name || text(context.userAgent)) return undefined;
  const device = asRecord(context.device) ?? {};
  const type = text(device.type)?.toLowerCase();
  const deviceType =
    type && DEVICE_TYPES.has(type) ? type : /ipad/i.test(`${name} ${text(device.model) ?? ''}`) ? 'tablet' : /^(ios|android)$/i.test(name) ? 'mobile' : null;
  return { browser: null, browser_version: null, os: name, os_version: text(os!.version), device_type: deviceType };
}

function instant(value: unknown): Date | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) || !isAcceptedInstant(ms) ? undefined : new Date(ms);
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

function asRecord(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

function pathOf(url: string | null): string | null {
  if (!url) return null;
  try {
    return new URL(url).pathname;
  } catch {
    return null;
  }
}

function searchParamsOf(url: string | null, search: string | null): URLSearchParams | undefined {
  if (search) return new URLSearchParams(search);
  if (!url || !url.includes('utm_')) return undefined;
  try {
    return new URL(url).searchParams;
  } catch {
    return undefined;
  }
}
