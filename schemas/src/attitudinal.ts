import * as z from 'zod';
import { Integer } from './common.js';

/*
 * Tally's attitudinal spec: what people say about the product, next to what they do.
 * Two events, `Survey Responded` and `Feedback Submitted`, share a score on a named
 * scale and a free-text comment. See README.md ("Attitudinal events").
 */

/**
 * The score scales and their inclusive ranges: `nps` (Net Promoter Score, 0–10),
 * `csat` (customer satisfaction, 1–5), `ces` (customer effort, 1–7).
 *
 * @example
 * SCORE_SCALES.nps; // { min: 0, max: 10 }
 */
export const SCORE_SCALES = {
  nps: { min: 0, max: 10 },
  csat: { min: 1, max: 5 },
  ces: { min: 1, max: 7 },
} as const;

/**
 * The name of a score scale.
 *
 * @example
 * ScoreScale.parse('nps');
 */
export const ScoreScale = z.enum(['nps', 'csat', 'ces']);
export type ScoreScale = z.infer<typeof ScoreScale>;

const answerFields = {
  score: Integer.optional(),
  scale: ScoreScale.optional(),
  comment: z.string().optional(),
  question: z.string().optional(),
};

type Answer = { score?: number | undefined; scale?: ScoreScale | undefined; comment?: string | undefined };

/** A score needs its scale and must lie in the scale's range; an answer needs a score or a comment. */
const scoredAnswer = z.superRefine<Answer>(
  (value, ctx) => {
    // This check also runs when fields have the wrong type (to list every problem at
    // once), so it looks at each value's type before using it.
    const { score, scale, comment } = value as Record<string, unknown>;
    if (typeof score === 'number' && Number.isInteger(score)) {
      if (scale === undefined) {
        ctx.addIssue({ code: 'custom', path: ['scale'], message: 'required with a score: one of "nps", "csat", "ces"' });
      } else if (typeof scale === 'string' && Object.prototype.hasOwnProperty.call(SCORE_SCALES, scale)) {
        const { min, max } = SCORE_SCALES[scale as ScoreScale];
        if (score < min || score > max) {
          ctx.addIssue({
            code: 'custom',
            path: ['score'],
            message: `must be between ${min} and ${max} on the ${scale} scale, got ${score}`,
          });
        }
      }
    }
    if (score === undefined && (comment === undefined || (typeof comment === 'string' && comment.trim() === ''))) {
      ctx.addIssue({ code: 'custom', path: [], message: 'needs a score or a comment; neither was sent' });
    }
  },
  { when: (payload) => typeof payload.value === 'object' && payload.value !== null && !Array.isArray(payload.value) },
);

/**
 * `Survey Responded`: someone answered a survey question. `survey_id` is required;
 * the answer is a `score` on a `scale`, a `comment`, or both.
 *
 * @example
 * SurveyRespondedProperties.parse({
 *   survey_id: 'nps-2024-q2', question: 'How likely are you to recommend us?', scale: 'nps', score: 9,
 * });
 */
export const SurveyRespondedProperties = z
  .looseObject({ survey_id: z.string().min(1), question_id: z.string().optional(), ...answerFields })
  .check(scoredAnswer);
export type SurveyRespondedProperties = z.infer<typeof SurveyRespondedProperties>;

/**
 * `Feedback Submitted`: someone gave unsolicited feedback (a widget, a thumbs-up, a
 * note). A `score` on a `scale`, a `comment`, or both; `survey_id` when it came from one.
 *
 * @example
 * FeedbackSubmittedProperties.parse({ scale: 'csat', score: 4, comment: 'Checkout was quick.' });
 */
export const FeedbackSubmittedProperties = z
  .looseObject({ survey_id: z.string().min(1).optional(), ...answerFields })
  .check(scoredAnswer);
export type FeedbackSubmittedProperties = z.infer<typeof FeedbackSubmittedProperties>;
