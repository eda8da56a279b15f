import * as z from 'zod';
import { FeedbackSubmittedProperties, SurveyRespondedProperties } from './attitudinal.js';
import {
  CartViewedProperties,
  CheckoutStartedProperties,
  OrderCompletedProperties,
  ProductAddedProperties,
  ProductRemovedProperties,
  ProductViewedProperties,
} from './ecommerce.js';
import { ExperimentViewedProperties } from './experiments.js';

/**
 * Track event names with a strict properties schema: the Segment e-commerce v2 core
 * ordering events, Tally's attitudinal events and `Experiment Viewed`.
 *
 * @example
 * const name: SpecEventName = 'Order Completed';
 */
export type SpecEventName =
  | 'Product Viewed'
  | 'Product Added'
  | 'Product Removed'
  | 'Cart Viewed'
  | 'Checkout Started'
  | 'Order Completed'
  | 'Survey Responded'
  | 'Feedback Submitted'
  | 'Experiment Viewed';

/**
 * Event name → the schema its `properties` must match. Other event names validate
 * against the generic track schema only.
 *
 * @example
 * SPEC_EVENTS['Order Completed'].safeParse({ order_id: 'o-1' }).success; // true
 */
export const SPEC_EVENTS: Record<SpecEventName, z.ZodType> = {
  'Product Viewed': ProductViewedProperties,
  'Product Added': ProductAddedProperties,
  'Product Removed': ProductRemovedProperties,
  'Cart Viewed': CartViewedProperties,
  'Checkout Started': CheckoutStartedProperties,
  'Order Completed': OrderCompletedProperties,
  'Survey Responded': SurveyRespondedProperties,
  'Feedback Submitted': FeedbackSubmittedProperties,
  'Experiment Viewed': ExperimentViewedProperties,
};

/**
 * The properties type of each spec event, for typed tracking helpers.
 *
 * @example
 * function trackSpec<E extends SpecEventName>(event: E, properties: SpecEventProperties[E]) {}
 */
export interface SpecEventProperties {
  'Product Viewed': ProductViewedProperties;
  'Product Added': ProductAddedProperties;
  'Product Removed': ProductRemovedProperties;
  'Cart Viewed': CartViewedProperties;
  'Checkout Started': CheckoutStartedProperties;
  'Order Completed': OrderCompletedProperties;
  'Survey Responded': SurveyRespondedProperties;
  'Feedback Submitted': FeedbackSubmittedProperties;
  'Experiment Viewed': ExperimentViewedProperties;
}

/**
 * True when `name` is one of the spec event names.
 *
 * @example
 * isSpecEventName('Order Completed'); // true
 */
export function isSpecEventName(name: unknown): name is SpecEventName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(SPEC_EVENTS, name);
}
