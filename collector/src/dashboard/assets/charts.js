// Line and bar charts over uPlot (MIT, served from this package: /dashboard/assets/uplot.js).
import uPlot from './uplot.js';

/** Series colours, each at least 4.5:1 against the white background. */
export const COLOURS = ['#1f4e9c', '#a4161a', '#1b6e3a', '#7a4b00', '#5b2a86', '#00616e', '#8a1c6b', '#3d3d3d'];

const charts = new Set();
addEventListener('resize', () => {
  for (const chart of charts) {
    if (!chart.root.isConnected) charts.delete(chart);
    else chart.setSize({ width: widthOf(chart.root.parentElement), height: chart.height });
  }
});

function widthOf(element) {
  return Math.max(260, element.clientWidth || 600);
}

/**
 * Draws a chart into `container`: `x` is a list of labels (dates as YYYY-MM-DD or any text),
 * `series` a list of { label, values } of the same length.
 */
export function drawChart(container, { kind = 'line', x, series, title }) {
  container.textContent = '';
  const dates = x.every((value) => /^\d{4}-\d{2}-\d{2}/.test(String(value)));
  const xs = dates ? x.map((value) => Date.parse(String(value).slice(0, 10) + 'T00:00:00Z') / 1000) : x.map((_value, index) => index);
  const bars = kind === 'bar' ? uPlot.paths.bars({ size: [Math.min(0.9, 0.7 / Math.max(1, series.length) + 0.2), 80] }) : undefined;
  const options = {
    title,
    width: widthOf(container),
    height: 260,
    scales: { x: { time: dates } },
    axes: [
      dates ? { stroke: '#1a1a1a' } : { stroke: '#1a1a1a', values: (_u, ticks) => ticks.map((tick) => (Number.isInteger(tick) ? String(x[tick] ?? '') : '')) },
      { stroke: '#1a1a1a' },
    ],
    series: [
      { label: dates ? 'day' : 'x', value: dates ? undefined : (_u, index) => (index == null ? '' : String(x[index] ?? '')) },
      ...series.map((one, index) => ({
        label: one.label,
        stroke: COLOURS[index % COLOURS.length],
        width: 2,
        fill: kind === 'bar' ? COLOURS[index % COLOURS.length] + 'cc' : undefined,
        paths: bars,
        points: { show: kind === 'line' && xs.length < 60 },
      })),
    ],
  };
  const chart = new uPlot(options, [xs, ...series.map((one) => one.values.map((value) => (value === null || value === undefined ? null : Number(value))))], container);
  charts.add(chart);
  return chart;
}

/**
 * Turns rows of (x, group, value) into one series per group (the `limit` largest groups),
 * e.g. events per day by name.
 */
export function pivot(rows, xKey, groupKey, valueKey, limit = 6) {
  const totals = new Map();
  for (const row of rows) totals.set(row[groupKey], (totals.get(row[groupKey]) ?? 0) + Number(row[valueKey]));
  const groups = [...totals.entries()].sort((a, b) => b[1] - a[1]).slice(0, limit).map(([group]) => group);
  const x = [...new Set(rows.map((row) => String(row[xKey])))].sort();
  const series = groups.map((group) => {
    const byX = new Map(rows.filter((row) => row[groupKey] === group).map((row) => [String(row[xKey]), Number(row[valueKey])]));
    return { label: String(group), values: x.map((at) => byX.get(at) ?? 0) };
  });
  return { x, series };
}
