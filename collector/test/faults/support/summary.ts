import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ScenarioRow {
  scenario: string;
  sent: number;
  stored: number;
  duplicates: number;
  lost: number;
  notes?: string;
}

/** Where scenarios append their rows; the faults run's global setup empties it first. */
export const SUMMARY_FILE = process.env.TALLY_FAULTS_SUMMARY ?? join(tmpdir(), 'tally-faults-summary.jsonl');

/** Adds one scenario's outcome to the table printed at the end of `pnpm test:faults`. */
export function recordScenario(row: ScenarioRow): void {
  appendFileSync(SUMMARY_FILE, `${JSON.stringify(row)}\n`);
}

export function readScenarios(file = SUMMARY_FILE): ScenarioRow[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as ScenarioRow);
}

/** The rows as an aligned plain-text table. */
export function formatTable(rows: readonly ScenarioRow[]): string {
  const header = ['scenario', 'events sent', 'stored', 'duplicates', 'lost', 'notes'];
  const body = rows.map((row) => [
    row.scenario,
    row.sent.toLocaleString('en-US'),
    row.stored.toLocaleString('en-US'),
    row.duplicates.toLocaleString('en-US'),
    row.lost.toLocaleString('en-US'),
    row.notes ?? '',
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...body.map((cells) => cells[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((cell, i) => (i === 0 || i === 5 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join(' │ ').trimEnd();
  return [line(header), widths.map((w) => '─'.repeat(w)).join('─┼─'), ...body.map(line)].join('\n');
}
