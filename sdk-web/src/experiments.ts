/** The A/B test helper of the ESM package (not in the script tag, which keeps to its budget). */
import type { ExperimentViewedProperties } from '@tally/schemas';
import type { CallOptions, Tally } from './core.js';

/**
 * Sends `Experiment Viewed` on `tracker`: call it each time a variant is shown (the first
 * exposure is what `experiment_results(...)` counts from).
 *
 * @example
 * trackExperimentViewed(tally, { experiment_id: 'checkout-button', variant_id: 'green', variant_name: 'Green button' });
 */
export function trackExperimentViewed(tracker: Pick<Tally, 'track'>, properties: ExperimentViewedProperties, options?: CallOptions): void {
  tracker.track('Experiment Viewed', properties, options);
}
