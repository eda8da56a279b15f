import type { ColumnType, Generated } from 'kysely';

/** A saved query of the dashboard: a name, its SQL and how its result is drawn. */
export interface DashboardQueriesTable {
  id: Generated<number>;
  name: string;
  sql: string;
  chart: 'table' | 'line' | 'bar';
  created_at: ColumnType<Date, Date | string | undefined, Date | string>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}
