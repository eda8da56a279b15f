// The dashboard's page: plain DOM, no framework. Each panel shows the SQL it ran (the server
// returns it with the rows) under a "SQL" toggle.
import { drawChart, pivot } from './charts.js';

const view = document.getElementById('view');
const nav = document.getElementById('nav');
let csrfToken = '';
let liveTimer;

// ---------- small DOM helpers ----------
function el(tag, attributes = {}, ...children) {
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

function formatValue(value) {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'number') return Number.isInteger(value) ? value.toLocaleString('en') : value.toLocaleString('en', { maximumFractionDigits: 4 });
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function table(result, caption) {
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
function sqlToggle(sql) {
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

function panel(title, body, sql, attributes = {}) {
  return el('section', { class: 'panel', ...attributes }, el('h2', { text: title }), body, sql ? sqlToggle(sql) : null);
}

function errorBox(error) {
  return el('p', { class: 'error', role: 'alert', text: error.message });
}

// ---------- API ----------
async function api(path, { method = 'GET', body } = {}) {
  const response = await fetch(`/dashboard/api/${path}`, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? {} : { 'content-type': 'application/json', 'x-tally-csrf': csrfToken },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({}));
  if (response.status === 401) {
    showLogin();
    throw new Error(answer.error?.message ?? 'log in first');
  }
  if (!response.ok) throw new Error(answer.error?.message ?? `HTTP ${response.status}`);
  return answer;
}

// ---------- ranges ----------
function isoDay(date) {
  return date.toISOString().slice(0, 10);
}
function defaultRange(days = 30) {
  const until = new Date(Date.now() + 86_400_000);
  return { since: isoDay(new Date(until.getTime() - days * 86_400_000)), until: isoDay(until) };
}
function rangeControls(range, onChange) {
  const since = el('input', { type: 'date', id: 'since', value: range.since, required: true });
  const until = el('input', { type: 'date', id: 'until', value: range.until, required: true });
  const form = el('form', { class: 'controls', onsubmit: (event) => {
    event.preventDefault();
    onChange({ since: since.value, until: until.value });
  } },
  el('label', {}, 'From', since), el('label', {}, 'Until (not included)', until), el('button', { type: 'submit' }, 'Show'));
  return form;
}
function params(values) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) {
    for (const one of Array.isArray(value) ? value : [value]) if (one !== undefined && one !== '') search.append(name, one);
  }
  return search.toString();
}

// ---------- overview ----------
async function showOverview(range = defaultRange()) {
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

// ---------- funnel ----------
async function showFunnel() {
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

// ---------- trends ----------
async function showTrends(range = defaultRange()) {
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

function dataToggle(result) {
  return el('details', {}, el('summary', {}, 'Data'), table(result));
}

// ---------- customer 360° ----------
async function showCustomers(search) {
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
      panel('Identities', table(data.identities), data.identities.sql, { id: 'customer-identities' }),
      panel('Merge history', table(data.merges), data.merges.sql),
      panel('Consent history', table(data.consent), data.consent.sql),
      panel('Orders', table(data.orders), data.orders.sql, { id: 'customer-orders' }),
      panel('Timeline (all devices, newest first)', table(data.timeline), data.timeline.sql, { id: 'customer-timeline' }));
  } catch (error) {
    results.replaceChildren(errorBox(error));
  }
}

// ---------- saved queries ----------
async function showQueries(id) {
  const list = el('ul', { id: 'saved-list' });
  const editor = el('textarea', { id: 'sql-editor', 'aria-label': 'SQL', spellcheck: 'false' });
  const chart = el('select', { id: 'sql-chart' }, ['table', 'line', 'bar'].map((value) => el('option', { value, text: value })));
  const name = el('input', { id: 'query-name', type: 'text', 'aria-label': 'Name' });
  const message = el('p', { role: 'status', id: 'query-message', class: 'muted' });
  const result = el('div', { id: 'sql-result' });
  const run = async () => {
    result.replaceChildren(el('p', { class: 'muted', text: 'Running…' }));
    try {
      const data = await api('sql', { method: 'POST', body: { sql: editor.value } });
      renderQueryResult(result, data, chart.value);
    } catch (error) {
      result.replaceChildren(errorBox(error));
    }
  };
  const save = async () => {
    try {
      const saved = await api('queries', { method: 'POST', body: { name: name.value, sql: editor.value, chart: chart.value } });
      const link = `${location.origin}/dashboard#queries/${saved.id}`;
      message.replaceChildren('Saved. Share it: ', el('a', { href: link, id: 'share-link', text: link }));
      history.replaceState(null, '', `#queries/${saved.id}`);
      await loadList();
    } catch (error) {
      message.replaceChildren(errorBox(error));
    }
  };
  const loadList = async () => {
    const data = await api('queries');
    list.replaceChildren(...data.queries.map((query) => el('li', {}, el('a', { href: `#queries/${query.id}`, text: query.name }), el('span', { class: 'muted', text: ` (${query.chart})` }))));
    if (data.queries.length === 0) list.replaceChildren(el('li', { class: 'muted', text: 'None yet.' }));
  };
  editor.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      run();
    }
  });
  view.replaceChildren(el('h2', { text: 'Saved queries' }),
    el('div', { class: 'panel' }, el('h3', { text: 'Saved' }), list),
    el('div', { class: 'panel' },
      el('p', { class: 'muted', text: 'One read-only statement, run as the tally_dashboard role (Ctrl+Enter runs it).' }),
      editor,
      el('div', { class: 'controls' },
        el('label', {}, 'Show as', chart),
        el('button', { type: 'button', id: 'run-query', onclick: run }, 'Run'),
        el('label', {}, 'Name', name),
        el('button', { type: 'button', class: 'secondary', id: 'save-query', onclick: save }, 'Save')),
      message),
    result);
  await loadList().catch((error) => list.replaceChildren(errorBox(error)));
  if (id) {
    try {
      const query = await api(`queries/${encodeURIComponent(id)}`);
      editor.value = query.sql;
      chart.value = query.chart;
      name.value = query.name;
      await run();
    } catch (error) {
      result.replaceChildren(errorBox(error));
    }
  } else {
    editor.value = 'select (completed_at at time zone \'UTC\')::date::text as day, count(*) as orders, sum(revenue) as revenue\n  from orders\n group by 1\n order by 1';
  }
}

function renderQueryResult(container, data, kind) {
  const parts = [];
  if (data.truncated) parts.push(el('p', { class: 'muted', text: 'The first 1,000 rows are shown.' }));
  if (kind !== 'table' && data.columns.length >= 2 && data.rows.length > 0) {
    const chartBox = el('div', { class: 'chart', id: 'query-chart' });
    parts.push(chartBox);
    container.replaceChildren(panel('Result', el('div', {}, parts, dataToggle(data)), data.sql));
    const [xColumn, ...rest] = data.columns;
    const numeric = rest.filter((column) => data.rows.some((row) => typeof row[column] === 'number'));
    drawChart(chartBox, { kind, x: data.rows.map((row) => formatValue(row[xColumn])), series: numeric.map((column) => ({ label: column, values: data.rows.map((row) => row[column]) })) });
    return;
  }
  container.replaceChildren(panel('Result', el('div', {}, parts, table(data)), data.sql));
}

// ---------- login and routing ----------
function showLogin() {
  clearInterval(liveTimer);
  nav.hidden = true;
  view.replaceChildren();
  document.getElementById('login').hidden = false;
  document.getElementById('password').focus();
}

document.getElementById('login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const error = document.getElementById('login-error');
  error.textContent = '';
  const response = await fetch('/dashboard/login', {
    method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ password: document.getElementById('password').value }),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    error.textContent = answer.error?.message ?? `HTTP ${response.status}`;
    return;
  }
  csrfToken = answer.csrfToken;
  document.getElementById('password').value = '';
  document.getElementById('login').hidden = true;
  nav.hidden = false;
  route();
});

document.getElementById('logout').addEventListener('click', async () => {
  await api('logout', { method: 'POST', body: {} }).catch(() => {});
  showLogin();
});

function route() {
  clearInterval(liveTimer);
  const hash = location.hash.slice(1) || 'overview';
  const [path, query = ''] = hash.split('?');
  const [panelName, id] = path.split('/');
  for (const link of nav.querySelectorAll('a')) {
    if (link.getAttribute('href') === `#${panelName}`) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  if (panelName === 'funnel') return showFunnel();
  if (panelName === 'trends') return showTrends();
  if (panelName === 'customers') {
    const search = new URLSearchParams(query);
    const kind = ['userId', 'email', 'anonymousId'].find((one) => search.has(one));
    return showCustomers(kind ? { kind, value: search.get(kind) } : undefined);
  }
  if (panelName === 'queries') return showQueries(id);
  return showOverview();
}
addEventListener('hashchange', () => {
  if (!nav.hidden) route();
});

try {
  const session = await api('session');
  csrfToken = session.csrfToken;
  nav.hidden = false;
  route();
} catch {
  showLogin();
}
