// Customer 360°: found by userId, e-mail or anonymousId; every part with its SQL.
import { api, el, errorBox, formatValue, panel, params, table, view } from './page.js';

export async function showCustomers(search) {
  const kind = el('select', { id: 'customer-kind', 'aria-label': 'Search by' },
    [['userId', 'userId'], ['email', 'e-mail'], ['anonymousId', 'anonymousId']].map(([value, text]) => el('option', { value, text, selected: search?.kind === value })));
  const value = el('input', { id: 'customer-value', type: 'search', required: true, value: search?.value ?? '', 'aria-label': 'Identifier' });
  const results = el('div', { id: 'customer-result' });
  const form = el('form', { class: 'controls', onsubmit: (event) => {
    event.preventDefault();
    location.hash = `#customers?${params({ [kind.value]: value.value.trim() })}`;
  } }, el('label', {}, 'Search by', kind), el('label', {}, 'Identifier', value), el('button', { type: 'submit' }, 'Find'));
  view.replaceChildren(el('h2', { text: 'Customer 360°' }), form, results);
  if (!search?.value) return;
  results.replaceChildren(el('p', { class: 'muted', text: 'Looking…' }));
  try {
    const data = await api(`customer?${params({ [search.kind]: search.value })}`);
    const profiles = data.profile.rows.map((row) => el('dl', { class: 'profile' },
      ['customer_id', 'user_ids', 'email', 'first_seen', 'last_seen', 'identified_at', 'events', 'devices', 'consent']
        .map((key) => [el('dt', { text: key }), el('dd', { 'data-field': key, text: formatValue(row[key]) })])));
    const traits = data.profile.rows.map((row) => el('pre', { class: 'scroll', text: JSON.stringify(row.traits, null, 2) }));
    results.replaceChildren(
      el('div', { class: 'grid' },
        panel('Profile', el('div', {}, profiles), data.profile.sql, { id: 'customer-profile' }),
        panel('Traits', el('div', {}, traits), data.profile.sql)),
      panel('Found by', el('p', { class: 'muted', text: `${data.customerIds.length} customer${data.customerIds.length === 1 ? '' : 's'} with this ${search.kind === 'email' ? 'e-mail' : search.kind}` }), data.search.sql, { id: 'customer-search' }),
      panel('Segments (RFM groups, saved segments)',
        data.segments.error ? el('p', { class: 'error', text: `A saved segment's definition does not run, so these cannot be listed (the Segments page shows which): ${data.segments.error}` }) : table(data.segments),
        data.segments.sql, { id: 'customer-segments' }),
      panel('Identities', table(data.identities), data.identities.sql, { id: 'customer-identities' }),
      panel('Merge history', table(data.merges), data.merges.sql),
      panel('Consent history', table(data.consent), data.consent.sql),
      panel('Orders', table(data.orders), data.orders.sql, { id: 'customer-orders' }),
      panel('Timeline (all devices, newest first)', table(data.timeline), data.timeline.sql, { id: 'customer-timeline' }));
  } catch (error) {
    results.replaceChildren(errorBox(error));
  }
}
