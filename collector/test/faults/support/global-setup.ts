import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatTable, readScenarios } from './summary.js';

/**
 * Starts the faults run with an empty summary and ends it by printing one row per scenario:
 * events sent, stored, duplicates, lost.
 */
export default function setup(): () => void {
  const file = join(tmpdir(), `tally-faults-summary-${process.pid}.jsonl`);
  rmSync(file, { force: true });
  // Test workers are started after this and inherit the environment.
  process.env.TALLY_FAULTS_SUMMARY = file;
  return () => {
    const rows = readScenarios(file);
    rmSync(file, { force: true });
    if (rows.length === 0) return;
    process.stdout.write(`\nTally faults summary\n\n${formatTable(rows)}\n\n`);
  };
}
