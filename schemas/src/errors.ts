import * as z from 'zod';
import { formatCount } from './limits.js';

/** How many characters of a received value an error message shows. */
const SHOWN_CHARS = 40;

/**
 * Turns a zod error into messages a person can act on: where (`batch[3].properties.price`)
 * and why (`expected a number, got "12,99"`), one line per problem, with the received
 * value shortened when long.
 *
 * The received value is taken from the issue when the schema ran with
 * `{ reportInput: true }`, otherwise from `input` (the value that was parsed) when given.
 *
 * @example
 * const result = TrackEvent.safeParse(body, { reportInput: true });
 * if (!result.success) formatIssues(result.error, 'batch[3]');
 * // ['batch[3].properties.price: expected a number, got "12,99"']
 */
export function formatIssues(error: z.ZodError, prefix = '', input?: unknown): string[] {
  return error.issues.map((issue) => {
    const where = formatPath(prefix, issue.path);
    const why = describeIssue(issue, input);
    return where === '' ? why : `${where}: ${why}`;
  });
}

/**
 * Writes a path the way a JavaScript reader would: `batch[3].context.page.url`,
 * with keys that are not identifiers quoted (`properties["Order Total"]`).
 *
 * @example
 * formatPath('batch[3]', ['properties', 'products', 0, 'price']);
 * // 'batch[3].properties.products[0].price'
 */
export function formatPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'symbol') out += `[${String(key)}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(key)}]`;
  }
  return out;
}

/**
 * Shows a received value in an error message: strings quoted, long values cut
 * to 40 characters with `…`, never throwing whatever the value is.
 *
 * @example
 * describeValue('12,99'); // '"12,99"'
 * describeValue({ a: 1 }); // '{"a":1}'
 */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case 'string': {
      if (value.length <= SHOWN_CHARS) return JSON.stringify(value);
      let cut = SHOWN_CHARS - 1;
      const last = value.charCodeAt(cut - 1);
      if (last >= 0xd800 && last <= 0xdbff) cut--;
      return `${JSON.stringify(value.slice(0, cut) + '…')} (${formatCount(value.length)} characters)`;
    }
    case 'number':
    case 'boolean':
      return String(value);
    case 'bigint':
      return `${value}n`;
    case 'undefined':
      return 'nothing';
    case 'function':
      return 'a function';
    case 'symbol':
      return 'a symbol';
    default: {
      if (value === null) return 'null';
      let json: string | undefined;
      try {
        json = JSON.stringify(value) as string | undefined;
      } catch {
        json = undefined;
      }
      if (json === undefined) return Array.isArray(value) ? 'an array' : 'an object';
      return json.length <= SHOWN_CHARS ? json : `${json.slice(0, SHOWN_CHARS - 1)}…`;
    }
  }
}

const EXPECTED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
  record: 'an object',
  null: 'null',
  bigint: 'an integer',
  date: 'a date',
};

type Received = { state: 'value'; value: unknown } | { state: 'missing' } | { state: 'unknown' };

function received(issue: z.core.$ZodIssue, root: unknown): Received {
  if ('input' in issue && issue.input !== undefined) return { state: 'value', value: issue.input };
  if (root !== undefined) return lookup(root, issue.path);
  // Without the input at hand, zod's own wording is the only trace of a missing key.
  if (issue.code === 'invalid_type' && /received undefined$/.test(issue.message)) return { state: 'missing' };
  return { state: 'unknown' };
}

function lookup(root: unknown, path: readonly PropertyKey[]): Received {
  let current: unknown = root;
  for (const key of path) {
    if (current === null || typeof current !== 'object' || typeof key === 'symbol') return { state: 'missing' };
    if (!Object.prototype.hasOwnProperty.call(current, key)) return { state: 'missing' };
    current = (current as Record<string | number, unknown>)[key];
  }
  return current === undefined ? { state: 'missing' } : { state: 'value', value: current };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function got(issue: z.core.$ZodIssue, root: unknown): string {
  const r = received(issue, root);
  return r.state === 'value' ? `, got ${describeValue(r.value)}` : '';
}

function quoteAll(values: readonly unknown[]): string {
  return values.map((v) => (typeof v === 'string' ? JSON.stringify(v) : String(v))).join(', ');
}

function plural(n: number, word: string): string {
  return `${formatCount(n)} ${word}${n === 1 ? '' : 's'}`;
}

function sizeOf(issue: z.core.$ZodIssue, root: unknown): number | undefined {
  const r = received(issue, root);
  if (r.state !== 'value') return undefined;
  if (typeof r.value === 'string' || Array.isArray(r.value)) return r.value.length;
  return undefined;
}

function isRootTypeMismatch(issues: readonly z.core.$ZodIssue[]): boolean {
  const [only] = issues;
  return issues.length === 1 && only?.code === 'invalid_type' && only.path.length === 0;
}

/** The expected types of a union whose every branch failed on the value's type alone. */
function rootTypeMismatches(branches: readonly z.core.$ZodIssue[][]): string[] | undefined {
  if (branches.length === 0 || !branches.every(isRootTypeMismatch)) return undefined;
  return branches.map((issues) => (issues[0] as z.core.$ZodIssueInvalidType).expected);
}

function describeIssue(issue: z.core.$ZodIssue, root: unknown): string {
  switch (issue.code) {
    case 'invalid_type': {
      const expected = EXPECTED[issue.expected] ?? `a ${issue.expected}`;
      const r = received(issue, root);
      if (r.state === 'missing') return `required, expected ${expected}`;
      return r.state === 'value' ? `expected ${expected}, got ${describeValue(r.value)}` : `expected ${expected}`;
    }
    case 'too_small':
    case 'too_big': {
      const small = issue.code === 'too_small';
      const limit = small ? issue.minimum : issue.maximum;
      const n = Number(limit);
      if (issue.origin === 'string') {
        if (small && n === 1) return 'must not be empty';
        const size = sizeOf(issue, root);
        return `must be at ${small ? 'least' : 'most'} ${plural(n, 'character')}${size === undefined ? '' : `, got ${formatCount(size)}`}`;
      }
      if (issue.origin === 'array' || issue.origin === 'set') {
        const size = sizeOf(issue, root);
        return `expected at ${small ? 'least' : 'most'} ${plural(n, 'item')}${size === undefined ? '' : `, got ${formatCount(size)}`}`;
      }
      const inclusive = issue.inclusive !== false;
      const bound = small
        ? inclusive ? `must be at least ${String(limit)}` : `must be greater than ${String(limit)}`
        : inclusive ? `must be at most ${String(limit)}` : `must be less than ${String(limit)}`;
      return `${bound}${got(issue, root)}`;
    }
    case 'invalid_format': {
      if (issue.format === 'regex') return `${issue.message}${got(issue, root)}`;
      return `expected a valid ${issue.format}${got(issue, root)}`;
    }
    case 'not_multiple_of':
      return `must be a multiple of ${issue.divisor}${got(issue, root)}`;
    case 'invalid_value': {
      const want = issue.values.length === 1 ? quoteAll(issue.values) : `one of ${quoteAll(issue.values)}`;
      return `expected ${want}${got(issue, root)}`;
    }
    case 'unrecognized_keys':
      return `unknown ${issue.keys.length === 1 ? 'key' : 'keys'} ${quoteAll(issue.keys)}`;
    case 'invalid_union': {
      const { options, discriminator } = issue as { options?: unknown; discriminator?: unknown };
      if (Array.isArray(options)) {
        // zod reports the whole object for a bad discriminator when it reports inputs;
        // looked up from the root, the path already leads to the discriminator.
        let value: unknown;
        if ('input' in issue && isPlainObject(issue.input) && typeof discriminator === 'string') value = issue.input[discriminator];
        else if (root !== undefined) {
          const r = lookup(root, issue.path);
          value = r.state === 'value' ? r.value : undefined;
        }
        if (value === undefined) return `required, expected one of ${quoteAll(options)}`;
        return `expected one of ${quoteAll(options)}, got ${describeValue(value)}`;
      }
      const branches = (issue as { errors?: z.core.$ZodIssue[][] }).errors ?? [];
      // The value has the type of exactly one branch, which refused it: its reasons are the ones.
      const matching = branches.filter((issues) => !isRootTypeMismatch(issues));
      if (matching.length === 1 && matching[0]!.every((inner) => inner.path.length === 0)) {
        return matching[0]!.map((inner) => describeIssue(inner, root)).join('; ');
      }
      // A value of none of the allowed types (an id that is neither a string nor a number).
      const types = rootTypeMismatches(branches);
      if (types) {
        const expected = types.map((type) => EXPECTED[type] ?? `a ${type}`).join(' or ');
        const r = received(issue, root);
        if (r.state === 'missing') return `required, expected ${expected}`;
        return r.state === 'value' ? `expected ${expected}, got ${describeValue(r.value)}` : `expected ${expected}`;
      }
      return `does not match any allowed shape${got(issue, root)}`;
    }
    case 'invalid_key':
      return `has an invalid key: ${issue.issues.map((inner) => describeIssue(inner, undefined)).join('; ')}`;
    case 'invalid_element':
      return `has an invalid element: ${issue.issues.map((inner) => describeIssue(inner, undefined)).join('; ')}`;
    case 'custom':
      return issue.message;
    default:
      return (issue as { message: string }).message;
  }
}
