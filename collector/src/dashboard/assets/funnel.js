// Funnel builder: steps from the event names seen, a range, a window and a breakdown; a bar
// per step with its customers, conversion and median time.
import { api, defaultRange, el, errorBox, formatValue, panel, params, sqlToggle, view } from './page.js';

/** `initialBreakdown`: a breakdown to choose at once, e.g. `experiment:checkout-button` from the experiments panel. */
export async function showFunnel(initialBreakdown) {
  const range = defaultRange();
  let names = [];
  const status = el('p', { class: 'muted', text: 'Loading event names…' });
  const steps = el('div', { class: 'steps', id: 'funnel-steps' });
  const result = el('div', { id: 'funnel-result' });
  let namesSql = '';
  const addStep = (value) => {
    const index = steps.children.length + 1;
    const select = el('select', { id: `step-${index}`, 'aria-label': `Step ${index}` },
      el('option', { value: '', text: '(choose an event)' }), names.map((name) => el('option', { value: name, text: name, selected: name === value })));
    const remove = el('button', { type: 'button', class: 'secondary', 'aria-label': `Remove step ${index}`, onclick: () => {
      row.remove();
      [...steps.children].forEach((child, i) => {
        child.querySelector('span').textContent = `Step ${i + 1}`;
        child.querySelector('select').setAttribute('aria-label', `Step ${i + 1}`);
        child.querySelector('select').id = `step-${i + 1}`;
      });
    } }, 'Remove');
    const row = el('div', { class: 'step' }, el('span', { text: `Step ${index}` }), select, remove);
    steps.append(row);
  };
  const since = el('input', { type: 'date', id: 'funnel-since', value: range.since });
  const until = el('input', { type: 'date', id: 'funnel-until', value: range.until });
  const within = el('select', { id: 'funnel-within' }, ['1 hours', '24 hours', '7 days', '30 days'].map((value) => el('option', { value, text: value.replace('1 hours', '1 hour'), selected: value === '7 days' })));
  const breakdown = el('select', { id: 'funnel-breakdown' }, el('option', { value: '', text: '(none)' }),
    ['utm_source', 'utm_medium', 'utm_campaign', 'device_type', 'browser', 'os', 'source_id'].map((value) => el('option', { value, text: value })));
  // Each experiment seen in `Experiment Viewed` events: its customers by the variant they had seen.
  const experiments = el('optgroup', { label: 'Experiment variant' });
  breakdown.append(experiments);
  const chooseExperiment = (id) => {
    const value = `experiment:${id}`;
    if (![...breakdown.options].some((option) => option.value === value)) experiments.append(el('option', { value, text: value }));
    breakdown.value = value;
  };
  let latest = 0;
  const form = el('form', { onsubmit: async (event) => {
    event.preventDefault();
    const chosen = [...steps.querySelectorAll('select')].map((select) => select.value).filter(Boolean);
    // Only the latest request draws: an earlier answer arriving late is dropped.
    const mine = ++latest;
    result.replaceChildren(el('p', { class: 'muted', text: 'Counting…' }));
    try {
      const data = await api(`funnel?${params({ step: chosen, since: since.value, until: until.value, within: within.value, breakdown: breakdown.value })}`);
      if (mine === latest) result.replaceChildren(funnelResult(data.funnel, breakdown.value));
    } catch (error) {
      if (mine === latest) result.replaceChildren(errorBox(error));
    }
  } },
  steps,
  el('div', { class: 'controls' },
    el('button', { type: 'button', class: 'secondary', id: 'add-step', onclick: () => addStep('') }, 'Add a step'),
    el('label', {}, 'First step from', since), el('label', {}, 'until (not included)', until),
    el('label', {}, 'Completed within', within), el('label', {}, 'Breakdown by', breakdown),
    el('button', { type: 'submit', id: 'run-funnel' }, 'Show funnel')));
  const namesToggle = el('div');
  view.replaceChildren(el('h2', { text: 'Funnel' }), status, form, result, namesToggle);
  try {
    const seen = await api('experiments');
    for (const row of seen.rows) experiments.append(el('option', { value: `experiment:${row.experiment_id}`, text: `experiment:${row.experiment_id}` }));
    if (initialBreakdown?.startsWith('experiment:')) chooseExperiment(initialBreakdown.slice('experiment:'.length));
    const data = await api('event-names');
    names = data.rows.map((row) => row.event);
    namesSql = data.sql;
    status.textContent = names.length ? 'Choose the steps in order; events in between do not matter.' : 'No track events yet: send some, then come back.';
    const defaults = ['Product Viewed', 'Product Added', 'Checkout Started', 'Order Completed'].filter((name) => names.includes(name));
    for (const name of defaults.length >= 2 ? defaults : names.slice(0, 2)) addStep(name);
    // The shop's checkout is there: show it at once (the visit just made, for a newcomer).
    if (defaults.length === 4) form.requestSubmit();
    namesToggle.replaceChildren(el('p', { class: 'muted', text: 'The event names above come from:' }), sqlToggle(namesSql));
  } catch (error) {
    status.replaceChildren(errorBox(error));
  }
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return '';
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} days`;
}

function funnelResult(result, breakdown) {
  const groups = new Map();
  for (const row of result.rows) {
    const key = row.breakdown_value ?? (breakdown ? '(none)' : 'all');
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(row);
  }
  const sections = [...groups.entries()].map(([group, rows]) => {
    const first = Math.max(1, rows[0]?.customers ?? 0);
    return el('div', { class: 'funnel-group' },
      breakdown ? el('h3', { text: `${breakdown} = ${group}` }) : null,
      el('div', { class: 'bars', role: 'list' }, rows.map((row) => el('div', { class: 'bar-row', role: 'listitem', 'data-step': row.step },
        el('div', {}, el('strong', { text: `${row.step}. ${row.event}` }),
          el('div', { class: 'bar-note', text: row.step === 1 ? 'entered' : `${(Number(row.conversion_from_previous) * 100).toFixed(1)} % of the step before${row.median_seconds_from_previous == null ? '' : `, median ${duration(row.median_seconds_from_previous)}`}` })),
        el('div', { class: 'bar-track' }, el('div', { class: 'bar', style: `width: ${Math.max(3, (100 * row.customers) / first)}%`, 'data-customers': row.customers,
          'aria-label': `${row.customers} customers, ${(Number(row.conversion_from_first) * 100).toFixed(1)} % of the first step` },
        `${formatValue(row.customers)} · ${(Number(row.conversion_from_first) * 100).toFixed(1)} %`))))));
  });
  return panel('Customers at each step', el('div', {}, sections.length ? sections : el('p', { class: 'muted', text: 'Nobody entered this funnel in the range.' })), result.sql);
}
