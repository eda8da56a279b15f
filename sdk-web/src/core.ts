/**
 * The tracker's core: calls become messages, wait for consent, and go to delivery.
 * It reaches its surroundings only through an {@link Env}, so it runs in a browser,
 * a WebView, React Native or plain Node alike.
 */
import { createConsent, NECESSARY, type Consent, type ConsentOptions, type ConsentState } from './consent.js';
import { createDelivery, type Delivery } from './delivery.js';
import { ecommerceEvent, ECOMMERCE_HELPERS, type Ecommerce } from './ecommerce.js';
import { memoryStorage, parse, read, write, type Env, type KeyValueStorage } from './env.js';
import { createIdentity, type Identity, type User } from './identity.js';
import { VERSION } from './version.js';

export interface Options {
  writeKey: string;
  /** Collector origin, e.g. `https://t.example.com`; default: the page's own origin. */
  host?: string;
  /** Send when this many events wait (default 20)… */
  flushAt?: number;
  /** …or this many milliseconds after the first one (default 1000). */
  flushInterval?: number;
  /** Bounds of the stored retry queue: events (default 1000) and characters (default 1,000,000). */
  maxQueue?: number;
  maxQueueBytes?: number;
  /** Log to the console what is dropped and why. */
  debug?: boolean;
  consent?: ConsentOptions;
  /** The consent category events need unless a call says otherwise (default `analytics`). */
  category?: string;
  /** Cookie domain for the anonymousId, e.g. `example.com` to share it with sub-domains. */
  cookieDomain?: string;
  /** Page views on load and SPA navigation (default true). */
  capturePages?: boolean;
  /** Clicks on `[data-tally-event]` (default true); `'all'` adds every link and button. */
  captureClicks?: boolean | 'all';
}

export type Properties = Record<string, unknown>;

export interface CallOptions {
  /** The consent category this event needs. */
  category?: string;
  /** Merged into the message's `context`. */
  context?: Properties;
  /** When it happened (default: now). */
  timestamp?: string | Date;
}

export interface Tally extends Ecommerce {
  init(options: Options): void;
  track(event: string, properties?: Properties, options?: CallOptions): void;
  page(name?: string, properties?: Properties, options?: CallOptions): void;
  screen(name: string, properties?: Properties, options?: CallOptions): void;
  identify(userId?: string, traits?: Properties, options?: CallOptions): void;
  group(groupId: string, traits?: Properties, options?: CallOptions): void;
  alias(userId: string, previousId?: string, options?: CallOptions): void;
  /** Forgets userId and traits and starts a new anonymousId. */
  reset(): void;
  /**
   * Sends what waits now. `leaving` (the page is being left, e.g. by a link): stores it first, as
   * on page hide, so that if the request fails after the page is gone the next page sends it.
   */
  flush(leaving?: boolean): void;
  /** The consent state (undefined before `init`). */
  consent(): ConsentState | undefined;
  /** Grants the given categories (none: every category). */
  grant(...categories: string[]): void;
  /** Denies the given categories (none: every category but `necessary`). */
  deny(...categories: string[]): void;
  /** The current anonymousId, userId and traits (undefined before `init`). */
  user(): User | undefined;
}

/** Runs once at `init` with the live API, e.g. page and click capture. */
export type Plugin = (tally: Tally, options: Options) => void;

type Message = Properties & { context: Properties };

export const CONSENT = 'tally_consent';

/**
 * Creates a tracker. Calls made before `init` wait and replay in order once it runs;
 * no call ever throws.
 * @example
 * const tally = createTally(() => ({ storage: memoryStorage(), send: (url, body) => post(url, body) }));
 * tally.init({ writeKey: 'wk_123', host: 'https://t.example.com' });
 * tally.track('Signed Up', { plan: 'pro' });
 */
export function createTally(makeEnv: (options: Options) => Env, plugins: Plugin[] = []): Tally {
  let o: Required<Pick<Options, 'flushAt' | 'flushInterval' | 'maxQueue' | 'maxQueueBytes' | 'category'>> & Options;
  let env: Env;
  let storage: KeyValueStorage | undefined;
  let ready = false;
  let id: Identity;
  let consent: Consent;
  let delivery: Delivery;
  const mem = memoryStorage();
  const pre: [string, unknown[]][] = [];
  const held: [Message, string][] = [];
  const api = {} as Tally;

  const log = (reason: string, detail?: unknown) => o?.debug && console.warn(`[tally] ${reason}`, detail);
  const uuid = () => (env.uuid ? env.uuid() : crypto.randomUUID());
  const mayStore = () => consent.allowed(o.category);
  const store = () => (mayStore() && storage) || mem;

  // Keys left undefined are not serialized.
  // Consent is checked when the event leaves for delivery, so it carries the state it went out under.
  const release = (m: Message, c: string) => {
    const a = consent.allowed(c);
    if (a) {
      const s = consent.state();
      m.context.consent = { categoryPreferences: s.categoryPreferences, category: c, gpc: s.gpc || undefined };
      delivery.add(m);
    } else if (a == null) {
      // Bounded: the oldest waiting event gives way.
      if (held.push([m, c]) > o.maxQueue) held.shift();
    } else log(`no consent: ${c}`, m);
  };

  // The sender is the visitor, or nobody (`{}`).
  const call = (type: string, fields: Properties, opts: CallOptions = {}, { anonymousId, userId }: Partial<User> = id.user()) => {
    const context: Properties = {
      ...env.context?.(),
      ...opts.context,
      library: { name: '@tally/sdk-web', version: VERSION },
    };
    if (type == 'page') fields.properties = { ...(context.page as Properties), ...(fields.properties as Properties) };
    release(
      {
        type,
        messageId: uuid(),
        anonymousId,
        userId,
        timestamp: new Date(opts.timestamp ?? Date.now()).toISOString(),
        context,
        ...fields,
      },
      opts.category || o.category,
    );
  };

  // Store or forget according to consent, then let waiting events go or drop them. A decision is
  // stored whatever it says: after a deny it is the one thing kept, strictly necessary to honour it on later pages.
  const apply = () => {
    const s = consent.state();
    id.save();
    if (mayStore()) delivery.move(mem, store());
    else delivery.forget(storage);
    if (s.decided) write(storage, CONSENT, JSON.stringify(s.categoryPreferences));
    for (const [m, c] of held.splice(0)) release(m, c);
  };

  const decide = (cats: string[], v: boolean) => {
    const before = JSON.stringify(consent.state());
    // Nothing recorded before a deny goes out: neither the batch in memory nor the stored retry queues.
    // A deny of categories none of which was allowed finds nothing recorded under them to discard.
    if (!v && (!cats.length || cats.some((c) => consent.allowed(c) !== false))) delivery.discard(store());
    consent.set(cats, v);
    apply();
    const s = consent.state();
    // It names the visitor only when they may be tracked: a deny, or a grant that GPC overrides, names no one.
    if (JSON.stringify(s) != before)
      call('track', { event: 'Consent Updated', properties: s.categoryPreferences }, { category: NECESSARY }, v && mayStore() ? undefined : {});
  };

  const methods: Record<string, (...a: any[]) => unknown> = {
    init(options: Options) {
      if (ready) return log('init twice');
      if (!options?.writeKey) return log('no writeKey');
      o = {
        flushAt: 20,
        flushInterval: 1000,
        maxQueue: 1000,
        maxQueueBytes: 1e6,
        category: 'analytics',
        ...options,
      };
      env = makeEnv(o);
      storage = env.storage;
      consent = createConsent(o.consent, !!env.gpc, parse(read(storage, CONSENT)));
      id = createIdentity(env, uuid, mayStore);
      delivery = createDelivery({
        ...o,
        url: `${(o.host || '').replace(/\/+$/, '')}/v1/batch`,
        env,
        store,
        tab: uuid(),
        log,
      });
      ready = true;
      apply();
      env.onHide?.(() => delivery.flush(true));
      for (const [m, a] of pre.splice(0)) (api as any)[m](...a);
      for (const p of plugins) p(api, o);
      delivery.drain();
    },
    track: (event: string, properties?: Properties, opts?: CallOptions) =>
      call('track', { event, properties: properties || {} }, opts),
    page: (name?: string, properties?: Properties, opts?: CallOptions) => call('page', { name, properties }, opts),
    screen: (name: string, properties?: Properties, opts?: CallOptions) =>
      call('screen', { name, properties: properties || {} }, opts),
    identify(userId?: string, traits?: Properties, opts?: CallOptions) {
      id.identify(userId, traits);
      call('identify', { traits: id.user().traits }, opts);
    },
    group: (groupId: string, traits?: Properties, opts?: CallOptions) =>
      call('group', { groupId, traits: traits || {} }, opts),
    alias(userId: string, previousId?: string, opts?: CallOptions) {
      const u = id.user();
      call('alias', { userId, previousId: previousId || u.userId || u.anonymousId }, opts);
    },
    reset: () => id.reset(),
    flush: (leaving?: boolean) => delivery.flush(leaving),
    consent: () => consent.state(),
    grant: (...c: string[]) => decide(c, true),
    deny: (...c: string[]) => decide(c, false),
    user: () => id.user(),
  };
  for (const k of ECOMMERCE_HELPERS)
    methods[k] = (p: Properties, opts?: CallOptions) => api.track(ecommerceEvent(k), p, opts);

  for (const [k, fn] of Object.entries(methods))
    (api as any)[k] = (...a: unknown[]) => {
      try {
        if (ready || k == 'init') return fn(...a);
        pre.push([k, a]);
      } catch (e) {
        log(k, e);
      }
    };
  return api;
}
