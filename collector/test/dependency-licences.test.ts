import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

/**
 * Licences a package the collector runs with may carry: Tally is MIT and a network service,
 * so nothing copyleft (GPL, AGPL, LGPL, SSPL, …) may reach it at run time.
 */
const COMPATIBLE = new Set(['MIT', 'ISC', 'BSD-2-Clause', 'BSD-3-Clause', 'Apache-2.0', '0BSD', 'BlueOak-1.0.0', 'CC0-1.0', 'Unlicense']);

interface Found {
  name: string;
  version: string;
  licence: string;
}

/** Every package reachable through `dependencies` and `optionalDependencies` from `root`, resolved as Node resolves them. */
function productionDependencies(root: string): Found[] {
  const seen = new Map<string, Found>();
  const visit = (dir: string) => {
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
    const deps = { ...(manifest.dependencies as object), ...(manifest.optionalDependencies as object) };
    for (const name of Object.keys(deps)) {
      const found = locate(dir, name);
      if (!found || seen.has(found)) continue; // an optional dependency for another platform is not installed
      const pkg = JSON.parse(readFileSync(join(found, 'package.json'), 'utf8')) as Record<string, unknown>;
      seen.set(found, { name, version: String(pkg.version), licence: licenceOf(pkg) });
      visit(found);
    }
  };
  visit(root);
  return [...seen.values()];
}

function locate(from: string, name: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return realpathSync(candidate);
    if (dirname(dir) === dir) return undefined;
  }
}

function licenceOf(pkg: Record<string, unknown>): string {
  const licence = pkg.license;
  if (typeof licence === 'string') return licence;
  if (licence && typeof licence === 'object' && 'type' in licence) return String(licence.type);
  if (Array.isArray(pkg.licenses)) return pkg.licenses.map((l: { type?: string }) => l.type).join(' OR ');
  return 'UNKNOWN';
}

/** An SPDX expression is compatible when every `AND` part has at least one compatible `OR` choice. */
function compatibleLicence(expression: string): boolean {
  const bare = expression.replace(/[()]/g, ' ');
  return bare.split(/\s+AND\s+/).every((part) => part.split(/\s+OR\s+/).some((choice) => COMPATIBLE.has(choice.trim())));
}

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('licences of production dependencies', () => {
  test('reads SPDX expressions', () => {
    expect(compatibleLicence('MIT')).toBe(true);
    expect(compatibleLicence('(MIT OR GPL-3.0-or-later)')).toBe(true);
    expect(compatibleLicence('MIT AND AGPL-3.0-or-later')).toBe(false);
    expect(compatibleLicence('AGPL-3.0-or-later')).toBe(false);
    expect(compatibleLicence('UNKNOWN')).toBe(false);
  });

  for (const pkg of ['collector', 'schemas', 'sdk-web']) {
    test(`@tally/${pkg} runs only with MIT-compatible licences`, () => {
      const found = productionDependencies(join(repo, pkg));
      const refused = found.filter((dep) => !compatibleLicence(dep.licence)).map((dep) => `${dep.name}@${dep.version}: ${dep.licence}`);
      expect(refused).toEqual([]);
      if (pkg === 'collector') expect(found.map((dep) => dep.name)).toContain('ua-parser-js');
    });
  }
});
