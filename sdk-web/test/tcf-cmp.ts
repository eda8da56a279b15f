/**
 * A consent manager that follows the IAB TCF v2.2 CMP API as a page sees it: `__tcfapi` with
 * `ping`, `addEventListener` (the listener is called at once with the current TC data when the
 * CMP has loaded, then on every change, with its `listenerId`) and `removeEventListener`; TC data
 * with `tcfPolicyVersion` 4, `eventStatus` `tcloaded` (a stored decision), `cmpuishown` or
 * `useractioncomplete`, and purpose consents 1–11. Self-contained, so that a browser test can
 * install it in a page as `(${installTcfCmp})(window)`. `window.__cmp` drives it: `load(stored)`
 * (null: no stored decision, the UI shows) and `choose(consents)`.
 */
export interface TcfCmpControls {
  load(stored: Record<number, boolean> | null, gdprApplies?: boolean): void;
  choose(consents: Record<number, boolean>): void;
  listeners(): number;
}

export function installTcfCmp(w: Window): void {
  type Listener = { id: number; callback: (tcData: unknown, success: boolean) => void };
  let listeners: Listener[] = [];
  let nextId = 0;
  let loaded = false;
  let gdpr = true;
  let status = 'cmpuishown';
  let consents: Record<number, boolean> = {};
  const all = (c: Record<number, boolean>) => Object.fromEntries(Array.from({ length: 11 }, (_, i) => [i + 1, c[i + 1] === true]));
  const tcData = (listenerId: number) => ({
    tcString: `stub.${JSON.stringify(consents)}`,
    tcfPolicyVersion: 4,
    cmpId: 999,
    cmpVersion: 1,
    gdprApplies: gdpr,
    eventStatus: status,
    cmpStatus: 'loaded',
    listenerId,
    isServiceSpecific: true,
    useNonStandardTexts: false,
    publisherCC: 'DE',
    purposeOneTreatment: false,
    purpose: { consents: all(consents), legitimateInterests: all({}) },
    vendor: { consents: {}, legitimateInterests: {} },
    specialFeatureOptins: {},
    publisher: { consents: {}, legitimateInterests: {}, customPurpose: { consents: {}, legitimateInterests: {} }, restrictions: {} },
  });
  const tell = () => {
    for (const l of listeners) l.callback(tcData(l.id), true);
  };
  (w as unknown as Record<string, unknown>).__tcfapi = (command: string, version: number, callback: (...a: unknown[]) => void, parameter?: unknown) => {
    if (version !== 2 && version != null) return callback(undefined, false);
    if (command === 'ping')
      return callback({ gdprApplies: gdpr, cmpLoaded: loaded, cmpStatus: loaded ? 'loaded' : 'stub', displayStatus: status === 'cmpuishown' ? 'visible' : 'hidden', apiVersion: '2.2', cmpVersion: 1, cmpId: 999, gvlVersion: 1, tcfPolicyVersion: 4 });
    if (command === 'addEventListener') {
      const l = { id: nextId++, callback };
      listeners.push(l);
      if (loaded) callback(tcData(l.id), true);
      return;
    }
    if (command === 'removeEventListener') {
      const before = listeners.length;
      listeners = listeners.filter((l) => l.id !== parameter);
      return callback(listeners.length < before);
    }
    callback(undefined, false);
  };
  const controls: TcfCmpControls = {
    load(stored, gdprApplies = true) {
      loaded = true;
      gdpr = gdprApplies;
      status = stored ? 'tcloaded' : 'cmpuishown';
      consents = stored || {};
      tell();
    },
    choose(c) {
      status = 'useractioncomplete';
      consents = c;
      tell();
    },
    listeners: () => listeners.length,
  };
  (w as unknown as Record<string, unknown>).__cmp = controls;
}
