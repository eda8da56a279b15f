// Overview: totals beside the previous range, revenue per currency, top pages, referrers and
// UTM sources, and a live count of events arriving.
import { api, defaultRange, el, errorBox, formatValue, panel, params, rangeControls, table, view } from './page.js';

let liveTimer;

/** Stops the live count (when another panel opens). */
export function stopLive() {
  clearInterval(liveTimer);
}

export async function showOverview(range = defaultRange()) {
  stopLive();
  const results = el('div', {}, el('p', { class: 'muted', text: 'Loading…' }));
  const live = el('span', { class: 'live', id: 'live-count', text: '…' });
  view.replaceChildren(el('h2', { text: 'Overview' }), rangeControls(range, showOverview),
    el('p', {}, 'Events arriving in the last minute: ', live), results);
  const tick = async () => {
    try {
      const answer = await api('live');
      live.textContent = formatValue(answer.rows[0]?.last_minute ?? 0);
    } catch { /* shown on the next tick */ }
  };
  tick();
  liveTimer = setInterval(tick, 5_000);
  try {
    const data = await api(`overview?${params(range)}`);
    const current = data.totals.rows.find((row) => row.period === 'current') ?? {};
    const previous = data.totals.rows.find((row) => row.period === 'previous') ?? {};
    const tile = (label, key) => el('div', { class: 'tile', 'data-metric': key },
      el('div', { class: 'muted', text: label }), el('div', { class: 'value', text: formatValue(current[key]) }),
      el('div', { class: 'previous', text: `previous range: ${formatValue(previous[key])}` }));
    const revenue = data.revenue.rows.map((row) => el('div', { class: 'tile', 'data-metric': `revenue-${row.currency}` },
      el('div', { class: 'muted', text: `Revenue (${row.currency})` }), el('div', { class: 'value', text: formatValue(row.revenue) }),
      el('div', { class: 'previous', text: `previous range: ${formatValue(row.previous_revenue)}` })));
    results.replaceChildren(
      panel('Totals', el('div', { class: 'tiles' }, tile('Visitors', 'visitors'), tile('Customers who ordered', 'customers'), tile('Events', 'events'), tile('Orders', 'orders')), data.totals.sql),
      panel('Revenue per currency', revenue.length ? el('div', { class: 'tiles' }, revenue) : el('p', { class: 'muted', text: 'No orders.' }), data.revenue.sql),
      el('div', { class: 'grid' },
        panel('Top pages', table(data.pages), data.pages.sql),
        panel('Top referrers', table(data.referrers), data.referrers.sql),
        panel('Top UTM sources', table(data.utmSources), data.utmSources.sql)));
  } catch (error) {
    results.replaceChildren(errorBox(error));
  }
}
