import type { Migration } from 'kysely';
import * as events from './20261123T0900-events.js';
import * as identity from './20261123T1000-identity.js';
import * as marketing from './20261123T1100-marketing.js';
import * as customerEventDays from './20261123T1200-customer-event-days.js';
import * as rejectedEventsPrivacy from './20261201T0900-rejected-events-privacy.js';
import * as transparency from './20261201T0910-transparency.js';
import * as eventsByMonth from './20261201T1000-events-by-month.js';
import * as roles from './20261201T1100-roles.js';
import * as workspaceIdentities from './20261201T1200-workspace-identities.js';
import * as funnelCampaignBreakdown from './20261202T0800-funnel-campaign-breakdown.js';
import * as mergeUndo from './20261202T0900-merge-undo.js';
import * as customerImport from './20261202T1000-customer-import.js';
import * as appSessions from './20261202T1200-app-sessions.js';
import * as dashboard from './20261202T1300-dashboard.js';
import * as revenue from './20261202T1100-revenue.js';
import * as segments from './20261202T1110-segments.js';
import * as experiments from './20261202T1120-experiments.js';
import * as attitudinal from './20261202T1130-attitudinal.js';
import * as profile from './20261202T1140-profile.js';
import * as funnelByVariant from './20261202T1155-funnel-by-variant.js';
import * as identityLocks from './20261202T1400-identity-locks.js';
import * as dailyRollups from './20261202T1600-daily-rollups.js';
import * as sessionRollups from './20261203T0100-session-rollups.js';
import * as referrerRollups from './20261203T0200-referrer-rollups.js';
import * as experimentExposureDays from './20261203T0300-experiment-exposure-days.js';
import * as utmSourceRollups from './20261203T0400-utm-source-rollups.js';
import * as funnelOneProcess from './20261203T0900-funnel-one-process.js';
import * as funnelBreakdownValuedOnly from './20261203T1000-funnel-breakdown-valued-only.js';
import * as membershipsSkipFailingSegment from './20261204T0100-memberships-skip-failing-segment.js';
import * as funnelVariantsFromExposureDays from './20261204T0200-funnel-variants-from-exposure-days.js';
import * as eventDaysFirstEvent from './20261205T0100-event-days-first-event.js';
import * as campaignTouches from './20261206T0100-campaign-touches.js';
import * as funnelEntryTimeOnce from './20261207T0100-funnel-entry-time-once.js';

/**
 * Every migration, in order. Migrations are frozen in time: once released, a file never
 * changes; a change of schema is a new file added to the end of this list.
 */
export const migrations: Record<string, Migration> = {
  '20261123T0900-events': events,
  '20261123T1000-identity': identity,
  '20261123T1100-marketing': marketing,
  '20261123T1200-customer-event-days': customerEventDays,
  '20261201T0900-rejected-events-privacy': rejectedEventsPrivacy,
  '20261201T0910-transparency': transparency,
  '20261201T1000-events-by-month': eventsByMonth,
  '20261201T1100-roles': roles,
  '20261201T1200-workspace-identities': workspaceIdentities,
  '20261202T0800-funnel-campaign-breakdown': funnelCampaignBreakdown,
  '20261202T0900-merge-undo': mergeUndo,
  '20261202T1000-customer-import': customerImport,
  '20261202T1100-revenue': revenue,
  '20261202T1110-segments': segments,
  '20261202T1120-experiments': experiments,
  '20261202T1130-attitudinal': attitudinal,
  '20261202T1140-profile': profile,
  '20261202T1155-funnel-by-variant': funnelByVariant,
  '20261202T1200-app-sessions': appSessions,
  '20261202T1300-dashboard': dashboard,
  '20261202T1400-identity-locks': identityLocks,
  '20261202T1600-daily-rollups': dailyRollups,
  '20261203T0100-session-rollups': sessionRollups,
  '20261203T0200-referrer-rollups': referrerRollups,
  '20261203T0300-experiment-exposure-days': experimentExposureDays,
  '20261203T0400-utm-source-rollups': utmSourceRollups,
  '20261203T0900-funnel-one-process': funnelOneProcess,
  '20261203T1000-funnel-breakdown-valued-only': funnelBreakdownValuedOnly,
  '20261204T0100-memberships-skip-failing-segment': membershipsSkipFailingSegment,
  '20261204T0200-funnel-variants-from-exposure-days': funnelVariantsFromExposureDays,
  '20261205T0100-event-days-first-event': eventDaysFirstEvent,
  '20261206T0100-campaign-touches': campaignTouches,
  '20261207T0100-funnel-entry-time-once': funnelEntryTimeOnce,
};
