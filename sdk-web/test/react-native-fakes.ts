/**
 * Fakes of the React Native modules the app entry is given, each following its documented
 * behaviour: AsyncStorage (string values only, every call answered later through a promise,
 * `null` for a missing key) and AppState (`currentState`, `change` events only on a change,
 * `addEventListener` answering a subscription with `remove()`).
 */

/** `@react-native-async-storage/async-storage`'s getItem/setItem/removeItem over a Map, shared by the "runs" of one app. */
export function fakeAsyncStorage() {
  const data = new Map<string, string>();
  let failing = false;
  const later = <T>(f: () => T) =>
    new Promise<T>((resolve, reject) =>
      setTimeout(() => {
        if (failing) return reject(new Error('AsyncStorage: database or disk is full'));
        try {
          resolve(f());
        } catch (e) {
          reject(e);
        }
      }, 1),
    );
  return {
    data,
    /** From now on every call fails, as a full disk does. */
    fail(on = true) {
      failing = on;
    },
    getItem: (key: string) => later(() => data.get(key) ?? null),
    setItem: (key: string, value: string) =>
      later(() => {
        if (typeof value != 'string') throw new TypeError(`AsyncStorage stores strings only, got ${typeof value} for ${key}`);
        data.set(key, value);
      }),
    removeItem: (key: string) =>
      later(() => {
        data.delete(key);
      }),
  };
}

export type AppStateStatus = 'active' | 'background' | 'inactive';

/** react-native's `AppState`: the app moves between `active`, `inactive` (iOS) and `background`. */
export function fakeAppState() {
  const listeners = new Set<(state: AppStateStatus) => void>();
  const appState = {
    currentState: 'active' as AppStateStatus,
    addEventListener(type: 'change', listener: (state: AppStateStatus) => void) {
      if (type == 'change') listeners.add(listener);
      return { remove: () => listeners.delete(listener) };
    },
    /** The operating system moves the app to `state`. */
    moveTo(state: AppStateStatus) {
      if (state == appState.currentState) return;
      appState.currentState = state;
      for (const l of [...listeners]) l(state);
    },
  };
  return appState;
}

/** react-native's `Platform` and `Dimensions` on an iPhone. */
export const iPhone = {
  Platform: { OS: 'ios', Version: '17.4' },
  Dimensions: { get: (_: 'screen' | 'window') => ({ width: 393, height: 852, scale: 3, fontScale: 1 }) },
};

/**
 * A React Navigation container: its ref answers `getCurrentRoute()`, and each navigation calls the
 * container's `onStateChange`, as `<NavigationContainer ref onReady onStateChange>` does.
 */
export function fakeNavigationContainer(first: string) {
  let n = 0;
  let route = { key: `${first}-${n}`, name: first, params: undefined as object | undefined };
  let handlers: { onReady(): void; onStateChange(): void } | undefined;
  return {
    ref: { isReady: () => !!handlers, getCurrentRoute: () => route },
    mount(h: { onReady(): void; onStateChange(): void }) {
      handlers = h;
      h.onReady();
    },
    navigate(name: string, params?: object) {
      route = { key: `${name}-${++n}`, name, params };
      handlers?.onStateChange();
    },
    /** A state change that leaves the focused route as it was (a nested navigator's, a param update). */
    rerender() {
      handlers?.onStateChange();
    },
  };
}
