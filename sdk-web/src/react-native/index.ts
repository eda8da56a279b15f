/**
 * The React Native entry (`@tally/sdk-web/react-native`): the browser tracker's core — queue,
 * consent, identity and delivery rules — over AsyncStorage, flushed when the app leaves the
 * foreground, with `screen()` and the app's device context. It imports nothing from
 * react-native: the app passes the modules it uses.
 * @example
 * import AsyncStorage from '@react-native-async-storage/async-storage';
 * import { AppState, Dimensions, Platform } from 'react-native';
 * import { tally } from '@tally/sdk-web/react-native';
 * tally.init({ writeKey: 'wk_app', host: 'https://t.example.com', storage: AsyncStorage, appState: AppState,
 *   context: { app: { name: 'Shop', version: '3.2.0' } }, modules: { Platform, Dimensions } });
 * tally.screen('Home');
 */
import { createTally, type Options, type Tally } from '../core.js';
import type { Env } from '../env.js';
import { fetchSend } from '../fetch-send.js';
import { appContext, type AppContext, type NativeModules } from './app-context.js';
import { mirrorAsyncStorage, type AsyncKeyValueStorage } from './async-storage.js';

/** The part of react-native's `AppState` that is used. */
export interface AppStateLike {
  addEventListener(type: 'change', listener: (state: string) => void): unknown;
}

export interface ReactNativeOptions extends Omit<Options, 'host' | 'capturePages' | 'captureClicks' | 'cookieDomain'> {
  /** The collector's origin, e.g. `https://t.example.com`. */
  host: string;
  /** Where the anonymousId, userId, traits, consent decision and unsent events are kept (AsyncStorage); without it, in memory only. */
  storage?: AsyncKeyValueStorage;
  /** react-native's `AppState`: what waits is sent (and stored) when the app goes to the background. */
  appState?: AppStateLike;
  /** What the app tells of itself and the device (`app`, `device`, `os`, …); sent with every event. */
  context?: AppContext;
  /** react-native's `Platform` and `Dimensions`, read for `context.os` and `context.screen`. */
  modules?: NativeModules;
}

export interface ReactNativeTally extends Omit<Tally, 'init'> {
  /**
   * Starts: reads what an earlier run stored, then replays the calls made meanwhile in order.
   * Resolves when started; never rejects.
   */
  init(options: ReactNativeOptions): Promise<void>;
}

/** AppState changes that leave the foreground (`inactive`: iOS's app switcher, a call). */
const LEAVING = ['background', 'inactive'];

/**
 * A tracker for a React Native app; `tally` is one made for you.
 * @example
 * const tally = createReactNativeTally();
 * await tally.init({ writeKey: 'wk_app', host: 'https://t.example.com', storage: AsyncStorage, appState: AppState });
 */
export function createReactNativeTally(): ReactNativeTally {
  let env: Env;
  const core = createTally(() => env);
  let started: Promise<void> | undefined;
  const start = async ({ storage: asyncStorage, appState, context, modules, ...options }: ReactNativeOptions) => {
    const storage = asyncStorage && (await mirrorAsyncStorage(asyncStorage, (e) => options.debug && console.warn('[tally] storage', e)));
    env = {
      storage,
      send: (url, body) => fetchSend(url, body),
      context: appContext(context, modules),
      onHide: (listener) => appState?.addEventListener('change', (s) => LEAVING.includes(s) && listener()),
    };
    core.init(options);
  };
  // Without a writeKey the core says so (in debug) and a later init may still start.
  const init = (o: ReactNativeOptions) => (o?.writeKey ? (started ??= start(o).catch(() => {})) : Promise.resolve(core.init(o)));
  return { ...core, init };
}

export const tally: ReactNativeTally = /* @__PURE__ */ createReactNativeTally();

export { appContext, type AppContext, type NativeModules } from './app-context.js';
export { mirrorAsyncStorage, KEYS, type AsyncKeyValueStorage, type MirroredStorage } from './async-storage.js';
export { trackNavigationState, type NavigationRef, type NavigationTrackingOptions, type Route } from './navigation.js';
export type { CallOptions, Properties } from '../core.js';
export type { ConsentOptions, ConsentState } from '../consent.js';
export type { User } from '../identity.js';
