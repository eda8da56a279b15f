/**
 * Derives one SQL statement from another by replacing fragments, each of which must occur in
 * it exactly once: a migration that changes part of an earlier migration's function builds
 * its own from that one's text instead of copying the whole, and refuses to run (naming the
 * fragment) if the earlier text no longer holds what it replaces.
 */
export function replaceFragments(statement: string, replacements: readonly (readonly [from: string, to: string])[], by: string): string {
  let result = statement;
  for (const [from, to] of replacements) {
    const at = result.indexOf(from);
    if (at < 0 || result.indexOf(from, at + 1) >= 0) {
      const firstLine = from.trim().split('\n')[0];
      throw new Error(`${by}: the statement it derives from holds ${at < 0 ? 'no' : 'more than one'} fragment beginning "${firstLine}"`);
    }
    result = result.slice(0, at) + to + result.slice(at + from.length);
  }
  return result;
}
