import * as z from 'zod';

/*
 * Tally's experiment spec: which variant of an A/B test a person saw. The collector stores
 * `Experiment Viewed` like any track event; `experiment_results(...)` in SQL reads it
 * (see README.md, "Experiment events").
 */

/**
 * `Experiment Viewed`: someone was shown a variant of an experiment. `experiment_id` and
 * `variant_id` are required; the names are for people reading reports. Send it each time
 * the variant is shown: the first exposure is what counts.
 *
 * @example
 * ExperimentViewedProperties.parse({
 *   experiment_id: 'checkout-button', experiment_name: 'Checkout button colour',
 *   variant_id: 'green', variant_name: 'Green button',
 * });
 */
export const ExperimentViewedProperties = z.looseObject({
  experiment_id: z.string().min(1),
  experiment_name: z.string().min(1).optional(),
  variant_id: z.string().min(1),
  variant_name: z.string().min(1).optional(),
});
export type ExperimentViewedProperties = z.infer<typeof ExperimentViewedProperties>;
