import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const collectorDir = fileURLToPath(new URL('../../../', import.meta.url));

/** The write key and source every fault scenario sends with. */
export const FAULT_SOURCE = {
  id: 'faults',
  writeKey: 'faults-write-key-0001',
  allowedOrigins: ['*'],
  consentMode: 'opt-out',
  kind: 'client',
} as const;

export interface CollectorProcess {
  readonly pid: number;
  readonly port: number;
  readonly url: string;
  readonly child: ChildProcess;
  /** Resolves when the process has exited, with its code or the signal that ended it. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resident set size in KiB, from /proc/<pid>/status (VmRSS). */
  rssKiB(): number;
  /** What the process wrote to stdout and stderr so far. */
  output(): string;
  kill(signal: NodeJS.Signals): void;
}

export interface StartOptions {
  databaseUrl: string;
  /** Port to listen on; a free one when absent (pass the old one to restart in place). */
  port?: number;
  env?: Record<string, string>;
}

/**
 * Runs the real `tally-collector` (src/server.ts through tsx) as a child process and waits
 * until it accepts connections. Rate limits are off unless `env` sets them, so that load
 * from one address is not mistaken for abuse.
 *
 * @example
 * const collector = await startCollector({ databaseUrl });
 * collector.kill('SIGKILL');
 */
export async function startCollector(options: StartOptions): Promise<CollectorProcess> {
  const port = options.port ?? (await freePort());
  let output = '';
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'src/server.ts'], {
    cwd: collectorDir,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      NODE_ENV: 'production',
      DATABASE_URL: options.databaseUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
      TALLY_SOURCES: JSON.stringify([FAULT_SOURCE]),
      TALLY_RATE_LIMIT_WRITE_KEY_RPS: '0',
      TALLY_RATE_LIMIT_IP_RPS: '0',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
  child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const pid = child.pid;
  if (pid === undefined) throw new Error('the collector process did not start');

  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + 60_000;
  while (!(await accepts(port))) {
    if (gone) throw new Error(`the collector exited before listening:\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the collector did not listen on ${port} within 60 s:\n${output}`);
    }
    await sleep(50);
  }

  return {
    pid,
    port,
    url: `http://127.0.0.1:${port}`,
    child,
    exited,
    rssKiB: () => readRssKiB(pid),
    output: () => output,
    kill: (signal) => {
      child.kill(signal);
    },
  };
}

export function readRssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return match?.[1] ? Number(match[1]) : 0;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no free port');
  return address.port;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
