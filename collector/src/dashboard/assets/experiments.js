// Experiments: an experiment (from `Experiment Viewed` events) and a goal event; per variant
// `experiment_results()`: exposed, converted, rate, uplift, 95 % interval and p-value.
import { api, defaultRange, el, errorBox, formatValue, panel, params, sqlToggle, view } from './page.js';

export async function showExperiments(search) {
  const range = defaultRange();
  const experiment = el('select', { id: 'experiment-id', 'aria-label': 'Experiment' });
  const goal = el('select', { id: 'experiment-goal', 'aria-label': 'Goal event' });
  const since = el('input', { type: 'date', id: 'experiment-since', value: search.get('since') ?? range.since });
  const until = el('input', { type: 'date', id: 'experiment-until', value: search.get('until') ?? range.until });
  const status = el('p', { class: 'muted', text: 'Loading experiments…' });
  const result = el('div', { id: 'experiment-result' });
  const lists = el('div');
  const form = el('form', { class: 'controls', onsubmit: (event) => {
    event.preventDefault();
    location.hash = `#experiments?${params({ experiment: experiment.value, goal: goal.value, since: since.value, until: until.value })}`;
  } },
  el('label', {}, 'Experiment', experiment), el('label', {}, 'Goal event', goal),
  el('label', {}, 'Exposed from', since), el('label', {}, 'until (not included)', until),
  el('button', { type: 'submit', id: 'run-experiment' }, 'Show results'));
  view.replaceChildren(el('h2', { text: 'Experiments' }), status, form, result, lists);
  try {
    const [seen, names] = await Promise.all([api('experiments'), api('event-names')]);
    if (seen.rows.length === 0) {
      status.textContent = 'No experiments yet: send Experiment Viewed events (experiment_id, variant_id).';
      return;
    }
    status.textContent = 'Customers count in the variant they saw first; the goal counts when it follows that exposure.';
    const chosen = search.get('experiment') ?? seen.rows[0].experiment_id;
    experiment.replaceChildren(...seen.rows.map((row) => el('option', { value: row.experiment_id, text: `${row.experiment_id} (${formatValue(row.customers)} customers)`, selected: row.experiment_id === chosen })));
    const goals = names.rows.map((row) => row.event).filter((name) => name !== 'Experiment Viewed');
    const goalChosen = search.get('goal') ?? (goals.includes('Order Completed') ? 'Order Completed' : goals[0]);
    goal.replaceChildren(...goals.map((name) => el('option', { value: name, text: name, selected: name === goalChosen })));
    lists.replaceChildren(el('p', { class: 'muted', text: 'The experiments above come from:' }), sqlToggle(seen.sql));
    if (!search.has('experiment')) return;
    result.replaceChildren(el('p', { class: 'muted', text: 'Counting…' }));
    const data = await api(`experiment?${params({ experiment: experiment.value, goal: goal.value, since: since.value, until: until.value })}`);
    const funnelLink = el('a', { id: 'experiment-funnel', href: `#funnel?${params({ breakdown: `experiment:${experiment.value}` })}`, text: 'The same experiment as a funnel, by variant' });
    result.replaceChildren(panel(`${experiment.value}: ${goal.value}`, el('div', {}, resultsTable(data.results.rows), el('p', {}, funnelLink)), data.results.sql, { id: 'experiment-results' }));
  } catch (error) {
    result.replaceChildren(errorBox(error));
  }
}

const percent = (value) => (value === null || value === undefined ? '—' : `${(value * 100).toLocaleString('en', { maximumFractionDigits: 1 })} %`);

function resultsTable(rows) {
  if (rows.length === 0) return el('p', { class: 'muted', text: 'Nobody was exposed in this range.' });
  const columns = [
    ['variant', (row) => (row.variant_name ?? row.variant_id) + (row.is_control ? ' (control)' : '')],
    ['exposed', (row) => formatValue(row.exposed)],
    ['converted', (row) => formatValue(row.converted)],
    ['rate', (row) => percent(row.conversion_rate)],
    ['uplift', (row) => percent(row.uplift)],
    ['95 % CI of the difference', (row) => (row.ci_low === null ? '—' : `${percent(row.ci_low)} to ${percent(row.ci_high)}`)],
    ['p-value', (row) => formatValue(row.p_value)],
  ];
  return el('div', { class: 'scroll' },
    el('table', {},
      el('thead', {}, el('tr', {}, columns.map(([name], i) => el('th', { scope: 'col', class: i > 0 ? 'number' : undefined, text: name })))),
      el('tbody', {}, rows.map((row) => el('tr', { 'data-variant': row.variant_id ?? '' },
        columns.map(([name, show], i) => el('td', { class: i > 0 ? 'number' : undefined, 'data-column': name, text: show(row) })))))));
}
