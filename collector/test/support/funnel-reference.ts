/**
 * The funnel's documented semantics (docs/sql.md), written plainly over an in-memory list of
 * events, so that tests can hold `funnel()` to them on any data.
 */
export interface ReferenceEvent {
  customer: string;
  event: string;
  at: number; // epoch milliseconds
  breakdown?: string | null;
}

export interface ReferenceStep {
  step: number;
  breakdownValue: string | null;
  customers: number;
  medianSeconds: number | null;
}

export function referenceFunnel(
  events: ReferenceEvent[],
  steps: string[],
  since: number,
  until: number,
  withinMs: number,
  options: { breakdown?: boolean } = {},
): ReferenceStep[] {
  const byCustomer = new Map<string, ReferenceEvent[]>();
  for (const e of events) {
    const list = byCustomer.get(e.customer) ?? [];
    list.push(e);
    byCustomer.set(e.customer, list);
  }

  interface Progress {
    group: string | null;
    reached: boolean[]; // index k - 1
    gaps: (number | null)[]; // seconds, index k - 1
  }
  const progress: Progress[] = [];

  for (const list of byCustomer.values()) {
    const entries = list.filter((e) => e.event === steps[0] && e.at >= since && e.at < until);
    if (entries.length === 0) continue;
    const enteredAt = Math.min(...entries.map((e) => e.at));
    let group: string | null = null;
    if (options.breakdown) {
      const carriers = list.filter((e) => e.at <= enteredAt && e.breakdown != null).sort((a, b) => a.at - b.at);
      group = carriers.at(-1)?.breakdown ?? null;
    }

    // start[k](e): the latest first-step time from which steps 1..k were done in strictly
    // increasing time ending at e, or undefined. An event completes step k when that start
    // lies within the window before it.
    const starts: Map<ReferenceEvent, number>[] = [new Map()];
    for (const e of entries) starts[0]!.set(e, e.at);
    const reached = [true];
    const gaps: (number | null)[] = [null];
    for (let k = 1; k < steps.length; k++) {
      const previous = starts[k - 1]!;
      const current = new Map<ReferenceEvent, number>();
      for (const e of list) {
        if (e.event !== steps[k]) continue;
        let best: number | undefined;
        for (const [p, start] of previous) {
          if (p.at < e.at && (best === undefined || start > best)) best = start;
        }
        if (best !== undefined && e.at - best <= withinMs) current.set(e, best);
      }
      starts.push(current);
      if (current.size === 0) {
        reached.push(false);
        gaps.push(null);
        continue;
      }
      // The first completion of step k, and the last completion of step k - 1 before it.
      const first = [...current.keys()].reduce((a, b) => (b.at < a.at ? b : a));
      let before: number;
      if (k === 1) {
        before = current.get(first)!;
      } else {
        before = Math.max(...[...previous.keys()].filter((p) => p.at < first.at).map((p) => p.at));
      }
      reached.push(true);
      gaps.push((first.at - before) / 1000);
    }
    progress.push({ group, reached, gaps });
  }

  const groups = options.breakdown ? [...new Set(progress.map((p) => p.group))] : [null];
  groups.sort((a, b) => (a === null ? 1 : b === null ? -1 : a < b ? -1 : a > b ? 1 : 0));
  const rows: ReferenceStep[] = [];
  for (const group of groups) {
    const members = progress.filter((p) => !options.breakdown || p.group === group);
    for (let k = 0; k < steps.length; k++) {
      const inStep = members.filter((p) => p.reached[k]);
      rows.push({
        step: k + 1,
        breakdownValue: group,
        customers: inStep.length,
        medianSeconds: k === 0 ? null : median(inStep.map((p) => p.gaps[k]!)),
      });
    }
  }
  return rows;
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = (sorted.length - 1) / 2;
  const low = sorted[Math.floor(middle)]!;
  const high = sorted[Math.ceil(middle)]!;
  return low + (high - low) * (middle - Math.floor(middle));
}
