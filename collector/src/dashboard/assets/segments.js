// Segments: customers per RFM group and currency, the saved segments with their size, and a
// saved segment's members, each a link to their customer 360° view.
import { api, el, errorBox, formatValue, panel, params, table, view } from './page.js';

export async function showSegments(name) {
  const results = el('div', {}, el('p', { class: 'muted', text: 'Loading…' }));
  view.replaceChildren(el('h2', { text: 'Segments' }), results);
  try {
    const data = await api('segments');
    const saved = data.saved.rows.length === 0
      ? el('p', { class: 'muted', text: 'No saved segments yet: insert one into the segments table (docs/sql.md, Segments).' })
      : savedTable(data.saved.rows);
    const parts = [
      panel('RFM groups, per currency', table(data.rfm), data.rfm.sql, { id: 'segments-rfm' }),
      panel('Saved segments', saved, data.saved.sql, { id: 'segments-saved' }),
    ];
    if (name !== undefined) parts.push(await membersPanel(name));
    results.replaceChildren(...parts);
  } catch (error) {
    results.replaceChildren(errorBox(error));
  }
}

function savedTable(rows) {
  return el('div', { class: 'scroll' },
    el('table', {},
      el('thead', {}, el('tr', {}, ['name', 'description', 'members'].map((column) => el('th', { scope: 'col', class: column === 'members' ? 'number' : undefined, text: column })))),
      el('tbody', {}, rows.map((row) => el('tr', { 'data-segment': row.name },
        el('td', {}, el('a', { href: `#segments/${encodeURIComponent(row.name)}`, text: row.name })),
        el('td', { text: formatValue(row.description) }),
        row.error === null
          ? el('td', { class: 'number', 'data-column': 'members', text: formatValue(row.members) })
          : el('td', { class: 'error', 'data-column': 'members', text: `does not run: ${row.error}` }))))));
}

async function membersPanel(name) {
  try {
    const data = await api(`segments/${encodeURIComponent(name)}`);
    const rows = data.members.rows;
    const body = rows.length === 0 ? el('p', { class: 'muted', text: 'No members now.' }) : el('div', { class: 'scroll' },
      el('table', {},
        el('thead', {}, el('tr', {}, ['customer', 'userId', 'e-mail', 'last seen'].map((column) => el('th', { scope: 'col', text: column })))),
        el('tbody', {}, rows.map((row) => el('tr', { 'data-segment': row.name },
          el('td', {}, customerLink(row)),
          el('td', { text: formatValue(row.user_id) }),
          el('td', { text: formatValue(row.email) }),
          el('td', { text: formatValue(row.last_seen) }))))));
    return panel(`Members of ${name}`, body, data.members.sql, { id: 'segment-members' });
  } catch (error) {
    return panel(`Members of ${name}`, errorBox(error));
  }
}

/** A link to the customer's 360° view, by the first identifier the view can search by. */
function customerLink(row) {
  const kind = row.user_id ? 'userId' : row.email ? 'email' : row.anonymous_id ? 'anonymousId' : undefined;
  if (kind === undefined) return el('span', { text: row.customer_id });
  const value = { userId: row.user_id, email: row.email, anonymousId: row.anonymous_id }[kind];
  return el('a', { href: `#customers?${params({ [kind]: value })}`, text: row.customer_id });
}
