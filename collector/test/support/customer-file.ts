import type { MatchRule } from '../../src/db/schema/import.js';

// A generated file of customer records with known answers, for the import tests and the
// import benchmark: people already in the workspace (to be seeded first), rows that match
// them by each rule with messy e-mails and phones in several formats, new people, people
// appearing twice in the file, rows repeated verbatim, and a few bad rows.

export const COLUMNS = [
  'user_id', 'email', 'phone', 'first_name', 'last_name', 'street', 'city', 'postcode', 'country', 'birth_date',
  'order_id', 'total', 'currency', 'items', 'order_date', 'loyalty_tier', 'notes',
] as const;
type Column = (typeof COLUMNS)[number];
export type FileRow = Partial<Record<Column, string>>;

/** A customer the workspace knows before the import, as an identify call would describe them. */
export interface ExistingPerson {
  userId: string;
  traits: Record<string, unknown>;
  /** The same person as an import row (the benchmark seeds the workspace with these). */
  row: FileRow;
}

/** What importing the file must report. */
export interface ExpectedReport {
  rowsRead: number;
  newCustomers: number;
  matched: Record<MatchRule, number>;
  queued: Record<MatchRule, number>;
  alreadyImported: number;
  ordersStored: number;
  rejectedLines: number[];
}

export interface CustomerFile {
  existing: ExistingPerson[];
  rows: FileRow[];
  /** The CSV text: a header, then one line per row (one row holds a quoted line break: the next rows' lines shift). */
  csv: string;
  /** The line each row starts on. */
  lines: number[];
  expected: ExpectedReport;
  /** Rows by what they are, for the tests' spot checks (indexes into `rows`). */
  samples: Record<'byUserId' | 'byEmail' | 'byPhone' | 'duplicateByEmail' | 'weakDuplicate' | 'byNamePostcode', number[]>;
}

const SYLLABLES = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'to', 'vi', 'de', 'ba', 'jo', 'fe', 'gu', 'ha', 'pi', 'zo'];

/** A name no other index gets: its digits spelled in syllables. */
function nameOf(index: number, salt: number): string {
  let n = index * 7 + salt;
  let name = '';
  do {
    name += SYLLABLES[n % 16];
    n = Math.floor(n / 16);
  } while (n > 0);
  return name[0]!.toUpperCase() + name.slice(1);
}

/** A deterministic pseudo-random sequence (mulberry32). */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(items: T[], next: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

const messyEmail = (email: string, i: number) => [`  ${email.toUpperCase()}`, `${email} `, email.replace(/^./, (c) => c.toUpperCase()), ` ${email.replace('@', '@').toUpperCase()} `][i % 4]!;
// Mobile numbers +44 7xxx xxxxxx, unique per index; written in several ways.
const phoneDigits = (i: number) => `7${String(1_000_000_000 + i).slice(1)}`;
const internationalPhone = (i: number) => `+44 ${phoneDigits(i).slice(0, 4)} ${phoneDigits(i).slice(4)}`;
const nationalPhone = (i: number) => `0${phoneDigits(i).slice(0, 4)} ${phoneDigits(i).slice(4)}`;
const prefixedPhone = (i: number) => `0044 (${phoneDigits(i).slice(0, 4)}) ${phoneDigits(i).slice(4, 7)}-${phoneDigits(i).slice(7)}`;
const postcodeOf = (i: number) => `N${i % 100} ${Math.floor(i / 100)}XY`;
const birthDateOf = (i: number) => `19${50 + (i % 50)}-${String(1 + (i % 12)).padStart(2, '0')}-${String(1 + (i % 28)).padStart(2, '0')}`;

/**
 * Generates the file. `scale` 1 gives 10,000 rows; the benchmark uses 10 (100,000).
 *
 * @example
 * const file = customerFile(1);
 */
export function customerFile(scale: number): CustomerFile {
  const next = random(20261202);
  const existing: ExistingPerson[] = [];
  const first: { row: FileRow; kind: keyof CustomerFile['samples'] | 'other' }[] = [];
  const second: { row: FileRow; kind: keyof CustomerFile['samples'] | 'other' }[] = [];
  const expected: ExpectedReport = {
    rowsRead: 0,
    newCustomers: 0,
    matched: { user_id: 0, email: 0, phone: 0, name_postcode: 0, name_birth_date: 0 },
    queued: { user_id: 0, email: 0, phone: 0, name_postcode: 0, name_birth_date: 0 },
    alreadyImported: 0,
    ordersStored: 0,
    rejectedLines: [],
  };
  let person = 0;
  const personName = () => {
    person++;
    return { first: nameOf(person, 1), last: nameOf(person, 3), id: person };
  };
  const order = (id: string, i: number): FileRow => {
    expected.ordersStored++;
    return {
      order_id: id,
      total: (10 + (i % 90) + 0.5).toFixed(2),
      currency: i % 3 === 0 ? 'EUR' : 'GBP',
      items: JSON.stringify([{ sku: `SKU-${i % 50}`, price: 10 + (i % 90) + 0.5, quantity: 1 }]),
      order_date: `2026-${String(1 + (i % 11)).padStart(2, '0')}-15T10:00:00Z`,
    };
  };

  // Known by userId: the row brings a new e-mail and sometimes an order.
  for (let i = 0; i < 1000 * scale; i++) {
    const p = personName();
    existing.push({ userId: `known-${p.id}`, traits: { email: `old.${p.id}@example.com` }, row: { user_id: `known-${p.id}`, email: `old.${p.id}@example.com` } });
    first.push({ row: { user_id: `known-${p.id}`, email: `new.${p.id}@example.org`, loyalty_tier: 'gold', ...(i % 2 === 0 ? order(`A-${p.id}`, i) : {}) }, kind: 'byUserId' });
    expected.matched.user_id++;
  }
  // Known by e-mail: the row's e-mail is messy (case, spaces), and it has no userId.
  for (let i = 0; i < 1000 * scale; i++) {
    const p = personName();
    const email = `${p.first.toLowerCase()}.${p.id}@example.com`;
    existing.push({ userId: `crm-${p.id}`, traits: { email }, row: { user_id: `crm-${p.id}`, email } });
    first.push({ row: { email: messyEmail(email, i), phone: internationalPhone(p.id), first_name: p.first }, kind: 'byEmail' });
    expected.matched.email++;
  }
  // Known by phone (stored in international form): the row writes it the national way.
  for (let i = 0; i < 800 * scale; i++) {
    const p = personName();
    existing.push({ userId: `tel-${p.id}`, traits: { phone: internationalPhone(p.id) }, row: { user_id: `tel-${p.id}`, phone: internationalPhone(p.id) } });
    first.push({ row: { phone: nationalPhone(p.id), first_name: p.first, last_name: p.last, city: 'Leeds' }, kind: 'byPhone' });
    expected.matched.phone++;
  }
  // Known by name and postcode only: the row's name has other case and an accent, its postcode no space.
  for (let i = 0; i < 300 * scale; i++) {
    const p = personName();
    const traits = { firstName: p.first, lastName: p.last, address: { postalCode: postcodeOf(p.id) } };
    existing.push({ userId: `post-${p.id}`, traits, row: { user_id: `post-${p.id}`, first_name: p.first, last_name: p.last, postcode: postcodeOf(p.id) } });
    first.push({
      row: { first_name: p.first.toUpperCase().replace('A', 'Á'), last_name: ` ${p.last}`, postcode: postcodeOf(p.id).replace(' ', '').toLowerCase() },
      kind: 'byNamePostcode',
    });
    expected.queued.name_postcode++;
  }
  // Known by name and birth date only.
  for (let i = 0; i < 200 * scale; i++) {
    const p = personName();
    const traits = { name: `${p.first} ${p.last}`, birthday: birthDateOf(p.id) };
    existing.push({ userId: `born-${p.id}`, traits, row: { user_id: `born-${p.id}`, first_name: p.first, last_name: p.last, birth_date: birthDateOf(p.id) } });
    first.push({ row: { first_name: p.first, last_name: p.last.toLowerCase(), birth_date: birthDateOf(p.id).replaceAll('-', '/') }, kind: 'other' });
    expected.queued.name_birth_date++;
  }
  // New people; every third with an order.
  const newRows: FileRow[] = [];
  for (let i = 0; i < 2989 * scale; i++) {
    const p = personName();
    const row: FileRow = {
      user_id: i % 2 === 0 ? `new-${p.id}` : '',
      email: `${p.last.toLowerCase()}.${p.id}@example.net`,
      phone: i % 4 === 0 ? prefixedPhone(p.id) : '',
      first_name: p.first,
      last_name: p.last,
      street: `${i % 200} High Street`,
      city: 'York',
      postcode: postcodeOf(p.id),
      country: 'GB',
      birth_date: i % 5 === 0 ? birthDateOf(p.id) : '',
      loyalty_tier: ['bronze', 'silver', 'gold'][i % 3]!,
      ...(i % 3 === 0 ? order(`N-${p.id}`, i) : {}),
    };
    newRows.push(row);
    first.push({ row, kind: 'other' });
    expected.newCustomers++;
  }
  // People twice in the file, the second time by a messy e-mail with an order.
  for (let i = 0; i < 1000 * scale; i++) {
    const p = personName();
    const email = `${p.first.toLowerCase()}@dup${p.id}.example`;
    first.push({ row: { email, first_name: p.first, last_name: p.last }, kind: 'other' });
    second.push({ row: { email: messyEmail(email, i), city: 'Bath', ...order(`D-${p.id}`, i) }, kind: 'duplicateByEmail' });
    expected.newCustomers++;
    expected.matched.email++;
  }
  // Twice by phone: international first, `0044 (…)` the second time.
  for (let i = 0; i < 500 * scale; i++) {
    const p = personName();
    first.push({ row: { phone: internationalPhone(p.id), first_name: p.first }, kind: 'other' });
    second.push({ row: { phone: prefixedPhone(p.id), last_name: p.last }, kind: 'other' });
    expected.newCustomers++;
    expected.matched.phone++;
  }
  // Twice, the second time by name and postcode alone: only a guess, queued.
  for (let i = 0; i < 300 * scale; i++) {
    const p = personName();
    first.push({ row: { email: `${p.first.toLowerCase()}.${p.id}@weak.example`, first_name: p.first, last_name: p.last, postcode: postcodeOf(p.id) }, kind: 'other' });
    second.push({ row: { first_name: p.first, last_name: p.last, postcode: postcodeOf(p.id) }, kind: 'weakDuplicate' });
    expected.newCustomers++;
    expected.queued.name_postcode++;
  }
  // Rows repeated verbatim.
  for (let i = 0; i < 100 * scale; i++) {
    second.push({ row: { ...newRows[i * 7]! }, kind: 'other' });
    expected.alreadyImported++;
  }
  // A note with a comma, quotes and a line break, on a new person.
  const quoted = personName();
  first.push({ row: { email: `quoted.${quoted.id}@example.com`, notes: 'likes "tea", and\ncake' }, kind: 'other' });
  expected.newCustomers++;

  const rows = [...shuffle(first, next), ...shuffle(second, next)];
  // Bad rows, at fixed places: each must be reported with its line and cost nothing else.
  const bad: FileRow[] = [
    { email: 'not-an-email', first_name: 'Bad' },
    { phone: '12', first_name: 'Bad' },
    { email: 'bad.birth@example.com', birth_date: '31/12/1990' },
    { email: 'bad.total@example.com', order_id: 'BAD-1', total: '-5', currency: 'GBP' },
    { email: 'bad.currency@example.com', order_id: 'BAD-2', total: '5', currency: 'EURO' },
    { email: 'bad.items@example.com', order_id: 'BAD-3', total: '5', items: '[{sku: 1' },
    { loyalty_tier: 'gold', city: 'Nowhere' },
    { user_id: 'undefined', email: 'placeholder@example.com' },
    { email: 'no.order.id@example.com', total: '12.00' },
    { email: 'bad.product@example.com', order_id: 'BAD-4', items: JSON.stringify([{ price: 3 }]) },
  ];
  bad.forEach((row, i) => rows.splice(37 + i * Math.floor(rows.length / bad.length), 0, { row, kind: 'other' }));
  const badRows = new Set(bad);

  const lines: number[] = [];
  let text = `${COLUMNS.join(',')}\r\n`;
  let line = 2;
  for (const { row } of rows) {
    lines.push(line);
    if (badRows.has(row)) expected.rejectedLines.push(line);
    const rendered = COLUMNS.map((column) => csvField(row[column] ?? '')).join(',');
    text += `${rendered}\r\n`;
    line += 1 + (rendered.match(/\n/g) ?? []).length;
  }
  expected.rowsRead = rows.length;
  const samples: CustomerFile['samples'] = { byUserId: [], byEmail: [], byPhone: [], duplicateByEmail: [], weakDuplicate: [], byNamePostcode: [] };
  rows.forEach(({ kind }, index) => kind !== 'other' && samples[kind].push(index));
  return { existing, rows: rows.map(({ row }) => row), csv: `\ufeff${text}`, lines, expected, samples };
}

/** A CSV field, quoted when it holds a comma, a quote or a line break. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}
