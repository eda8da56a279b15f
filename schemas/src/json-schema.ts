import * as z from 'zod';
import { AliasEvent } from './alias.js';
import { FeedbackSubmittedProperties, SCORE_SCALES, SurveyRespondedProperties } from './attitudinal.js';
import { Batch } from './batch.js';
import { Consent, CONSENT_UPDATED_EVENT } from './consent.js';
import { Context } from './context.js';
import {
  CartViewedProperties,
  CheckoutStartedProperties,
  OrderCompletedProperties,
  Product,
  ProductAddedProperties,
  ProductRemovedProperties,
  ProductViewedProperties,
} from './ecommerce.js';
import { ExperimentViewedProperties } from './experiments.js';
import { GroupEvent } from './group.js';
import { IdentifyEvent } from './identify.js';
import { Message } from './message.js';
import { PageEvent } from './page.js';
import { ScreenEvent } from './screen.js';
import { SPEC_EVENTS } from './spec-events.js';
import { TrackEvent } from './track.js';

/** A JSON Schema document (draft 2020-12), as plain JSON. */
export type JsonSchema = { [key: string]: unknown };

const needsIdentity = new Set<z.ZodType>([TrackEvent, PageEvent, ScreenEvent, IdentifyEvent, GroupEvent]);
const needsProductId = new Set<z.ZodType>([Product, ProductViewedProperties, ProductAddedProperties, ProductRemovedProperties]);
const isAnswer = new Set<z.ZodType>([SurveyRespondedProperties, FeedbackSubmittedProperties]);

const nonEmptyString = { type: 'string', minLength: 1 };

function oneOfRequired(...keys: string[]): JsonSchema[] {
  return keys.map((key) => ({ required: [key], properties: { [key]: nonEmptyString } }));
}

/*
 * What zod refinements check cannot be derived by z.toJSONSchema; these rules restate
 * them in JSON Schema so that non-JS senders validate the same way.
 */
function restateRefinements(ctx: { zodSchema: z.core.$ZodTypes; jsonSchema: z.core.JSONSchema.BaseSchema }): void {
  const schema = ctx.zodSchema as unknown as z.ZodType;
  const json = ctx.jsonSchema as JsonSchema;
  if (needsIdentity.has(schema)) json['anyOf'] = oneOfRequired('anonymousId', 'userId');
  // A consent change may name no one (see requireIdentity).
  if (schema === TrackEvent) {
    (json['anyOf'] as JsonSchema[]).push({ required: ['event'], properties: { event: { const: CONSENT_UPDATED_EVENT } } });
  }
  if (needsProductId.has(schema)) json['anyOf'] = oneOfRequired('product_id', 'sku');
  if (isAnswer.has(schema)) {
    json['anyOf'] = [{ required: ['score'] }, { required: ['comment'], properties: { comment: { pattern: '\\S' } } }];
    json['dependentRequired'] = { score: ['scale'] };
    json['allOf'] = Object.entries(SCORE_SCALES).map(([scale, { min, max }]) => ({
      if: { required: ['scale'], properties: { scale: { const: scale } } },
      then: { properties: { score: { minimum: min, maximum: max } } },
    }));
  }
  if (schema === TrackEvent) {
    json['allOf'] = Object.entries(SPEC_EVENTS).map(([event, properties]) => {
      const propertiesSchema = toJson(properties);
      const required = Array.isArray(propertiesSchema['required']) && propertiesSchema['required'].length > 0;
      return {
        if: { required: ['event'], properties: { event: { const: event } } },
        then: { ...(required ? { required: ['properties'] } : {}), properties: { properties: propertiesSchema } },
      };
    });
  }
}

function toJson(schema: z.ZodType): JsonSchema {
  const json = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io: 'input',
    unrepresentable: 'any',
    override: restateRefinements,
  }) as JsonSchema;
  delete json['$schema'];
  return json;
}

function document(id: string, schema: z.ZodType): JsonSchema {
  return { $schema: 'https://json-schema.org/draft/2020-12/schema', $id: `https://tally.dev/schemas/${id}.json`, ...toJson(schema) };
}

/**
 * The JSON Schema of every message, the batch envelope, the context and consent
 * objects, and the properties of each spec event, keyed by file name (relative to
 * `schemas/json/`). Generated from the zod schemas, so the two never disagree on
 * shape; the rules zod expresses as refinements are restated.
 *
 * @example
 * const schemas = jsonSchemas();
 * schemas['track.json']; // { $schema: 'https://json-schema.org/draft/2020-12/schema', title: 'TrackEvent', … }
 */
export function jsonSchemas(): Record<string, JsonSchema> {
  const files: Record<string, JsonSchema> = {
    'track.json': document('track', TrackEvent),
    'page.json': document('page', PageEvent),
    'screen.json': document('screen', ScreenEvent),
    'identify.json': document('identify', IdentifyEvent),
    'group.json': document('group', GroupEvent),
    'alias.json': document('alias', AliasEvent),
    'message.json': document('message', Message),
    'batch.json': document('batch', Batch),
    'context.json': document('context', Context),
    'consent.json': document('consent', Consent),
    'product.json': document('product', Product),
  };
  const properties: Record<string, z.ZodType> = {
    'product-viewed': ProductViewedProperties,
    'product-added': ProductAddedProperties,
    'product-removed': ProductRemovedProperties,
    'cart-viewed': CartViewedProperties,
    'checkout-started': CheckoutStartedProperties,
    'order-completed': OrderCompletedProperties,
    'survey-responded': SurveyRespondedProperties,
    'feedback-submitted': FeedbackSubmittedProperties,
    'experiment-viewed': ExperimentViewedProperties,
  };
  for (const [name, schema] of Object.entries(properties)) {
    files[`properties/${name}.json`] = document(`properties/${name}`, schema);
  }
  return files;
}

/**
 * The text of a generated JSON Schema file: two-space indented JSON and a final newline.
 *
 * @example
 * writeFileSync('json/track.json', serializeJsonSchema(jsonSchemas()['track.json']!));
 */
export function serializeJsonSchema(schema: JsonSchema): string {
  return `${JSON.stringify(schema, null, 2)}\n`;
}
