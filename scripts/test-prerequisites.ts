/**
 * The first step of `pnpm test` and `pnpm test:faults`: the real-browser suites drive Debian's Chromium, and the
 * README's reverse-proxy recipes are run by Debian's nginx and Caddy, each at a fixed path.
 * Where one is missing, this installs the Debian packages when it may (root, with apt-get),
 * saying so; otherwise it stops before anything runs, printing the one command that installs
 * them. Nothing is skipped: a suite that cannot run would pass by running nothing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A program the test suites run, and the Debian package that installs it there. */
export interface Prerequisite {
  path: string;
  debianPackage: string;
  neededBy: string;
}

export const PREREQUISITES: readonly Prerequisite[] = [
  { path: '/usr/bin/chromium', debianPackage: 'chromium', neededBy: 'the real-browser suites' },
  { path: '/usr/sbin/nginx', debianPackage: 'nginx-light', neededBy: "the README's nginx recipe" },
  { path: '/usr/bin/caddy', debianPackage: 'caddy', neededBy: "the README's Caddy recipe" },
];

const APT_GET = '/usr/bin/apt-get';

/** What the preflight needs to know about the machine it runs on. */
export interface Machine {
  isRoot: boolean;
  exists(path: string): boolean;
}

/** What to do: nothing, install these packages, or stop and tell the user the command to run. */
export type PrerequisitePlan =
  | { action: 'ready' }
  | { action: 'install'; packages: string[]; missing: Prerequisite[] }
  | { action: 'stop'; packages: string[]; missing: Prerequisite[]; command: string; reason: string };

/**
 * Decides from the facts about the machine alone, so every case is tested without changing
 * the machine.
 *
 * @example
 * planPrerequisites({ isRoot: false, exists: () => false });
 * // { action: 'stop', command: 'sudo apt-get install -y chromium nginx-light caddy', … }
 */
export function planPrerequisites(machine: Machine): PrerequisitePlan {
  const missing = PREREQUISITES.filter((program) => !machine.exists(program.path));
  if (missing.length === 0) return { action: 'ready' };
  const packages = missing.map((program) => program.debianPackage);
  const command = `sudo apt-get install -y ${packages.join(' ')}`;
  if (!machine.exists(APT_GET)) {
    return { action: 'stop', packages, missing, command, reason: 'there is no apt-get here to install them with; these are the Debian (or Ubuntu) packages that put them at those paths' };
  }
  if (!machine.isRoot) return { action: 'stop', packages, missing, command, reason: 'installing them needs root' };
  return { action: 'install', packages, missing };
}

/** Runs a command, answering whether it succeeded and what it printed. */
export type CommandRunner = (command: string, args: string[]) => { ok: boolean; output: string };

/**
 * Carries out the plan: prints what it does, installs with apt-get (after `apt-get update`
 * when the package lists are stale) and checks that the programs are there afterwards.
 * Answers the exit code: 0 when the tests may run.
 *
 * @example
 * process.exitCode = ensurePrerequisites(thisMachine(), runCommand, console);
 */
export function ensurePrerequisites(machine: Machine, run: CommandRunner, log: { log(text: string): void; error(text: string): void }): number {
  const plan = planPrerequisites(machine);
  if (plan.action === 'ready') return 0;
  const list = plan.missing.map((program) => `  ${program.path} (Debian package ${program.debianPackage}, for ${program.neededBy})`).join('\n');
  if (plan.action === 'stop') {
    log.error(`test: these programs are missing:\n${list}\nand ${plan.reason}. Install them with\n\n  ${plan.command}\n\nthen run the tests again. Nothing was run.`);
    return 1;
  }
  log.log(`test: installing ${plan.packages.join(' ')} from Debian (apt-get), which the tests need:\n${list}`);
  const install = ['install', '-y', '-q', ...plan.packages];
  let outcome = run(APT_GET, install);
  if (!outcome.ok) {
    log.log('test: apt-get update first, then installing again');
    const update = run(APT_GET, ['update', '-q']);
    outcome = update.ok ? run(APT_GET, install) : update;
  }
  const stillMissing = PREREQUISITES.filter((program) => !machine.exists(program.path));
  if (!outcome.ok || stillMissing.length > 0) {
    log.error(`test: installing ${plan.packages.join(' ')} failed; apt-get said:\n${outcome.output.trim()}\nNothing was run.`);
    return 1;
  }
  log.log(`test: installed ${plan.packages.join(' ')}`);
  return 0;
}

/** This machine, as it is. */
export function thisMachine(): Machine {
  return { isRoot: process.getuid?.() === 0, exists: existsSync };
}

/** Runs a command for real, non-interactively, keeping its output for when it fails. */
export const runCommand: CommandRunner = (command, args) => {
  const result = spawnSync(command, args, { encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  return { ok: result.status === 0, output: `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}` };
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.exitCode = ensurePrerequisites(thisMachine(), runCommand, console);
}
