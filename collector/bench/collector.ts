// Collector throughput benchmark: the collector on a fresh real-Postgres database, driven by a
// load generator in a separate process on 127.0.0.1 with batches of 20 realistic events at
// rising concurrency (each sender a browser keeping its anonymousId, a visitor logging in on
// about one event in 20, a new browser after 1–15 batches); then the raw COPY rate of the
// same rows into the same database. Rate limits are off; any answer other than 200 is
// reported and makes the run exit non-zero.
//
//   pnpm bench:collector            (DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/test)
//   BENCH_SECONDS=10 BENCH_LEVELS=10,50,100 pnpm bench:collector
//   BENCH_CPU_PROF=/tmp/prof pnpm bench:collector   (writes the collector's CPU profiles there, one per process)
//   BENCH_WORKERS=2 pnpm bench:collector  (TALLY_WORKERS of the collector; default: its own default, one per core)
//   BENCH_LOG_LEVEL=warn pnpm bench:collector  (TALLY_LOG_LEVEL of the collector: what the request log lines cost)
//   BENCH_DISABLE_TRIGGERS=events_days_added pnpm bench:collector   (what a trigger on events costs:
//     the named triggers are disabled once the collector has migrated the database)
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { enrichEvent } from '../src/ingest/enrich.js';
import { makeEvent, newBrowser, visitLength } from './shop-events.js';
import type { EventRecord } from '../src/ingest/records.js';

const BATCH = 20;
const WRITE_KEY = 'bench-write-key';
const collectorDir = fileURLToPath(new URL('..', import.meta.url));
const thisFile = fileURLToPath(import.meta.url);

// ─── load generator (child process) ──────────────────────────────────────────
async function runLoad(url: string, concurrency: number, seconds: number, prefix: string): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const auth = `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`;
  const latencies: number[] = [];
  let accepted = 0;
  let failed = 0;
  const statuses: Record<number, number> = {};
  let sample: string | undefined;
  let counter = 0;
  const deadline = performance.now() + seconds * 1000;
  const post = (body: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(`${url}/v1/batch`, { method: 'POST', agent, headers: { 'content-type': 'application/json', authorization: auth } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      req.end(body);
    });
  // Each concurrent sender is a browser tab: one request at a time, 20 events of one visitor.
  const user = async (slot: number) => {
    let visit = 0;
    let browser = newBrowser(`${prefix}-${slot}-${visit}`);
    let batchesLeft = visitLength();
    while (performance.now() < deadline) {
      if (batchesLeft-- === 0) {
        browser = newBrowser(`${prefix}-${slot}-${++visit}`);
        batchesLeft = visitLength() - 1;
      }
      const first = counter;
      counter += BATCH;
      const batch = Array.from({ length: BATCH }, (_, i) => makeEvent(browser, `${prefix}-${first + i}`, first + i));
      const body = JSON.stringify({ batch, sentAt: new Date().toISOString() });
      const started = performance.now();
      const res = await post(body);
      latencies.push(performance.now() - started);
      if (res.status === 200) accepted += (JSON.parse(res.text) as { accepted: number }).accepted;
      else {
        failed++;
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        sample ??= `${res.status} ${res.text.slice(0, 200)}`;
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, (_, slot) => user(slot)));
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
  process.stdout.write(
    JSON.stringify({ concurrency, requests: latencies.length, accepted, failed, statuses, sample, elapsed, p50: pct(50), p99: pct(99), max: latencies.at(-1) ?? 0 }) + '\n',
  );
}

interface LevelResult {
  concurrency: number;
  requests: number;
  accepted: number;
  failed: number;
  statuses: Record<string, number>;
  sample?: string;
  elapsed: number;
  p50: number;
  p99: number;
  max: number;
}

function runChild(args: string[], env: NodeJS.ProcessEnv = process.env, flags: string[] = []): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [...flags, '--conditions=source', '--import', 'tsx', ...args], { cwd: collectorDir, env });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  return { child, output: () => output };
}

async function loadLevel(url: string, concurrency: number, seconds: number): Promise<LevelResult & { loadGeneratorCpu: number }> {
  const { child, output } = runChild([thisFile, '--load', url, String(concurrency), String(seconds), `c${concurrency}-${randomBytes(3).toString('hex')}`]);
  // The load generator's own CPU, read just before it exits (it shares the machine's cores).
  let loadGeneratorCpu = NaN;
  const watch = setInterval(() => {
    const cpu = cpuSeconds(child.pid);
    if (!Number.isNaN(cpu)) loadGeneratorCpu = cpu;
  }, 100);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearInterval(watch);
  if (code !== 0) throw new Error(`load generator failed (${code})`);
  return { ...(JSON.parse(output().trim()) as LevelResult), loadGeneratorCpu };
}

/** A TCP port nothing listens on now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** CPU seconds (user + system) a process has used so far; NaN where /proc is not available. */
function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** The process and its descendants (the workers of a clustered collector). */
function processTree(pid: number | undefined): number[] {
  if (pid === undefined) return [];
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [pid];
  }
  return [pid, ...children.flatMap((child) => processTree(child))];
}

/**
 * CPU seconds used so far by each process given, by pid: a process that appears between two
 * readings counts from zero, one that exited is lost (pool connections live longer than a level).
 */
function cpuByPid(pids: readonly number[]): Map<number, number> {
  return new Map(pids.map((pid) => [pid, cpuSeconds(pid)] as const).filter(([, cpu]) => !Number.isNaN(cpu)));
}

function cpuSince(before: Map<number, number>, now: Map<number, number>): number {
  let total = 0;
  for (const [pid, cpu] of now) total += cpu - (before.get(pid) ?? 0);
  return total;
}

/** The pids of the Postgres backends connected to `database` (Postgres on this machine). */
async function backendPids(admin: pg.Client, database: string): Promise<number[]> {
  const { rows } = await admin.query<{ pid: number }>(`select pid from pg_stat_activity where datname = $1`, [database]);
  return rows.map((row) => row.pid);
}

/**
 * Samples the states of the benchmark database's backends every 20 ms until stopped: the mean
 * number of backends `active` and `idle in transaction` (a transaction open, waiting for the
 * collector between its statements).
 */
function sampleBackendStates(admin: pg.Client, database: string): () => Promise<{ active: number; idleInTransaction: number }> {
  let samples = 0;
  let active = 0;
  let idleInTransaction = 0;
  let running = true;
  const done = (async () => {
    while (running) {
      const { rows } = await admin.query<{ state: string | null; n: number }>(
        `select state, count(*)::int as n from pg_stat_activity where datname = $1 and pid <> pg_backend_pid() group by state`,
        [database],
      );
      samples++;
      for (const row of rows) {
        if (row.state === 'active') active += row.n;
        if (row.state === 'idle in transaction') idleInTransaction += row.n;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  return async () => {
    running = false;
    await done;
    return { active: active / Math.max(1, samples), idleInTransaction: idleInTransaction / Math.max(1, samples) };
  };
}

const load = () => loadavg().map((n) => n.toFixed(2)).join(', ');

// ─── COPY of the same rows ───────────────────────────────────────────────────
const COPY_COLUMNS = [
  'message_id', 'source_id', 'type', 'event', 'name', 'anonymous_id', 'user_id', 'group_id', 'previous_id', 'timestamp',
  'original_timestamp', 'sent_at', 'received_at', 'properties', 'traits', 'context', 'url', 'path', 'referrer', 'utm_source',
  'utm_medium', 'utm_campaign', 'utm_term', 'utm_content', 'browser', 'browser_version', 'os', 'os_version', 'device_type', 'ip',
] as const;

function copyLine(row: EventRecord): string {
  return (
    COPY_COLUMNS.map((column) => {
      const value = row[column];
      if (value === null || value === undefined) return '\\N';
      const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
      return text.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
    }).join('\t') + '\n'
  );
}

async function copyRate(url: string, rows: number): Promise<number> {
  // The same table shape and indexes as `events`, in the same database (dropped afterwards).
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('drop table if exists events_copy');
    await client.query('create table events_copy (like events including all)');
    const request = { receivedAt: new Date(), ip: '203.0.113.9', userAgent: undefined };
    const lines: string[] = [];
    let browser = newBrowser('copy-0');
    for (let i = 0; i < rows; i++) {
      if (i % 160 === 0) browser = newBrowser(`copy-${i}`);
      lines.push(copyLine(enrichEvent(makeEvent(browser, `copy-${i}`, i), request, { sourceId: 'bench', skewThresholdMs: 60_000 })));
    }
    const columns = COPY_COLUMNS.map((c) => `"${c}"`).join(', ');
    const started = performance.now();
    await new Promise<void>((resolve, reject) => {
      const stream = client.query(copyFrom(`copy events_copy (${columns}) from stdin`));
      stream.on('finish', resolve).on('error', reject);
      let i = 0;
      const pump = () => {
        while (i < lines.length) {
          const chunk = lines.slice(i, i + 1000).join('');
          i += 1000;
          if (!stream.write(chunk)) return void stream.once('drain', pump);
        }
        stream.end();
      };
      pump();
    });
    const rate = rows / ((performance.now() - started) / 1000);
    await client.query('drop table events_copy');
    return rate;
  } finally {
    await client.end();
  }
}

// ─── main ───────────────────────────────────────────────────────────────────
/** The goal of the collector's throughput (issue 14): half the raw COPY rate, p99 under 100 ms. */
const GOAL = { shareOfCopy: 0.5, p99Ms: 100 };

async function main(): Promise<void> {
  const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const seconds = Number(process.env.BENCH_SECONDS ?? 12);
  const levels = (process.env.BENCH_LEVELS ?? '10,50,100').split(',').map(Number);
  const copyRows = Number(process.env.BENCH_COPY_ROWS ?? 200_000);
  const name = `tally_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const benchUrl = url.toString();
  let collector: ChildProcess | undefined;
  console.log(`load average before: ${load()}`);
  try {
    // A free port chosen here, so that the collector is found by polling it whatever its log
    // level (BENCH_LOG_LEVEL=warn leaves out the request log lines, and the listening line).
    const port = await freePort();
    const started = runChild(['src/server.ts'], {
      ...process.env,
      DATABASE_URL: benchUrl,
      PORT: String(port),
      ...(process.env.BENCH_LOG_LEVEL ? { TALLY_LOG_LEVEL: process.env.BENCH_LOG_LEVEL } : {}),
      HOST: '127.0.0.1',
      TALLY_SOURCES: JSON.stringify([{ id: 'bench', writeKey: WRITE_KEY }]),
      // One machine plays every browser: a per-address or per-key limit would measure the limiter.
      TALLY_RATE_LIMIT_IP_RPS: '0',
      TALLY_RATE_LIMIT_WRITE_KEY_RPS: '0',
      ...(process.env.BENCH_WORKERS ? { TALLY_WORKERS: process.env.BENCH_WORKERS } : {}),
    }, process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []);
    collector = started.child;
    const collectorUrl = `http://127.0.0.1:${port}`;
    await new Promise<void>((resolve, reject) => {
      started.child.on('exit', () => reject(new Error(`collector exited:\n${started.output()}`)));
      const poll = () =>
        fetch(`${collectorUrl}/healthz`).then(
          (res) => (res.ok ? resolve() : setTimeout(poll, 100)),
          () => setTimeout(poll, 100),
        );
      poll();
    });
    const disabled = (process.env.BENCH_DISABLE_TRIGGERS ?? '').split(',').filter((t) => t !== '');
    if (disabled.length > 0) {
      const db = new pg.Client({ connectionString: benchUrl });
      await db.connect();
      for (const trigger of disabled) await db.query(`alter table events disable trigger ${pg.escapeIdentifier(trigger)}`);
      await db.end();
    }
    const workers = /(\d+) workers/.exec(started.output())?.[1] ?? process.env.BENCH_WORKERS ?? 'the default number of';
    console.log(
      `collector on ${collectorUrl} (${workers} process(es) serving, log level ${process.env.BENCH_LOG_LEVEL ?? 'default'}), Postgres database ${name}; batches of ${BATCH} events, ${seconds} s per level`,
    );
    console.log(`triggers disabled on events: ${disabled.length > 0 ? disabled.join(', ') : 'none'}\n`);

    // The raw COPY rate, before and after the levels: the machine's load may change meanwhile.
    const copyBefore = await copyRate(benchUrl, copyRows);
    console.log(`raw COPY of ${copyRows.toLocaleString('en-US')} such rows into the same database: ${Math.round(copyBefore).toLocaleString('en-US')} rows/s\n`);

    const warmUp = await loadLevel(collectorUrl, 10, 2); // warm-up (JIT, connections, caches)
    const results: (LevelResult & { collectorUs: number; postgresUs: number; collectorCores: number })[] = [];
    const states: string[] = [];
    console.log('concurrency  requests   events/s   p50 ms   p99 ms   max ms  non-200  collector µs/event (cores)  Postgres µs/event (cores)  load generator µs/event');
    for (const concurrency of levels) {
      const collectorBefore = cpuByPid(processTree(collector.pid));
      const postgresBefore = cpuByPid(await backendPids(admin, name));
      const stopSampling = sampleBackendStates(admin, name);
      const r = await loadLevel(collectorUrl, concurrency, seconds);
      const backends = await stopSampling();
      states.push(
        `${String(concurrency).padStart(4)} senders: backends active ${backends.active.toFixed(2)}, idle in transaction ${backends.idleInTransaction.toFixed(2)} (mean of samples every 20 ms)`,
      );
      const collectorCpu = cpuSince(collectorBefore, cpuByPid(processTree(collector.pid)));
      const postgresCpu = cpuSince(postgresBefore, cpuByPid(await backendPids(admin, name)));
      const perEvent = (cpu: number) => (r.accepted > 0 ? (cpu / r.accepted) * 1e6 : NaN);
      const result = { ...r, collectorUs: perEvent(collectorCpu), postgresUs: perEvent(postgresCpu), collectorCores: collectorCpu / r.elapsed };
      results.push(result);
      const cpuText = (us: number, cores: number) => `${Number.isNaN(us) ? '–' : us.toFixed(0)} (${cores.toFixed(2)})`;
      console.log(
        `${String(concurrency).padStart(11)}  ${String(r.requests).padStart(8)}  ${Math.round(r.accepted / r.elapsed).toLocaleString('en-US').padStart(9)}  ${r.p50.toFixed(1).padStart(7)}  ${r.p99.toFixed(1).padStart(7)}  ${r.max.toFixed(1).padStart(7)}  ${String(r.failed).padStart(7)}  ${cpuText(result.collectorUs, collectorCpu / r.elapsed).padStart(26)}  ${cpuText(result.postgresUs, postgresCpu / r.elapsed).padStart(25)}  ${((r.loadGeneratorCpu / r.accepted) * 1e6).toFixed(0).padStart(23)}`,
      );
      if (r.failed > 0) {
        const counts = Object.entries(r.statuses).map(([status, n]) => `${n} × ${status}`).join(', ');
        console.error(`\n!!! ${r.failed} of ${r.requests} requests at concurrency ${concurrency} were NOT answered 200 (${counts}); first: ${r.sample}\n`);
      }
    }
    console.log(`\n${states.join('\n')}`);
    const totalFailed = results.reduce((n, r) => n + r.failed, 0) + warmUp.failed;
    if (totalFailed > 0) {
      console.error(`!!! ${totalFailed} requests failed: the figures above count only the events acknowledged with 200.`);
      process.exitCode = 1;
    }

    const metrics = await (await fetch(`${collectorUrl}/metrics`)).text();
    const metric = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1] ?? NaN);
    const flushes = metric('tally_write_duration_seconds_count');
    console.log(
      `\nwrite transactions (all processes): ${flushes.toLocaleString('en-US')}, ${(metric('tally_write_batch_size_sum') / flushes).toFixed(0)} rows and ${((metric('tally_write_duration_seconds_sum') / flushes) * 1000).toFixed(1)} ms each on average`,
    );

    collector.kill('SIGTERM');
    await new Promise((resolve) => collector!.on('exit', resolve));
    collector = undefined;

    // Every acknowledged event is stored, once: the warm-up's and the levels'.
    const acknowledged = results.reduce((n, r) => n + r.accepted, 0) + warmUp.accepted;
    const db = new pg.Client({ connectionString: benchUrl });
    await db.connect();
    const { rows } = await db.query<{ n: string }>(`select count(*) as n from events`).finally(() => db.end());
    const stored = Number(rows[0]!.n);
    if (stored === acknowledged) console.log(`rows in events: ${stored.toLocaleString('en-US')} = events acknowledged (warm-up included)`);
    else {
      console.error(`!!! rows in events: ${stored.toLocaleString('en-US')}, but ${acknowledged.toLocaleString('en-US')} events were acknowledged`);
      process.exitCode = 1;
    }

    const copyAfter = await copyRate(benchUrl, copyRows);
    const copy = (copyBefore + copyAfter) / 2;
    console.log(
      `raw COPY after the levels: ${Math.round(copyAfter).toLocaleString('en-US')} rows/s; the ratios below use the mean, ${Math.round(copy).toLocaleString('en-US')} rows/s\n`,
    );
    for (const r of results) {
      const rate = r.accepted / r.elapsed;
      const share = rate / copy;
      const met = share >= GOAL.shareOfCopy && r.p99 < GOAL.p99Ms;
      console.log(
        `${String(r.concurrency).padStart(4)} senders: ${Math.round(rate).toLocaleString('en-US').padStart(6)} events/s = ${(share * 100).toFixed(0).padStart(3)} % of COPY, p99 ${r.p99.toFixed(0).padStart(4)} ms: goal (≥ ${GOAL.shareOfCopy * 100} % of COPY, p99 < ${GOAL.p99Ms} ms) ${met ? 'MET' : 'not met'}`,
      );
    }
    console.log(`\nload average after: ${load()}`);
  } finally {
    collector?.kill('SIGKILL');
    await admin.query(`drop database if exists ${name} with (force)`).catch(() => {});
    await admin.end();
  }
}

if (process.argv[2] === '--load') {
  const [, , , url, concurrency, seconds, prefix] = process.argv;
  await runLoad(url!, Number(concurrency), Number(seconds), prefix!);
} else {
  await main();
}
