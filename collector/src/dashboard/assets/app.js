// The dashboard's page: plain DOM modules, no framework. Each panel shows the SQL it ran (the
// server returns it with the rows) under a "SQL" toggle. This module logs in and routes.
import { showCustomers } from './customers.js';
import { showExperiments } from './experiments.js';
import { showFunnel } from './funnel.js';
import { showOverview, stopLive } from './overview.js';
import { api, setCsrfToken, view, whenLoggedOut } from './page.js';
import { showQueries } from './queries.js';
import { showSegments } from './segments.js';
import { showTrends } from './trends.js';

const nav = document.getElementById('nav');

function showLogin() {
  stopLive();
  nav.hidden = true;
  view.replaceChildren();
  document.getElementById('login').hidden = false;
  document.getElementById('password').focus();
}

whenLoggedOut(showLogin);

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
  setCsrfToken(answer.csrfToken);
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
  stopLive();
  const hash = location.hash.slice(1) || 'overview';
  const [path, query = ''] = hash.split('?');
  const [panelName, id] = path.split('/');
  for (const link of nav.querySelectorAll('a')) {
    if (link.getAttribute('href') === `#${panelName}`) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  if (panelName === 'funnel') return showFunnel(new URLSearchParams(query).get('breakdown') ?? undefined);
  if (panelName === 'trends') return showTrends();
  if (panelName === 'customers') {
    const search = new URLSearchParams(query);
    const kind = ['userId', 'email', 'anonymousId'].find((one) => search.has(one));
    return showCustomers(kind ? { kind, value: search.get(kind) } : undefined);
  }
  if (panelName === 'segments') return showSegments(id === undefined ? undefined : decodeURIComponent(id));
  if (panelName === 'experiments') return showExperiments(new URLSearchParams(query));
  if (panelName === 'queries') return showQueries(id);
  return showOverview();
}
addEventListener('hashchange', () => {
  if (!nav.hidden) route();
});

try {
  const session = await api('session');
  setCsrfToken(session.csrfToken);
  nav.hidden = false;
  route();
} catch {
  showLogin();
}
