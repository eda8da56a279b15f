/** Consent (docs/design.md §4): categories, opt-in or opt-out, Global Privacy Control. */

export interface ConsentOptions {
  /** `opt-in`: nothing is sent or stored before a decision. `opt-out` (default): allowed until denied. */
  mode?: 'opt-in' | 'opt-out';
  /** Default `['necessary', 'analytics', 'marketing']`; `necessary` is always allowed. */
  categories?: string[];
  /** A decision the site already holds (from its consent manager). */
  preferences?: Record<string, boolean>;
  /** Categories denied while `navigator.globalPrivacyControl` is on; default `['marketing']`. */
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
  allowed(category: string): boolean;
  /** The event waits in memory: opt-in mode and no decision yet. */
  pending(category: string): boolean;
  set(categories: string[], value: boolean): void;
  state(): ConsentState;
}

export const NECESSARY = 'necessary';

export function createConsent(o: ConsentOptions = {}, gpc = false, saved?: Record<string, boolean> | null): Consent {
  const mode = o.mode || 'opt-out';
  const cats = o.categories || [NECESSARY, 'analytics', 'marketing'];
  const gpcDenied = (c: string) => gpc && (o.gpcDenies || ['marketing']).includes(c);
  const prefs: Record<string, boolean> = { ...saved, ...o.preferences };
  let decided = !!(saved || o.preferences);
  const allowed = (c: string) => c == NECESSARY || (!gpcDenied(c) && (prefs[c] ?? mode == 'opt-out'));
  return {
    allowed,
    pending: (c) => mode == 'opt-in' && !decided && !gpcDenied(c),
    set(list, v) {
      for (const c of list.length ? list : cats) if (c != NECESSARY) prefs[c] = v;
      decided = true;
    },
    state: () => ({
      mode,
      decided,
      gpc,
      categoryPreferences: Object.fromEntries(cats.map((c) => [c, allowed(c)])),
    }),
  };
}
