// Trends per UTC day: active customers, events by name, sessions by source.
import { drawChart, pivot } from './charts.js';
import { api, dataToggle, defaultRange, el, errorBox, panel, params, rangeControls, view } from './page.js';

export async function showTrends(range = defaultRange()) {
  const results = el('div', {}, el('p', { class: 'muted', text: 'Loading…' }));
  view.replaceChildren(el('h2', { text: 'Trends' }), rangeControls(range, showTrends), results);
  try {
    const data = await api(`trends?${params(range)}`);
    const dauChart = el('div', { class: 'chart' });
    const eventsChart = el('div', { class: 'chart' });
    const sessionsChart = el('div', { class: 'chart' });
    results.replaceChildren(
      panel('Daily active customers', el('div', {}, dauChart, dataToggle(data.dailyActive)), data.dailyActive.sql),
      panel('Events per day, by name', el('div', {}, eventsChart, dataToggle(data.eventsPerDay)), data.eventsPerDay.sql),
      panel('Sessions per day, by source', el('div', {}, sessionsChart, dataToggle(data.sessionsPerDay)), data.sessionsPerDay.sql));
    drawChart(dauChart, { x: data.dailyActive.rows.map((row) => row.day), series: [{ label: 'customers', values: data.dailyActive.rows.map((row) => row.customers) }] });
    drawChart(eventsChart, pivot(data.eventsPerDay.rows, 'day', 'name', 'events'));
    drawChart(sessionsChart, { kind: 'bar', ...pivot(data.sessionsPerDay.rows, 'day', 'source', 'sessions') });
  } catch (error) {
    results.replaceChildren(errorBox(error));
  }
}
