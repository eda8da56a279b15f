import type { ColumnType, Selectable } from 'kysely';
import type { EventsTable } from './events.js';

type ReadOnly<T> = ColumnType<T, never, never>;
type Json = Record<string, unknown>;

/** One order: an `Order Completed` event, counted once per `order_id`. */
export interface OrdersView {
  order_id: ReadOnly<string>;
  customer_id: ReadOnly<string | null>;
  completed_at: ReadOnly<Date>;
  /** `properties.revenue`, else `properties.total`, else the sum of the products' price × quantity. */
  revenue: ReadOnly<number>;
  currency: ReadOnly<string | null>;
  products: ReadOnly<Json[]>;
  event_id: ReadOnly<string>;
}

/** One product line of an order. */
export interface OrderItemsView {
  order_id: ReadOnly<string>;
  customer_id: ReadOnly<string | null>;
  completed_at: ReadOnly<Date>;
  product_id: ReadOnly<string | null>;
  sku: ReadOnly<string | null>;
  name: ReadOnly<string | null>;
  price: ReadOnly<number | null>;
  quantity: ReadOnly<number>;
}

type ReadOnlyColumns<T> = { [K in keyof Selectable<T>]: ReadOnly<Selectable<T>[K]> };

/** Every event of a known customer with the session it belongs to. */
export type EventsWithSessionView = ReadOnlyColumns<EventsTable> & {
  session_id: ReadOnly<string>;
  session_started_at: ReadOnly<Date>;
  previous_timestamp: ReadOnly<Date | null>;
  previous_campaign: ReadOnly<string | null>;
  starts_session: ReadOnly<boolean>;
};

/** A customer's visit: ends after 30 minutes without an event or when a new UTM campaign arrives. */
export interface SessionsView {
  session_id: ReadOnly<string>;
  customer_id: ReadOnly<string>;
  started_at: ReadOnly<Date>;
  ended_at: ReadOnly<Date>;
  duration: ReadOnly<unknown>;
  landing_page: ReadOnly<string | null>;
  landing_path: ReadOnly<string | null>;
  referrer: ReadOnly<string | null>;
  utm_source: ReadOnly<string | null>;
  utm_medium: ReadOnly<string | null>;
  utm_campaign: ReadOnly<string | null>;
  utm_term: ReadOnly<string | null>;
  utm_content: ReadOnly<string | null>;
  events: ReadOnly<number>;
  pageviews: ReadOnly<number>;
  completed_order: ReadOnly<boolean>;
  /** Screen views: the `screen` calls of an app. */
  screenviews: ReadOnly<number>;
  /** The name of the session's first screen (an app's landing screen). */
  landing_screen: ReadOnly<string | null>;
}

/** One row per customer. */
export interface CustomerProfilesView {
  customer_id: ReadOnly<string>;
  user_id: ReadOnly<string | null>;
  email: ReadOnly<string | null>;
  name: ReadOnly<string | null>;
  first_seen: ReadOnly<Date>;
  last_seen: ReadOnly<Date>;
  sessions: ReadOnly<number>;
  events: ReadOnly<number>;
  orders: ReadOnly<number>;
  /** Lifetime value per currency, net of refunds and cancellations: `{ "EUR": 60, "JPY": 10000 }` (`"(none)"` for orders sent without one). */
  revenue: ReadOnly<Record<string, number>>;
  /** Per currency, net revenue over orders not cancelled. */
  average_order_value: ReadOnly<Record<string, number>>;
  /** Net revenue in the reporting currency of `exchange_rates`; null when an order's currency has no rate. */
  converted_revenue: ReadOnly<number | null>;
  /** `context.consent.categoryPreferences` of the customer's latest event that carried it. */
  consent: ReadOnly<Record<string, boolean> | null>;
  /** Distinct anonymous ids: browsers and devices. */
  devices: ReadOnly<number>;
  /** Every current trait. */
  traits: ReadOnly<Record<string, unknown>>;
  /** Per trait key, the source that set it. */
  trait_sources: ReadOnly<Record<string, { source_id: string; kind: string }>>;
  /** Device type, OS and browser combinations seen, latest first. */
  device_list: ReadOnly<{ device_type: string | null; os: string | null; browser: string | null; last_seen: string }[]>;
  /** The campaign of the first and the last event that carried a `utm_source`. */
  first_source: ReadOnly<{ source: string; medium: string | null; campaign: string | null; at: string } | null>;
  last_source: ReadOnly<{ source: string; medium: string | null; campaign: string | null; at: string } | null>;
  /** The RFM groups of the customer (one per currency they bought in). */
  rfm_groups: ReadOnly<string[]>;
  /** The saved segments the customer is in now. */
  segments: ReadOnly<string[]>;
  nps_score: ReadOnly<number | null>;
  csat_score: ReadOnly<number | null>;
  ces_score: ReadOnly<number | null>;
}

/**
 * One row per customer, track event name and UTC day: when the customer first and last sent
 * that event that day. Kept by triggers on `events`; read-only for everyone else.
 */
export interface CustomerEventDaysTable {
  event: ReadOnly<string>;
  customer_id: ReadOnly<string>;
  day: ReadOnly<Date>;
  first_at: ReadOnly<Date>;
  last_at: ReadOnly<Date>;
  /** The day's first event (earliest time, then lowest id) and what it carried. */
  first_event_id: ReadOnly<string>;
  first_source_id: ReadOnly<string>;
  first_device_type: ReadOnly<string | null>;
  first_browser: ReadOnly<string | null>;
  first_os: ReadOnly<string | null>;
}

/** The views marketers query (docs/sql.md). `funnel(...)` is a SQL function, called with `sql`. */
export interface MarketingTables {
  customer_event_days: CustomerEventDaysTable;
  orders: OrdersView;
  order_items: OrderItemsView;
  events_with_session: EventsWithSessionView;
  sessions: SessionsView;
  customer_profiles: CustomerProfilesView;
}
