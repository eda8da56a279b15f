export { Consent, CONSENT_UPDATED_EVENT, consentGranted } from './consent.js';
export { ALWAYS_ALLOWED_CATEGORY, type ConsentDecision, type ConsentMode, decideConsent, DEFAULT_CONSENT_CATEGORY } from './consent-decision.js';
export { Context, ContextCampaign, ContextLibrary, ContextPage, ContextScreen } from './context.js';
export { absentWhenNull, Integer, Integrations, MessageId, OptionalIdentifier, Properties } from './common.js';
export { IsoDateTime, normalizeDateTime } from './date-time.js';
export { decimalString, Identifier, RequiredIdentifier } from './identifier.js';
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
export { ExperimentViewedProperties } from './experiments.js';
export { isSpecEventName, SPEC_EVENTS, type SpecEventName, type SpecEventProperties } from './spec-events.js';
export { encodedSize, encodeJson, formatCount, MAX_BATCH_BYTES, MAX_BATCH_EVENTS, MAX_EVENT_BYTES, tryEncodeJson } from './limits.js';
export { clampInstant, EARLIEST_INSTANT_MS, isAcceptedInstant, LATEST_INSTANT_MS } from './time-range.js';
export { describeValue, formatIssues, formatPath } from './errors.js';
export { parseBatch, parseMessage, type ValidationResult } from './parse.js';
export { type JsonSchema, jsonSchemas, serializeJsonSchema } from './json-schema.js';
