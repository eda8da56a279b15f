import { expect } from 'vitest';
import type { TestDatabase } from '../../support/test-database.js';

const INSTANTS = new Set(['timestamp', 'original_timestamp', 'sent_at', 'received_at']);
const OBJECTS = new Set(['properties', 'traits', 'context']);

/**
 * What one stored `events` row must hold: column values (instants as ISO strings), `properties`,
 * `traits` and `context` as subsets, and `library` for `context.library.name`.
 */
export type ExpectedRow = Record<string, unknown> & { message_id: string };

/** The `events` rows of these message ids, in the order of the ids. */
export async function storedEvents(database: TestDatabase, messageIds: readonly string[]) {
  if (messageIds.length === 0) return [];
  const rows = await database.db.selectFrom('events').selectAll().where('message_id', 'in', [...messageIds]).execute();
  const byId = new Map(rows.map((row) => [row.message_id, row]));
  return messageIds.map((id) => byId.get(id));
}

/** Reads the rows of the expected message ids from `events` and checks each, column by column. */
export async function expectStoredRows(database: TestDatabase, expected: readonly ExpectedRow[]): Promise<void> {
  const rows = await storedEvents(database, expected.map((row) => row.message_id));
  expected.forEach((want, index) => {
    const row = rows[index] as Record<string, unknown> | undefined;
    expect(row, `no events row for ${want.message_id}`).toBeDefined();
    for (const [column, value] of Object.entries(want)) {
      const where = `${want.message_id}: ${column}`;
      if (column === 'library') {
        expect((row!.context as { library?: { name?: string } }).library?.name, where).toBe(value);
      } else if (INSTANTS.has(column)) {
        const stored = row![column] as Date | null;
        expect(stored === null ? null : new Date(stored).toISOString(), where).toBe(value);
      } else if (OBJECTS.has(column)) {
        expect(row![column], where).toMatchObject(value as object);
      } else {
        expect(row![column], where).toEqual(value);
      }
    }
  });
}
