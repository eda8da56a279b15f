import type { DashboardQueriesTable } from './dashboard.js';
import type { EventMessagesTable, EventsTable } from './events.js';
import type { IdentityTables } from './identity.js';
import type { MarketingTables } from './marketing.js';
import type { ConsentChangesView, ConsentRefusalsTable, RejectedEventsTable, RejectedEventUsageTable } from './rejected-events.js';

/** Every table and view Tally's code reads or writes, by name. */
export interface Database extends IdentityTables, MarketingTables {
  events: EventsTable;
  event_messages: EventMessagesTable;
  rejected_events: RejectedEventsTable;
  consent_refusals: ConsentRefusalsTable;
  rejected_event_usage: RejectedEventUsageTable;
  consent_changes: ConsentChangesView;
  dashboard_queries: DashboardQueriesTable;
}
