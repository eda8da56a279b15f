/** Consent (docs/design.md §4): categories, opt-in or opt-out, Global Privacy Control. */

export interface ConsentOptions {
  /** `opt-in`: nothing is sent or stored before a decision. `opt-out` (default): allowed until denied. */
  mode?: 'opt-in' | 'opt-out';
  /** Default `['necessary', 'analytics', 'marketing']`; `necessary` is always allowed. */
  categories?: string[];
  /** A decision the site already holds (from its consent manager). */
  preferences?: Record<string, boolean>;
  /**
   * Categories denied while `navigator.globalPrivacyControl` is on, whatever a grant says;
   * default: every category but `necessary`. `['marketing']` honours GPC as an opt-out of
   * advertising only, `[]` ignores it.
   */
  gpcDenies?: string[];
}

export interface ConsentState {
  mode: 'opt-in' | 'opt-out';
  /** Whether a decision exists (a grant, a deny, or preferences given or remembered). */
  decided: boolean;
  gpc: boolean;
  categoryPreferences: Record<string, boolean>;
}

export interface Consent {
  /**
   * Whether events of a category may be sent: `undefined` while no decision exists in opt-in
   * mode (the event waits in memory), a boolean otherwise.
   */
  allowed(category: string): boolean | undefined;
  set(categories: string[], value: boolean): void;
  state(): ConsentState;
}

export const NECESSARY = 'necessary';

export function createConsent(o: ConsentOptions = {}, gpc = false, saved?: Record<string, boolean> | null): Consent {
  const mode = o.mode || 'opt-out';
  const cats = o.categories || [NECESSARY, 'analytics', 'marketing'];
  const prefs: Record<string, boolean> = { ...saved, ...o.preferences };
  let decided = !!(saved || o.preferences);
  const allowed = (c: string) =>
    c == NECESSARY ||
    (!(gpc && (o.gpcDenies?.includes(c) ?? true)) && (prefs[c] ?? (mode == 'opt-out' || (decided ? false : undefined))));
  return {
    allowed,
    set(list, v) {
      for (const c of list.length ? list : cats) if (c != NECESSARY) prefs[c] = v;
      decided = true;
    },
    state: () => ({
      mode,
      decided,
      gpc,
      // Every configured category and every one decided (`set` may name others), so that the
      // collector reads the same answer the SDK gave.
      categoryPreferences: Object.fromEntries([...cats, ...Object.keys(prefs)].map((c) => [c, !!allowed(c)])),
    }),
  };
}
