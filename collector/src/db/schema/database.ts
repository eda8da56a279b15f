import type { EventsTable } from './events.js';
import type { RejectedEventsTable } from './rejected-events.js';

/** Every table Tally's code reads or writes, by name. */
export interface Database {
  events: EventsTable;
  rejected_events: RejectedEventsTable;
}
