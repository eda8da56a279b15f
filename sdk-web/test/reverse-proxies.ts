/**
 * The README's nginx and Caddy recipes, run by Debian's nginx and Caddy. Each recipe is read from
 * README.md as written and changed in these places only, each of which must appear exactly once
 * (or the test fails naming it, so an edit of the README is an edit of the test):
 * - both: the collector's address `127.0.0.1:3000` becomes the test collector's;
 * - Caddy: the site's address `shop.example` becomes `http://127.0.0.1:<port>` (plain HTTP on a
 *   free port, no certificate), and the line `# … the rest of the site` becomes a file server of
 *   the test's pages;
 * - nginx: the `location` block is put, unchanged otherwise, in a `server` that listens on a
 *   free port and serves the test's pages.
 * Each server is a process of the test's own, with its config in a temporary folder, not a
 * system service; `close()` stops it and removes the folder.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const README = new URL('../README.md', import.meta.url);
const NGINX = '/usr/sbin/nginx';
const CADDY = '/usr/bin/caddy';

/** The fenced block that follows the README's `**<heading>**` line. */
export function readmeRecipe(heading: string): string {
  const text = readFileSync(README, 'utf8');
  const at = text.indexOf(`\n**${heading}**\n`);
  const block = at < 0 ? null : /\n```[a-z]*\n([\s\S]*?)\n```\n/.exec(text.slice(at));
  if (!block) throw new Error(`sdk-web/README.md has no **${heading}** recipe followed by a code block`);
  return block[1]!;
}

/** `recipe` with each `[from, to]` replaced; each `from` must appear exactly once. */
function substitute(name: string, recipe: string, replacements: [from: string, to: string][]): string {
  let out = recipe;
  for (const [from, to] of replacements) {
    const count = out.split(from).length - 1;
    if (count != 1) throw new Error(`the README's ${name} recipe should contain \`${from}\` once, found ${count} times:\n${recipe}`);
    out = out.replace(from, () => to);
  }
  return out;
}

function requireBinary(path: string, aptPackage: string) {
  if (!existsSync(path)) throw new Error(`${path} is missing: install it from Debian with \`apt-get install -y ${aptPackage}\``);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** A folder for one server: `site/index.html` is `page`; readable by nginx's workers, which run as `nobody` under root. */
function serverFolder(name: string, page: string) {
  const dir = mkdtempSync(join(tmpdir(), `tally-${name}-`));
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'site'), { mode: 0o755 });
  writeFileSync(join(dir, 'site', 'index.html'), page, { mode: 0o644 });
  return dir;
}

/** Runs `command` until `close()`; resolves once `url` answers, fails with the server's output if it exits first. */
async function run(name: string, dir: string, command: string, args: string[], url: string, env: NodeJS.ProcessEnv = {}) {
  const child = spawn(command, args, { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const close = async () => {
    if (child.exitCode == null && child.signalCode == null) {
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  for (let tries = 0; ; tries++) {
    if (child.exitCode != null || tries == 100) {
      await close();
      throw new Error(`${name} did not start (${child.exitCode == null ? 'no answer at ' + url : 'exit code ' + child.exitCode}):\n${output}`);
    }
    const answered = await fetch(url).then(() => true, () => false);
    if (answered) return { url, close };
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** nginx serving `page` at `/` and the README's `location /t/` passing to the collector on `upstreamPort`. */
export async function startNginx(page: string, upstreamPort: number) {
  requireBinary(NGINX, 'nginx-light');
  const recipe = substitute('nginx', readmeRecipe('nginx'), [['127.0.0.1:3000', `127.0.0.1:${upstreamPort}`]]);
  const dir = serverFolder('nginx', page);
  const port = await freePort();
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `    ${t}_temp_path ${join(dir, t)};`).join('\n');
  writeFileSync(
    join(dir, 'nginx.conf'),
    `worker_processes 1;
events { worker_connections 64; }
http {
    access_log off;
${temp}
    types { text/html html; }
    server {
        listen 127.0.0.1:${port};
        root ${join(dir, 'site')};

${recipe}
    }
}
`,
  );
  const directives = `daemon off; pid ${join(dir, 'nginx.pid')}; error_log stderr;`;
  return run('nginx', dir, NGINX, ['-p', `${dir}/`, '-c', join(dir, 'nginx.conf'), '-e', 'stderr', '-g', directives], `http://127.0.0.1:${port}/`);
}

/** Caddy running the README's site block: `page` at `/` and `/t/*` passed to the collector on `upstreamPort`. */
export async function startCaddy(page: string, upstreamPort: number) {
  requireBinary(CADDY, 'caddy');
  const dir = serverFolder('caddy', page);
  const port = await freePort();
  const site = substitute('Caddy', readmeRecipe('Caddy'), [
    ['shop.example', `http://127.0.0.1:${port}`],
    ['127.0.0.1:3000', `127.0.0.1:${upstreamPort}`],
    ['# … the rest of the site', `root * ${join(dir, 'site')}\n    file_server`],
  ]);
  // No admin endpoint (its fixed port would clash between runs), and Caddy's own files in the folder.
  writeFileSync(join(dir, 'Caddyfile'), `{\n    admin off\n}\n\n${site}\n`);
  const env = { HOME: dir, XDG_CONFIG_HOME: join(dir, 'config'), XDG_DATA_HOME: join(dir, 'data') };
  return run('Caddy', dir, CADDY, ['run', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], `http://127.0.0.1:${port}/`, env);
}
