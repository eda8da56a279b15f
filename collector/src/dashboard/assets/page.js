// What every panel of the dashboard's page uses: DOM helpers, the API (with the session's
// CSRF token on writes), the "SQL" toggle and the range controls.

/** Where panels draw. */
export const view = document.getElementById('view');
let csrfToken = '';
let onLoggedOut = () => {};

/** The session's CSRF token, sent with every write. */
export function setCsrfToken(token) {
  csrfToken = token;
}

/** What to do when the API says the session is gone (401). */
export function whenLoggedOut(handler) {
  onLoggedOut = handler;
}

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else if (name === 'text') node.textContent = value;
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) if (child !== undefined && child !== null) node.append(child);
  return node;
}

export function formatValue(value) {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'number') return Number.isInteger(value) ? value.toLocaleString('en') : value.toLocaleString('en', { maximumFractionDigits: 4 });
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

export function table(result, caption) {
  const columns = result.columns;
  if (result.rows.length === 0) return el('p', { class: 'muted', text: 'No rows.' });
  const numeric = columns.map((column) => result.rows.every((row) => row[column] === null || typeof row[column] === 'number'));
  return el('div', { class: 'scroll' },
    el('table', {},
      caption ? el('caption', { class: 'muted', text: caption }) : null,
      el('thead', {}, el('tr', {}, columns.map((column, i) => el('th', { scope: 'col', class: numeric[i] ? 'number' : undefined, text: column })))),
      el('tbody', {}, result.rows.map((row) => el('tr', {}, columns.map((column, i) => el('td', { class: numeric[i] ? 'number' : undefined, text: formatValue(row[column]) })))))));
}

/** The "SQL" toggle: the exact query that ran, with a button that copies it. */
export function sqlToggle(sql) {
  const pre = el('pre', { tabindex: '0' }, el('code', { text: sql + ';' }));
  const status = el('span', { class: 'muted', role: 'status' });
  const copy = el('button', { type: 'button', class: 'secondary', onclick: async () => {
    try {
      await navigator.clipboard.writeText(sql + ';');
      status.textContent = ' copied';
    } catch {
      const range = document.createRange();
      range.selectNodeContents(pre);
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      status.textContent = ' selected: press Ctrl+C';
    }
  } }, 'Copy');
  return el('details', { class: 'sql' }, el('summary', {}, 'SQL'), pre, copy, status);
}

export function panel(title, body, sql, attributes = {}) {
  return el('section', { class: 'panel', ...attributes }, el('h2', { text: title }), body, sql ? sqlToggle(sql) : null);
}

export function errorBox(error) {
  return el('p', { class: 'error', role: 'alert', text: error.message });
}

// ---------- API ----------
export async function api(path, { method = 'GET', body } = {}) {
  const response = await fetch(`/dashboard/api/${path}`, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? {} : { 'content-type': 'application/json', 'x-tally-csrf': csrfToken },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({}));
  if (response.status === 401) {
    onLoggedOut();
    throw new Error(answer.error?.message ?? 'log in first');
  }
  if (!response.ok) throw new Error(answer.error?.message ?? `HTTP ${response.status}`);
  return answer;
}

// ---------- ranges ----------
export function isoDay(date) {
  return date.toISOString().slice(0, 10);
}
export function defaultRange(days = 30) {
  const until = new Date(Date.now() + 86_400_000);
  return { since: isoDay(new Date(until.getTime() - days * 86_400_000)), until: isoDay(until) };
}
export function rangeControls(range, onChange) {
  const since = el('input', { type: 'date', id: 'since', value: range.since, required: true });
  const until = el('input', { type: 'date', id: 'until', value: range.until, required: true });
  const form = el('form', { class: 'controls', onsubmit: (event) => {
    event.preventDefault();
    onChange({ since: since.value, until: until.value });
  } },
  el('label', {}, 'From', since), el('label', {}, 'Until (not included)', until), el('button', { type: 'submit' }, 'Show'));
  return form;
}
export function params(values) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) {
    for (const one of Array.isArray(value) ? value : [value]) if (one !== undefined && one !== '') search.append(name, one);
  }
  return search.toString();
}

export function dataToggle(result) {
  return el('details', {}, el('summary', {}, 'Data'), table(result));
}
