/**
 * The context of an app's calls (Segment's mobile fields): `app`, `device`, `os`, `screen`,
 * `locale` and `timezone`. The app passes what it knows; `Platform` and `Dimensions` from
 * react-native, when given, fill in the OS and the screen, read at each call (a rotation
 * changes the screen).
 */
import { attempt } from '../env.js';

export interface AppContext {
  /** e.g. `{ name: 'Shop', version: '3.2.0', build: '412', namespace: 'com.example.shop' }` */
  app?: { name?: string; version?: string; build?: string; namespace?: string; [k: string]: unknown };
  /** e.g. `{ manufacturer: 'Apple', model: 'iPhone15,2', type: 'ios' }` */
  device?: { manufacturer?: string; model?: string; name?: string; type?: string; [k: string]: unknown };
  os?: { name?: string; version?: string; [k: string]: unknown };
  screen?: { width?: number; height?: number; density?: number; [k: string]: unknown };
  locale?: string;
  timezone?: string;
  [k: string]: unknown;
}

/** The parts of react-native's `Platform` and `Dimensions` that context reads (pass the modules themselves). */
export interface NativeModules {
  Platform?: { OS: string; Version: string | number };
  Dimensions?: { get(dimension: 'screen' | 'window'): { width: number; height: number; scale: number } };
}

const OS_NAMES: Record<string, string> = { ios: 'iOS', android: 'Android', macos: 'macOS', windows: 'Windows' };

type Fields = Record<string, unknown>;

/**
 * A context function for the core: what the device tells (locale, timezone, and with the
 * native modules the OS and screen), then what the app gave, which wins field by field.
 * @example
 * import { Dimensions, Platform } from 'react-native';
 * const context = appContext({ app: { name: 'Shop', version: '3.2.0' } }, { Platform, Dimensions });
 */
export function appContext(given: AppContext = {}, modules: NativeModules = {}): () => Fields {
  const { Platform: p, Dimensions: d } = modules;
  return () => {
    const intl = attempt(() => Intl.DateTimeFormat().resolvedOptions());
    const s = d && attempt(() => d.get('screen'));
    const found: Fields = {
      locale: intl?.locale,
      timezone: intl?.timeZone,
      os: p && { name: OS_NAMES[p.OS] ?? p.OS, version: String(p.Version) },
      device: p && { type: p.OS },
      screen: s && { width: s.width, height: s.height, density: s.scale },
    };
    const out: Fields = { ...found, ...given };
    for (const k of ['os', 'device', 'screen'])
      if (found[k] && given[k]) out[k] = { ...(found[k] as Fields), ...(given[k] as Fields) };
    return out;
  };
}
