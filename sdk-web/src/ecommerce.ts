/** Typed helpers for the Segment e-commerce spec v2 events. */
import type {
  CartViewedProperties,
  CheckoutStartedProperties,
  OrderCompletedProperties,
  ProductAddedProperties,
  ProductRemovedProperties,
  ProductViewedProperties,
} from '@tally/schemas';

export interface Ecommerce {
  /** `Product Viewed` */
  productViewed(properties: ProductViewedProperties): void;
  /** `Product Added` */
  productAdded(properties: ProductAddedProperties): void;
  /** `Product Removed` */
  productRemoved(properties: ProductRemovedProperties): void;
  /** `Cart Viewed` */
  cartViewed(properties: CartViewedProperties): void;
  /** `Checkout Started` */
  checkoutStarted(properties: CheckoutStartedProperties): void;
  /** `Order Completed` */
  orderCompleted(properties: OrderCompletedProperties): void;
}

export const ECOMMERCE_HELPERS: (keyof Ecommerce)[] = [
  'productViewed',
  'productAdded',
  'productRemoved',
  'cartViewed',
  'checkoutStarted',
  'orderCompleted',
];

/** `productViewed` → `Product Viewed` */
export const ecommerceEvent = (helper: string): string =>
  helper.replace(/[A-Z]/, ' $&').replace(/^./, (c) => c.toUpperCase());
