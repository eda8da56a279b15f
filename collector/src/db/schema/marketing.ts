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
  /** Lifetime value: the sum of the customer's orders' revenue. */
  revenue: ReadOnly<number>;
  average_order_value: ReadOnly<number | null>;
  /** `context.consent.categoryPreferences` of the customer's latest event that carried it. */
  consent: ReadOnly<Record<string, boolean> | null>;
  /** Distinct anonymous ids: browsers and devices. */
  devices: ReadOnly<number>;
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
