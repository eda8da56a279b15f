/** Screen views from a navigation container (React Navigation's `NavigationContainer` and its ref). */
import { attempt } from '../env.js';
import type { Properties, Tally } from '../core.js';

/** A route as `navigationRef.getCurrentRoute()` answers it. */
export interface Route {
  key?: string;
  name: string;
  params?: object | undefined;
}

/** The part of a navigation container's ref that is read (`createNavigationContainerRef()` fits). */
export interface NavigationRef {
  getCurrentRoute(): Route | undefined;
  isReady?(): boolean;
}

export interface NavigationTrackingOptions {
  /** The properties of a route's `screen` event (default none: params may hold personal data). */
  properties?(route: Route): Properties | undefined;
}

/**
 * Sends `screen(route.name)` each time the focused route changes. Spread the answer on the
 * container: it gives `onReady` (the first screen) and `onStateChange`.
 * @example
 * const navigationRef = createNavigationContainerRef();
 * <NavigationContainer ref={navigationRef} {...trackNavigationState(tally, navigationRef)}>
 */
export function trackNavigationState(
  tally: Pick<Tally, 'screen'>,
  ref: NavigationRef,
  options: NavigationTrackingOptions = {},
): { onReady(): void; onStateChange(): void } {
  let last: string | undefined;
  const changed = () => {
    const route = attempt(() => (ref.isReady?.() === false ? undefined : ref.getCurrentRoute()));
    // The route's key tells two visits of one screen (another product) apart; a re-render does not change it.
    const id = route && (route.key ?? route.name);
    if (!route || id === last) return;
    last = id;
    tally.screen(route.name, attempt(() => options.properties?.(route)) ?? {});
  };
  return { onReady: changed, onStateChange: changed };
}
