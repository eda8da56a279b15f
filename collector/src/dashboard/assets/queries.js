// Saved queries: a SQL editor run as the read-only role, its result as a table or a chart,
// saved under a name and shared by its link.
import { drawChart } from './charts.js';
import { api, dataToggle, el, errorBox, formatValue, panel, table, view } from './page.js';

const EXAMPLE_QUERY = "select (completed_at at time zone 'UTC')::date::text as day, count(*) as orders, sum(revenue) as revenue\n  from orders\n group by 1\n order by 1";

export async function showQueries(id) {
  const list = el('ul', { id: 'saved-list' });
  const editor = el('textarea', { id: 'sql-editor', 'aria-label': 'SQL', spellcheck: 'false' });
  // The editor holds its text from the start, and is read-only while a saved query loads, so
  // nothing typed meanwhile is overwritten.
  editor.value = id ? '' : EXAMPLE_QUERY;
  editor.readOnly = Boolean(id);
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
      editor.readOnly = false;
      await run();
    } catch (error) {
      editor.readOnly = false;
      result.replaceChildren(errorBox(error));
    }
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
