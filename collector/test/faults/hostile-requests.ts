import { gzipSync } from 'node:zlib';

/**
 * A seeded generator of malformed and adversarial requests for the collector's ingest
 * endpoints. Every request says what a correct collector must do with it, so the fuzz
 * suite can check the answer and then the database.
 */

export type HostileCategory =
  | 'broken-json'
  | 'not-an-object'
  | 'deep-nesting'
  | 'huge-strings'
  | 'prototype-keys'
  | 'wrong-types'
  | 'invalid-utf8'
  | 'nul-and-surrogates'
  | 'oversize'
  | 'sql-fragments'
  | 'forged-key'
  | 'mixed-batch'
  | 'odd-numbers'
  | 'gzip'
  | 'odd-headers'
  | 'single-endpoints';

export const CATEGORIES: readonly HostileCategory[] = [
  'broken-json',
  'not-an-object',
  'deep-nesting',
  'huge-strings',
  'prototype-keys',
  'wrong-types',
  'invalid-utf8',
  'nul-and-surrogates',
  'oversize',
  'sql-fragments',
  'forged-key',
  'mixed-batch',
  'odd-numbers',
  'gzip',
  'odd-headers',
  'single-endpoints',
];

export interface HostileRequest {
  readonly category: HostileCategory;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: Uint8Array;
  /**
   * `request-error`: the whole request must be refused with a 4xx and a message (broken JSON,
   * wrong key, oversize). `per-event`: answered 2xx, each event stored or listed as rejected.
   * `either`: one of the two, depending on how far the damage reaches.
   */
  readonly expect: 'request-error' | 'per-event' | 'either';
  /** True when the request carries a write key no source has: nothing of it may be stored. */
  readonly forged: boolean;
  /** String messageIds the body carries, in batch order (undefined where it has none). */
  readonly messageIds: readonly (string | undefined)[];
}

/** SQL that would do damage if it ever reached a statement as text. */
export const SQL_FRAGMENTS = [
  "'; drop table events; --",
  "' or '1'='1",
  "'); delete from events where ('1'='1",
  '$1',
  '$$; truncate rejected_events; $$',
  "E'\\\\x00'",
  '\\',
  "'::jsonb",
  '/* */ union select * from pg_shadow --',
  "1; update events set source_id = 'x'",
  '%_%',
  "'||pg_sleep(5)||'",
];

const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString', 'valueOf'];

/** mulberry32: a small, fast, seeded PRNG, so that a failing run can be replayed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const encoder = new TextEncoder();
const CONSENT = { categoryPreferences: { necessary: true, analytics: true, marketing: true } };

export interface GeneratorOptions {
  seed: number;
  /** The write key of the configured source. */
  writeKey: string;
  /** Makes messageIds unique across runs against one database. */
  runId: string;
}

/**
 * Returns `next()`, producing hostile requests cycling through every category with
 * seeded random variations.
 *
 * @example
 * const next = hostileRequests({ seed: 1, writeKey, runId: 'r1' });
 * const request = next();
 */
export function hostileRequests(options: GeneratorOptions): () => HostileRequest {
  const random = seededRandom(options.seed);
  const int = (max: number) => Math.floor(random() * max);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  const chance = (p: number) => random() < p;
  const auth = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;
  let sequence = 0;

  const baseHeaders = (key = options.writeKey): Record<string, string> => ({
    'content-type': pick(['text/plain', 'application/json', 'text/plain;charset=UTF-8']),
    authorization: auth(key),
  });

  function validEvent(id: string): Record<string, unknown> {
    const type = pick(['track', 'track', 'page', 'identify', 'screen', 'group', 'alias']);
    const event: Record<string, unknown> = {
      type,
      messageId: id,
      anonymousId: `anon-${int(500)}`,
      timestamp: new Date(Date.now() - int(86_400_000)).toISOString(),
      context: { consent: CONSENT, locale: 'en-US' },
    };
    if (type === 'track') Object.assign(event, { event: pick(['Signed Up', 'Button Clicked', 'Video Played']), properties: { n: int(1000) } });
    if (type === 'page' || type === 'screen') Object.assign(event, { name: 'Home', properties: { path: '/' } });
    if (type === 'identify') Object.assign(event, { userId: `user-${int(300)}`, traits: { plan: 'pro' } });
    if (type === 'group') Object.assign(event, { groupId: `g-${int(20)}`, traits: { name: 'Acme' } });
    if (type === 'alias') Object.assign(event, { userId: `user-${int(300)}`, previousId: `user-${int(300)}` });
    return event;
  }

  function nextId(prefix = 'fz'): string {
    sequence += 1;
    return `${prefix}-${options.runId}-${sequence}`;
  }

  function batchOf(events: Record<string, unknown>[]): Record<string, unknown> {
    return { batch: events, sentAt: new Date().toISOString() };
  }

  const ids = (events: readonly unknown[]) =>
    events.map((event) => {
      const id = typeof event === 'object' && event !== null ? (event as Record<string, unknown>).messageId : undefined;
      return typeof id === 'string' ? id : undefined;
    });

  function request(
    category: HostileCategory,
    body: string | Uint8Array,
    expect: HostileRequest['expect'],
    messageIds: readonly (string | undefined)[] = [],
    extra: { headers?: Record<string, string>; path?: string; forged?: boolean } = {},
  ): HostileRequest {
    return {
      category,
      path: extra.path ?? pick(['/v1/batch', '/v1/b']),
      headers: extra.headers ?? baseHeaders(),
      body: typeof body === 'string' ? encoder.encode(body) : body,
      expect,
      forged: extra.forged ?? false,
      messageIds,
    };
  }

  function nested(depth: number): string {
    const open = chance(0.5) ? '[' : '{"a":';
    const close = open === '[' ? ']' : '}';
    return `${open.repeat(depth)}1${close.repeat(depth)}`;
  }

  function wrongValue(): unknown {
    return pick<unknown>([
      42,
      -1,
      1e308,
      true,
      null,
      [],
      [1, 2],
      {},
      { nested: { deeper: [] } },
      '',
      ' ',
      'x'.repeat(int(300)),
      'not-a-date',
      '2024-13-45T99:99:99Z',
      '9999-12-31T23:59:59Z',
      '0001-01-01T00:00:00Z',
    ]);
  }

  const generators: Record<HostileCategory, () => HostileRequest> = {
    'broken-json'() {
      const events = [validEvent(nextId()), validEvent(nextId())];
      const text = JSON.stringify(batchOf(events));
      const broken = pick([
        () => text.slice(0, 1 + int(text.length - 2)),
        () => `${text}${pick(['}', ']', ',', 'garbage', '{"batch":[]}'])}`,
        () => text.replace(/"/g, "'"),
        () => text.replace(/:/, ''),
        () => text.replace('[', '[,'),
        () => text.replace(/\}$/, ',}'),
        () => `\u0000${text}`,
        () => '',
        () => '   \n\t ',
        () => 'undefined',
        () => 'NaN',
        () => '{"batch": [NaN]}',
        () => "{batch: [{type: 'track'}]}",
        () => '{"batch": [{"type": "track", "event": "x", "messageId": "a", }]}',
        () => '\uFEFF'.repeat(2) + text,
        () => Array.from({ length: 1 + int(400) }, () => String.fromCharCode(32 + int(95))).join(''),
      ])();
      let parses = true;
      try {
        JSON.parse(broken);
      } catch {
        parses = false;
      }
      return request('broken-json', broken, parses ? 'either' : 'request-error', parses ? ids(events) : []);
    },

    'not-an-object'() {
      const body = pick(['[]', 'null', '1', '"batch"', 'true', '{}', '{"batch":{}}', '{"batch":[]}', '{"batch":"[]"}', '{"batch":null}', '[{"batch":[]}]', '{"batch":[1,2,3]}']);
      return request('not-an-object', body, 'either');
    },

    'deep-nesting'() {
      // The largest shapes are rarer, so that a run of 100,000 requests stays within minutes.
      const depth = chance(0.85) ? pick([64, 500, 2_000, 10_000]) : pick([50_000, 100_000]);
      const where = pick(['properties', 'context', 'traits', 'top', 'envelope']);
      const id = nextId();
      const event = validEvent(id);
      const deep = nested(depth);
      let text: string;
      if (where === 'envelope') text = `{"batch":[${JSON.stringify(event)}],"extra":${deep}}`;
      else if (where === 'top') text = `{"batch":[${JSON.stringify(event).replace(/\}$/, `,"deep":${deep}}`)}]}`;
      else text = `{"batch":[${JSON.stringify({ ...event, [where]: undefined }).replace(/\}$/, `,"${where}":{"deep":${deep}}}`)}]}`;
      return request('deep-nesting', text, 'either', [id]);
    },

    'huge-strings'() {
      const size = chance(0.85) ? pick([1_000, 31_000, 33_000]) : pick([100_000, 400_000]);
      const filler = pick(['x', 'é', '😀', '\\', '"']).repeat(Math.ceil(size / 2));
      const id = nextId();
      const event = validEvent(id);
      const field = pick(['event', 'anonymousId', 'userId', 'name', 'properties', 'context', 'messageId', 'timestamp']);
      if (field === 'properties' || field === 'context') {
        event[field] = { ...(event[field] as object), big: filler };
      } else {
        event[field] = filler;
      }
      const events = [event, validEvent(nextId())];
      return request('huge-strings', JSON.stringify(batchOf(events)), 'either', ids(events));
    },

    'prototype-keys'() {
      const key = pick(PROTOTYPE_KEYS);
      const id = nextId();
      const payloadValue = pick<unknown>([{ polluted: 'yes', isAdmin: true }, { prototype: { polluted: 'yes' } }, 'polluted', null]);
      const event = validEvent(id);
      const spot = pick(['event', 'properties', 'context', 'traits', 'envelope', 'consent']);
      const inject = (json: string, target: string) => json.replace(target, `${target}"${key}":${JSON.stringify(payloadValue)},`);
      let text = JSON.stringify(batchOf([event]));
      if (spot === 'envelope') text = `{"${key}":${JSON.stringify(payloadValue)},${text.slice(1)}`;
      if (spot === 'properties' || spot === 'traits') text = text.replace(/\}\]/, `,"${spot}":{"${key}":${JSON.stringify(payloadValue)},"ok":1}}]`);
      if (spot === 'context') text = inject(text, '"context":{');
      if (spot === 'consent') text = inject(text, '"consent":{');
      if (spot === 'event') text = text.replace('"batch":[{', `"batch":[{"${key}":${JSON.stringify(payloadValue)},`);
      return request('prototype-keys', text, 'either', [id]);
    },

    'wrong-types'() {
      const events = Array.from({ length: 1 + int(5) }, () => validEvent(nextId()));
      const victim = events[int(events.length)] as Record<string, unknown>;
      const field = pick(['type', 'messageId', 'anonymousId', 'userId', 'timestamp', 'properties', 'context', 'event', 'traits', 'sentAt', 'integrations', 'previousId', 'groupId']);
      victim[field] = wrongValue();
      const envelope: Record<string, unknown> = batchOf(events);
      if (chance(0.15)) envelope[pick(['sentAt', 'context', 'batch', 'integrations', 'writeKey'])] = wrongValue();
      if (chance(0.1)) events.push(wrongValue() as Record<string, unknown>);
      // The envelope's batch itself may have been replaced: the ids are those of what is sent.
      const sent = envelope.batch === events ? events : Array.isArray(envelope.batch) ? (envelope.batch as Record<string, unknown>[]) : [];
      return request('wrong-types', JSON.stringify(envelope), 'either', ids(sent));
    },

    'invalid-utf8'() {
      const id = nextId();
      const text = JSON.stringify(batchOf([validEvent(id)]));
      const marker = '"event":"';
      const at = text.includes(marker) ? text.indexOf(marker) + marker.length : text.indexOf('"type":"') + 8;
      const bad = pick([[0xff], [0xc3, 0x28], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0x80], [0xfe, 0xfe, 0xff]]);
      const prefix = encoder.encode(text.slice(0, at));
      const suffix = encoder.encode(text.slice(at));
      const body = new Uint8Array(prefix.length + bad.length + suffix.length);
      body.set(prefix, 0);
      body.set(bad, prefix.length);
      body.set(suffix, prefix.length + bad.length);
      return request('invalid-utf8', body, 'request-error');
    },

    'nul-and-surrogates'() {
      const events = Array.from({ length: 1 + int(4) }, () => validEvent(nextId()));
      const victim = events[int(events.length)] as Record<string, unknown>;
      const nasty = pick(['\u0000', 'a\u0000b', '\ud800', '\udfff', 'x\ud83d', '\ud83d\ude00\u0000', '\u0000'.repeat(50)]);
      const field = pick(['event', 'anonymousId', 'userId', 'properties', 'propertyKey', 'context', 'name', 'messageId']);
      if (field === 'properties') victim.properties = { text: nasty };
      else if (field === 'propertyKey') victim.properties = { [nasty]: 1 };
      else if (field === 'context') victim.context = { ...(victim.context as object), locale: nasty };
      else victim[field] = field === 'messageId' ? `${String(victim.messageId)}${nasty}` : nasty;
      // JSON.stringify writes lone surrogates as \\udXXX escapes, as a sender would.
      return request('nul-and-surrogates', JSON.stringify(batchOf(events)), 'per-event', ids(events));
    },

    oversize() {
      const kind = chance(0.75) ? 'event' : pick(['body', 'count']);
      if (kind === 'body') {
        const events = Array.from({ length: 20 }, () => ({ ...validEvent(nextId()), properties: { pad: 'p'.repeat(27_000) } }));
        return request('oversize', JSON.stringify(batchOf(events)), 'request-error');
      }
      if (kind === 'count') {
        const events = Array.from({ length: 2_501 }, () => ({ type: 'track', event: 'x', anonymousId: 'a', messageId: nextId() }));
        return request('oversize', JSON.stringify(batchOf(events)), 'request-error');
      }
      const big = { ...validEvent(nextId()), properties: { pad: 'p'.repeat(33_000) } };
      const events = [big, validEvent(nextId())];
      return request('oversize', JSON.stringify(batchOf(events)), 'per-event', ids(events));
    },

    'sql-fragments'() {
      const fragment = () => pick(SQL_FRAGMENTS);
      // A separator that is not a digit keeps the id's own number apart from a fragment that starts with one.
      const id = `${nextId()}~${fragment()}`;
      const event: Record<string, unknown> = {
        type: 'track',
        messageId: id,
        anonymousId: fragment(),
        userId: fragment(),
        event: fragment(),
        timestamp: new Date().toISOString(),
        properties: { [fragment()]: fragment(), nested: { q: fragment() } },
        context: { consent: CONSENT, locale: fragment(), page: { url: `https://x.example/?q=${encodeURIComponent(fragment())}`, title: fragment() }, campaign: { source: fragment() } },
      };
      const headers = { ...baseHeaders(), 'user-agent': fragment(), 'x-forwarded-for': fragment() };
      return request('sql-fragments', JSON.stringify(batchOf([event])), 'per-event', [id], { headers });
    },

    'forged-key'() {
      const events = [validEvent(nextId('forged')), validEvent(nextId('forged'))];
      const wrong = pick([
        `${options.writeKey}x`,
        options.writeKey.slice(0, -1),
        options.writeKey.toUpperCase(),
        "' or '1'='1",
        'x'.repeat(5_000),
        '__proto__',
        'constructor',
        `${options.writeKey}\u0000`,
        ' ',
      ]);
      const how = pick(['basic', 'body', 'both', 'none', 'bearer', 'malformed']);
      const headers: Record<string, string> = { 'content-type': 'text/plain' };
      const envelope: Record<string, unknown> = batchOf(events);
      if (how === 'basic' || how === 'both') headers.authorization = auth(wrong);
      if (how === 'body' || how === 'both') envelope.writeKey = wrong;
      if (how === 'bearer') headers.authorization = `Bearer ${options.writeKey}`;
      if (how === 'malformed') headers.authorization = pick(['Basic', 'Basic !!!', `Basic ${options.writeKey}`, 'Basic Og==']);
      if (how === 'basic' && chance(0.3)) envelope.writeKey = options.writeKey;
      return request('forged-key', JSON.stringify(envelope), 'request-error', ids(events), { headers, forged: true });
    },

    'mixed-batch'() {
      const events = Array.from({ length: 2 + int(10) }, () => validEvent(nextId()));
      for (const event of events) {
        if (!chance(0.3)) continue;
        const damage = pick(['no-ids', 'bad-type', 'bad-timestamp', 'no-event', 'consent-denied']);
        if (damage === 'no-ids') delete event.anonymousId, delete event.userId;
        if (damage === 'bad-type') event.type = pick(['tRaCk', 'delete', '', 'batch']);
        if (damage === 'bad-timestamp') event.timestamp = pick(['yesterday', '2024-02-30T00:00:00Z', '']);
        if (damage === 'no-event' && event.type === 'track') delete event.event;
        if (damage === 'consent-denied') event.context = { consent: { categoryPreferences: { analytics: false, marketing: false } } };
      }
      if (chance(0.3)) events.push(validEvent(events[0]!.messageId as string));
      return request('mixed-batch', JSON.stringify(batchOf(events)), 'per-event', ids(events));
    },

    'odd-numbers'() {
      const id = nextId();
      const value = pick(['1e400', '-1e400', '-0', '123456789012345678901234567890', '0.1e-400', '1E+2', '-9007199254740993']);
      const text = JSON.stringify(batchOf([validEvent(id)])).replace(/\}\]/, `,"properties":{"value":${value},"price":${value}}}]`);
      return request('odd-numbers', text, 'per-event', [id]);
    },

    gzip() {
      const kind = pick(['valid', 'broken', 'bomb', 'unknown-encoding', 'double', 'claims-gzip']);
      const events = [validEvent(nextId()), validEvent(nextId())];
      const text = JSON.stringify(batchOf(events));
      const headers = { ...baseHeaders(), 'content-encoding': 'gzip' };
      if (kind === 'valid') return request('gzip', gzipSync(text), 'per-event', ids(events), { headers });
      if (kind === 'broken') {
        const zipped = gzipSync(text);
        return request('gzip', zipped.subarray(0, Math.max(1, zipped.length - 1 - int(zipped.length - 1))), 'request-error', [], { headers });
      }
      if (kind === 'bomb') return request('gzip', gzipBomb(pick([1, 10, 50])), 'request-error', [], { headers });
      if (kind === 'double') return request('gzip', gzipSync(gzipSync(text)), 'request-error', [], { headers });
      if (kind === 'claims-gzip') return request('gzip', text, 'request-error', [], { headers });
      return request('gzip', text, 'request-error', [], { headers: { ...headers, 'content-encoding': pick(['br', 'deflate', 'compress', 'gzip, br', 'x-unknown']) } });
    },

    'odd-headers'() {
      const events = [validEvent(nextId())];
      const headers: Record<string, string> = {
        ...baseHeaders(),
        'content-type': pick(['application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/octet-stream', 'text/html', 'image/png', '']),
      };
      if (chance(0.3)) headers['x-forwarded-for'] = pick(['not-an-ip', '1.2.3.4, <script>', '::1'.repeat(100), "'; drop table events; --"]);
      if (chance(0.3)) headers['user-agent'] = pick(['', '\u00ff'.repeat(200), 'x'.repeat(8_000), 'Mozilla/5.0 (compatible; ;;;; )']);
      if (chance(0.2)) headers.origin = pick(['null', 'https://evil.example', 'file://', '*']);
      return request('odd-headers', JSON.stringify(batchOf(events)), 'either', ids(events), { headers });
    },

    'single-endpoints'() {
      const id = nextId();
      const event = validEvent(id);
      const path = pick(['/v1/track', '/v1/t', '/v1/identify', '/v1/i', '/v1/page', '/v1/p', '/v1/screen', '/v1/s', '/v1/group', '/v1/g', '/v1/alias', '/v1/a']);
      const broken = chance(0.4);
      const body = broken ? pick([JSON.stringify([event]), JSON.stringify({ ...event, [pick(PROTOTYPE_KEYS)]: { polluted: 1 } }), JSON.stringify({ ...event, messageId: 7 }), '"x"']) : JSON.stringify(event);
      return request('single-endpoints', body, 'either', [id], { path });
    },
  };

  let index = 0;
  return () => {
    const category = CATEGORIES[index % CATEGORIES.length] as HostileCategory;
    index += 1;
    return generators[category]();
  };
}

const bombs = new Map<number, Uint8Array>();

/** A small gzip body that inflates to `megabytes` MB of zeros. */
export function gzipBomb(megabytes: number): Uint8Array {
  let bomb = bombs.get(megabytes);
  if (!bomb) bombs.set(megabytes, (bomb = gzipSync(Buffer.alloc(megabytes * 1024 * 1024), { level: 9 })));
  return bomb;
}
