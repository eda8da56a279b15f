import { performance } from 'node:perf_hooks';

/**
 * One fixed query whose time is the database server's speed at the moment. The development
 * machines are shared and their speed drifts (by up to 60 % within an hour, docs/sql.md), so
 * the benchmarks print it before and after their runs: only figures taken at a like speed
 * compare. It reads no table, so it measures the machine, not the data.
 */
export const REFERENCE_QUERY = 'select sum(i) from generate_series(1, 20000000) i';

/** Times the reference query through `run` (any client's way of running SQL text), in seconds. */
export async function referenceSeconds(run: (text: string) => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run(REFERENCE_QUERY);
  return (performance.now() - started) / 1000;
}

/** The line a benchmark prints: the reference query's time before and after its runs. */
export function serverSpeedLine(before: number, after: number): string {
  return `server speed: the reference query (${REFERENCE_QUERY}) took ${before.toFixed(2)} s before the runs, ${after.toFixed(2)} s after`;
}
