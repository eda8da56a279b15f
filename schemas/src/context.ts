import * as z from 'zod';
import { Consent } from './consent.js';

/**
 * The page an event happened on (`context.page`).
 *
 * @example
 * ContextPage.parse({ path: '/pricing', url: 'https://example.com/pricing', title: 'Pricing' });
 */
export const ContextPage = z.looseObject({
  path: z.string().optional(),
  referrer: z.string().optional(),
  search: z.string().optional(),
  title: z.string().optional(),
  url: z.string().optional(),
});
export type ContextPage = z.infer<typeof ContextPage>;

/**
 * The device screen (`context.screen`), in CSS pixels and device pixel ratio.
 *
 * @example
 * ContextScreen.parse({ width: 1440, height: 900, density: 2 });
 */
export const ContextScreen = z.looseObject({
  width: z.number().nonnegative().optional(),
  height: z.number().nonnegative().optional(),
  density: z.number().positive().optional(),
});
export type ContextScreen = z.infer<typeof ContextScreen>;

/**
 * The UTM campaign the visit came from (`context.campaign`).
 *
 * @example
 * ContextCampaign.parse({ source: 'newsletter', medium: 'email', name: 'spring-sale' });
 */
export const ContextCampaign = z.looseObject({
  name: z.string().optional(),
  source: z.string().optional(),
  medium: z.string().optional(),
  term: z.string().optional(),
  content: z.string().optional(),
});
export type ContextCampaign = z.infer<typeof ContextCampaign>;

/**
 * The library that sent the event (`context.library`).
 *
 * @example
 * ContextLibrary.parse({ name: 'analytics.js', version: 'next-1.70.0' });
 */
export const ContextLibrary = z.looseObject({
  name: z.string().optional(),
  version: z.string().optional(),
});
export type ContextLibrary = z.infer<typeof ContextLibrary>;

/**
 * Where and how an event happened. Every field is optional and unknown fields
 * (`app`, `device`, `os`, `network`, `traits`, …) are kept as sent.
 *
 * @example
 * Context.parse({
 *   page: { path: '/', url: 'https://example.com/' },
 *   userAgent: 'Mozilla/5.0 …',
 *   locale: 'en-US',
 *   timezone: 'Europe/Berlin',
 *   consent: { categoryPreferences: { analytics: true } },
 * });
 */
export const Context = z.looseObject({
  page: ContextPage.optional(),
  userAgent: z.string().optional(),
  locale: z.string().optional(),
  timezone: z.string().optional(),
  screen: ContextScreen.optional(),
  campaign: ContextCampaign.optional(),
  consent: Consent.optional(),
  library: ContextLibrary.optional(),
  ip: z.string().optional(),
});
export type Context = z.infer<typeof Context>;
