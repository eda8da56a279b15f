export { ALWAYS_ALLOWED_CATEGORY, Consent, CONSENT_UPDATED_EVENT, consentGranted, DEFAULT_CONSENT_CATEGORY } from './consent.js';
export { Context, ContextCampaign, ContextLibrary, ContextPage, ContextScreen } from './context.js';
export { absentWhenNull, Integer, Integrations, IsoDateTime, MessageId, OptionalIdentifier, Properties } from './common.js';
export { TrackEvent } from './track.js';
export { PageEvent } from './page.js';
export { ScreenEvent } from './screen.js';
export { IdentifyEvent } from './identify.js';
export { GroupEvent } from './group.js';
export { AliasEvent } from './alias.js';
export { Message, MESSAGE_SCHEMAS, MESSAGE_TYPES, type MessageType } from './message.js';
export { Batch } from './batch.js';
export {
  CartViewedProperties,
  CheckoutStartedProperties,
  CurrencyCode,
  OrderCompletedProperties,
  Product,
  ProductAddedProperties,
  ProductRemovedProperties,
  ProductViewedProperties,
} from './ecommerce.js';
export { FeedbackSubmittedProperties, SCORE_SCALES, ScoreScale, SurveyRespondedProperties } from './attitudinal.js';
export { isSpecEventName, SPEC_EVENTS, type SpecEventName, type SpecEventProperties } from './spec-events.js';
export { encodedSize, formatCount, MAX_BATCH_BYTES, MAX_BATCH_EVENTS, MAX_EVENT_BYTES } from './limits.js';
export { describeValue, formatIssues, formatPath } from './errors.js';
export { parseBatch, parseMessage, type ValidationResult } from './parse.js';
export { type JsonSchema, jsonSchemas, serializeJsonSchema } from './json-schema.js';
