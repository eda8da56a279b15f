// In the JSON text of a value, an escape of NUL (\u0000) or of a UTF-16 surrogate (which
// JSON.stringify only writes for a lone one) preceded by an odd number of backslashes.
const REFUSED_ESCAPE = /(?:^|[^\\])(?:\\\\)*\\u(0000|d[89a-f][0-9a-f]{2})/i;

/**
 * Names what Postgres would refuse to store in a value, or `undefined` when it can be stored:
 * jsonb refuses the NUL character and lone UTF-16 surrogates, and text columns refuse NUL.
 * Checked before writing so that one such event is refused on its own instead of aborting
 * the shared transaction that holds other requests' events.
 *
 * @example
 * findUnstorable({ name: 'a\u0000b' }, 'batch[2]'); // 'batch[2]: holds the NUL character …'
 */
export function findUnstorable(value: unknown, path = ''): string | undefined {
  const json = JSON.stringify(value);
  if (json === undefined) return undefined;
  const match = REFUSED_ESCAPE.exec(json);
  if (!match) return undefined;
  const what =
    match[1] === '0000'
      ? 'holds the NUL character (\\u0000), which Postgres cannot store'
      : `holds a lone UTF-16 surrogate (\\u${match[1]!.toLowerCase()}), which is not valid Unicode and Postgres cannot store`;
  return path ? `${path}: ${what}` : what;
}

/**
 * Whether the JSON text of a value holds anything `findUnstorable` refuses, in one regex
 * pass over text already encoded (`encodeJson`): when it does not, no value derived from
 * that one by validation can, and the check of the validated event is skipped.
 *
 * @example
 * mayBeUnstorable(JSON.stringify({ name: 'a\u0000b' })); // true
 */
export function mayBeUnstorable(json: string): boolean {
  return REFUSED_ESCAPE.test(json);
}

/**
 * Makes a string safe for a Postgres text column: NUL and lone surrogates become U+FFFD.
 *
 * @example
 * storableText('a\u0000b'); // 'a\uFFFDb'
 */
export function storableText(text: string): string {
  return text.replace(/\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}
