import * as z from 'zod';
import { Integer } from './common.js';

/*
 * Segment e-commerce spec v2: the properties of the core ordering events.
 * Known properties are typed; unknown ones are kept as sent.
 */

/** A money amount: a finite, non-negative number (not a string such as "12,99"). */
const Money = z.number().nonnegative();

/**
 * An ISO 4217 currency code: three letters, e.g. `USD` (Segment's own examples also
 * send `usd`, so the case is not enforced).
 *
 * @example
 * CurrencyCode.parse('EUR');
 */
export const CurrencyCode = z
  .string()
  .regex(/^[A-Za-z]{3}$/, { error: 'expected a 3-letter ISO 4217 currency code such as "USD"' });
export type CurrencyCode = z.infer<typeof CurrencyCode>;

const productFields = {
  product_id: z.string().min(1).optional(),
  sku: z.string().min(1).optional(),
  category: z.string().optional(),
  name: z.string().optional(),
  brand: z.string().optional(),
  variant: z.string().optional(),
  price: Money.optional(),
  quantity: Integer.positive().optional(),
  coupon: z.string().optional(),
  position: Integer.nonnegative().optional(),
  url: z.string().optional(),
  image_url: z.string().optional(),
};

/** An event about a product must say which one: `product_id`, `sku`, or both. */
const identifiesProduct = z.superRefine<{ product_id?: string | undefined; sku?: string | undefined }>(
  (value, ctx) => {
    if (value.product_id === undefined && value.sku === undefined) {
      ctx.addIssue({ code: 'custom', path: ['product_id'], message: 'required, a product needs a product_id or a sku' });
    }
  },
  { when: (payload) => typeof payload.value === 'object' && payload.value !== null && !Array.isArray(payload.value) },
);

/**
 * One product, as listed in `products[]` of cart, checkout and order events.
 * It needs a `product_id` or a `sku`.
 *
 * @example
 * Product.parse({ product_id: '507f1f77bcf86cd799439011', sku: 'G-32', price: 18.99, quantity: 1 });
 */
export const Product = z.looseObject(productFields).check(identifiesProduct);
export type Product = z.infer<typeof Product>;

/**
 * `Product Viewed`: a visitor viewed a product's details.
 *
 * @example
 * ProductViewedProperties.parse({ product_id: '507f1f77bcf86cd799439011', price: 18.99, currency: 'USD' });
 */
export const ProductViewedProperties = z
  .looseObject({ ...productFields, currency: CurrencyCode.optional(), value: Money.optional() })
  .check(identifiesProduct);
export type ProductViewedProperties = z.infer<typeof ProductViewedProperties>;

/**
 * `Product Added`: a visitor added a product to their cart.
 *
 * @example
 * ProductAddedProperties.parse({ cart_id: 'c-1', product_id: '507f1f77bcf86cd799439011', quantity: 1 });
 */
export const ProductAddedProperties = z
  .looseObject({ cart_id: z.string().optional(), ...productFields, currency: CurrencyCode.optional() })
  .check(identifiesProduct);
export type ProductAddedProperties = z.infer<typeof ProductAddedProperties>;

/**
 * `Product Removed`: a visitor removed a product from their cart.
 *
 * @example
 * ProductRemovedProperties.parse({ cart_id: 'c-1', sku: 'G-32' });
 */
export const ProductRemovedProperties = z
  .looseObject({ cart_id: z.string().optional(), ...productFields, currency: CurrencyCode.optional() })
  .check(identifiesProduct);
export type ProductRemovedProperties = z.infer<typeof ProductRemovedProperties>;

/**
 * `Cart Viewed`: a visitor viewed their cart.
 *
 * @example
 * CartViewedProperties.parse({ cart_id: 'c-1', products: [{ product_id: 'p-1', price: 19 }] });
 */
export const CartViewedProperties = z.looseObject({
  cart_id: z.string().optional(),
  currency: CurrencyCode.optional(),
  value: Money.optional(),
  products: z.array(Product).optional(),
});
export type CartViewedProperties = z.infer<typeof CartViewedProperties>;

const orderFields = {
  order_id: z.string().min(1).optional(),
  affiliation: z.string().optional(),
  value: Money.optional(),
  revenue: Money.optional(),
  shipping: Money.optional(),
  tax: Money.optional(),
  discount: Money.optional(),
  coupon: z.string().optional(),
  currency: CurrencyCode.optional(),
  products: z.array(Product).optional(),
};

/**
 * `Checkout Started`: a visitor began the order process.
 *
 * @example
 * CheckoutStartedProperties.parse({ order_id: 'o-1', value: 30, revenue: 25, currency: 'USD', products: [] });
 */
export const CheckoutStartedProperties = z.looseObject(orderFields);
export type CheckoutStartedProperties = z.infer<typeof CheckoutStartedProperties>;

/**
 * `Order Completed`: a customer completed an order. `order_id` is required.
 *
 * @example
 * OrderCompletedProperties.parse({ order_id: 'o-1', total: 27.5, revenue: 25, currency: 'USD' });
 */
export const OrderCompletedProperties = z.looseObject({
  checkout_id: z.string().optional(),
  ...orderFields,
  order_id: z.string().min(1),
  subtotal: Money.optional(),
  total: Money.optional(),
});
export type OrderCompletedProperties = z.infer<typeof OrderCompletedProperties>;
