import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { ensurePrerequisites, planPrerequisites, PREREQUISITES, type CommandRunner, type Machine } from './test-prerequisites.js';

const ALL = PREREQUISITES.map((program) => program.path);

/** A machine holding `files`; `apt` says what apt-get does when it is run. */
function machine(o: { root: boolean; files: string[]; apt?: (args: string[]) => { ok: boolean; installs?: string[] } }) {
  const files = new Set(o.files);
  const ran: string[] = [];
  const lines: string[] = [];
  const here: Machine = { isRoot: o.root, exists: (path) => files.has(path) };
  const run: CommandRunner = (command, args) => {
    ran.push([command, ...args].join(' '));
    const answer = o.apt?.(args) ?? { ok: false };
    for (const path of answer.installs ?? []) files.add(path);
    return { ok: answer.ok, output: answer.ok ? '' : 'E: Unable to locate package chromium' };
  };
  const log = { log: (text: string) => lines.push(text), error: (text: string) => lines.push(text) };
  return { here, run, log, ran, output: () => lines.join('\n') };
}

describe('the preflight of pnpm test', () => {
  test('with Chromium, nginx and Caddy in place it does nothing and says nothing', () => {
    const m = machine({ root: false, files: [...ALL, '/usr/bin/apt-get'] });
    expect(planPrerequisites(m.here)).toEqual({ action: 'ready' });
    expect(ensurePrerequisites(m.here, m.run, m.log)).toBe(0);
    expect(m.ran).toEqual([]);
    expect(m.output()).toBe('');
  });

  test('as root with apt-get it installs only the missing Debian packages, saying so', () => {
    const m = machine({ root: true, files: ['/usr/bin/apt-get', '/usr/bin/caddy'], apt: () => ({ ok: true, installs: ALL }) });
    expect(ensurePrerequisites(m.here, m.run, m.log)).toBe(0);
    expect(m.ran).toEqual(['/usr/bin/apt-get install -y -q chromium nginx-light']);
    expect(m.output()).toContain('test: installing chromium nginx-light from Debian (apt-get)');
    expect(m.output()).toContain('/usr/bin/chromium (Debian package chromium, for the real-browser suites)');
  });

  test('when the package lists are stale it runs apt-get update and installs again', () => {
    const m = machine({
      root: true,
      files: ['/usr/bin/apt-get'],
      apt: (args) => (args[0] === 'update' ? { ok: true } : m.ran.length > 1 ? { ok: true, installs: ALL } : { ok: false }),
    });
    expect(ensurePrerequisites(m.here, m.run, m.log)).toBe(0);
    expect(m.ran).toEqual(['/usr/bin/apt-get install -y -q chromium nginx-light caddy', '/usr/bin/apt-get update -q', '/usr/bin/apt-get install -y -q chromium nginx-light caddy']);
  });

  test('when installing fails it stops with what apt-get said', () => {
    const m = machine({ root: true, files: ['/usr/bin/apt-get'], apt: (args) => ({ ok: args[0] === 'update' }) });
    expect(ensurePrerequisites(m.here, m.run, m.log)).toBe(1);
    expect(m.output()).toContain('E: Unable to locate package chromium');
    expect(m.output()).toContain('Nothing was run.');
  });

  test('when apt-get succeeds but a program is still not at its path it stops', () => {
    const m = machine({ root: true, files: ['/usr/bin/apt-get'], apt: () => ({ ok: true, installs: ['/usr/bin/chromium'] }) });
    expect(ensurePrerequisites(m.here, m.run, m.log)).toBe(1);
  });

  test('a user who is not root is told the one command to run, and nothing runs', () => {
    const m = machine({ root: false, files: ['/usr/bin/apt-get', '/usr/sbin/nginx'] });
    expect(planPrerequisites(m.here)).toMatchObject({ action: 'stop', command: 'sudo apt-get install -y chromium caddy' });
    expect(ensurePrerequisites(m.here, m.run, m.log)).toBe(1);
    expect(m.ran).toEqual([]);
    expect(m.output()).toContain('\n  sudo apt-get install -y chromium caddy\n');
    expect(m.output()).toContain('installing them needs root');
  });

  test('without apt-get, even as root, it stops with the Debian command rather than guessing another', () => {
    const m = machine({ root: true, files: [] });
    expect(ensurePrerequisites(m.here, m.run, m.log)).toBe(1);
    expect(m.ran).toEqual([]);
    expect(m.output()).toContain('sudo apt-get install -y chromium nginx-light caddy');
    expect(m.output()).toContain('there is no apt-get here');
  });

  test('run as pnpm test runs it, first, on this machine (where everything is installed) it lets the tests run', () => {
    const root = fileURLToPath(new URL('..', import.meta.url));
    const scripts = (JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { scripts: Record<string, string> }).scripts;
    const first = scripts.test!.split(' && ')[0]!;
    expect(first).toBe('node --import tsx scripts/test-prerequisites.ts');
    const result = spawnSync('sh', ['-c', first], { cwd: root, encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('');
    expect(result.status).toBe(0);
  });
});
