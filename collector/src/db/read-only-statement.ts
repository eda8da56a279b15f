/**
 * What a place that runs SQL typed by a person (the SQL endpoint of `pnpm start`, the
 * dashboard's SQL editor) agrees to run: one read-only statement that reaches neither the
 * server's files nor its programs.
 *
 * Why a statement check and not only a restricted role: the embedded engine has one session,
 * and it is a superuser's. `SET ROLE` and `set_config('role', …)` are checked against that
 * session's user, so a statement could always take the superuser back (Postgres documents
 * `SET ROLE` as no security boundary for a superuser session). So the endpoint runs each
 * statement inside `BEGIN READ ONLY … ROLLBACK` (no write, no lasting setting) and refuses,
 * before it runs, what a read-only transaction still allows: `COPY … TO PROGRAM`/`TO FILE`,
 * anonymous code blocks, the server-file and large-object functions, functions that run SQL
 * given as text, settings and session-level advisory locks.
 */

/** The first word a statement may start with. */
const STATEMENTS = new Set(['select', 'with', 'values', 'table', 'explain', 'show']);

/** Words that never belong in a read-only query and can reach past the transaction or the database. */
const WORDS = new Set(['copy', 'do', 'call', 'load', 'execute', 'prepare', 'declare', 'set', 'reset', 'listen', 'notify', 'lock', 'vacuum', 'checkpoint']);

/** Functions that read or write server files, run SQL text, change settings or hold session state. */
const FUNCTIONS = [
  /^pg_read_/, /^pg_ls_/, /^pg_stat_file$/, /^pg_file/, /^lo_/, /^dblink/, /^query_to_xml/, /^cursor_to_xml/, /^ts_stat$/,
  /^set_config$/, /^pg_reload_conf$/, /^pg_rotate_logfile$/, /^pg_promote$/, /^pg_terminate_backend$/, /^pg_cancel_backend$/,
  /^pg_switch_wal$/, /^pg_create_/, /^pg_drop_/, /^pg_replication_/, /^pg_logical_/, /^pg_import_/,
  /^pg_(try_)?advisory_lock/, /^pg_advisory_unlock/,
];

export type StatementCheck = { ok: true } | { ok: false; reason: string };

/** Where the statement is run, for the refusals' wording. */
export interface StatementPlace {
  /** E.g. "the SQL endpoint of `pnpm start`". */
  name: string;
  /** What to do instead of a write, e.g. "stop `pnpm start` to change data with `pnpm sql`". */
  writeHint: string;
}

const SQL_ENDPOINT: StatementPlace = { name: 'the SQL endpoint of `pnpm start`', writeHint: 'stop `pnpm start` to change data with `pnpm sql`' };

/**
 * Checks that `text` is one statement the endpoint may run (see the module's comment).
 *
 * @example
 * checkStatement('select count(*) from events');           // { ok: true }
 * checkStatement("copy (select 1) to program 'id'");       // { ok: false, reason: '…' }
 */
export function checkStatement(text: string, place: StatementPlace = SQL_ENDPOINT): StatementCheck {
  let words: string[][];
  try {
    words = statements(text);
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
  if (words.length === 0) return { ok: false, reason: 'no statement' };
  if (words.length > 1) return { ok: false, reason: 'one statement per request: the text holds more than one' };
  const [first] = words[0]!;
  if (first === undefined || !STATEMENTS.has(first)) {
    return {
      ok: false,
      reason: `${place.name} runs read-only queries (${[...STATEMENTS].join(', ').toUpperCase()}); ${place.writeHint}`,
    };
  }
  for (const word of words[0]!) {
    if (WORDS.has(word)) return { ok: false, reason: `"${word.toUpperCase()}" is not allowed through ${place.name}` };
    if (FUNCTIONS.some((pattern) => pattern.test(word))) return { ok: false, reason: `${word}() is not allowed through ${place.name}` };
  }
  return { ok: true };
}

/**
 * The words (keywords and identifiers, lower-cased; quoted identifiers too) of each statement,
 * skipping string literals, comments and dollar-quoted bodies. Throws on text it cannot read safely.
 */
function statements(text: string): string[][] {
  const result: string[][] = [];
  let current: string[] = [];
  let hasContent = false;
  let i = 0;
  const n = text.length;
  const word = /[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*/y;
  while (i < n) {
    const c = text[i]!;
    const next = text[i + 1];
    if (/\s/.test(c)) {
      i += 1;
    } else if (c === '-' && next === '-') {
      const end = text.indexOf('\n', i);
      i = end === -1 ? n : end + 1;
    } else if (c === '/' && next === '*') {
      // Block comments nest in Postgres.
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (text[i] === '/' && text[i + 1] === '*') (depth += 1), (i += 2);
        else if (text[i] === '*' && text[i + 1] === '/') (depth -= 1), (i += 2);
        else i += 1;
      }
      if (depth > 0) throw new Error('an unterminated /* comment');
    } else if (c === ';') {
      if (hasContent) result.push(current);
      current = [];
      hasContent = false;
      i += 1;
    } else if (c === "'") {
      i = skipString(text, i, false);
      hasContent = true;
    } else if ((c === 'e' || c === 'E') && next === "'") {
      i = skipString(text, i + 1, true);
      hasContent = true;
    } else if ((c === 'u' || c === 'U') && next === '&') {
      throw new Error('Unicode-escaped (U&) strings and identifiers are not accepted');
    } else if (c === '"') {
      const end = text.indexOf('"', i + 1);
      if (end === -1) throw new Error('an unterminated quoted identifier');
      // "" inside a quoted identifier is a quote; the parts either side still spell the name.
      let j = end;
      while (text[j + 1] === '"') {
        const more = text.indexOf('"', j + 2);
        if (more === -1) throw new Error('an unterminated quoted identifier');
        j = more;
      }
      current.push(text.slice(i + 1, j).replace(/""/g, '"').toLowerCase());
      hasContent = true;
      i = j + 1;
    } else if (c === '$' && !/[0-9]/.test(next ?? '')) {
      const tag = /\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/y;
      tag.lastIndex = i;
      const open = tag.exec(text);
      if (!open) throw new Error('a stray "$"');
      const end = text.indexOf(open[0], i + open[0].length);
      if (end === -1) throw new Error('an unterminated dollar-quoted string');
      i = end + open[0].length;
      hasContent = true;
    } else {
      word.lastIndex = i;
      const match = word.exec(text);
      if (match) {
        current.push(match[0].toLowerCase());
        i += match[0].length;
      } else {
        i += 1;
      }
      hasContent = true;
    }
  }
  if (hasContent) result.push(current);
  return result;
}

function skipString(text: string, start: number, backslashEscapes: boolean): number {
  let i = start + 1;
  while (i < text.length) {
    const c = text[i];
    if (backslashEscapes && c === '\\') i += 2;
    else if (c === "'" && text[i + 1] === "'") i += 2;
    else if (c === "'") return i + 1;
    else i += 1;
  }
  throw new Error('an unterminated string literal');
}
