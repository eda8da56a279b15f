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

function xs0(labels) {
  return labels.map((_label, index) => index);
}

function widthOf(element) {
  return Math.max(260, element.clientWidth || 600);
}

/**
 * Draws a chart into `container`: `x` is a list of labels (days as YYYY-MM-DD, or any text),
 * one per point, evenly spaced; `series` a list of { label, values } of the same length.
 */
export function drawChart(container, { kind = 'line', x, series, title }) {
  container.textContent = '';
  const labels = x.map((value) => String(value ?? ''));
  const numbers = series.map((one) => one.values.map((value) => (value === null || value === undefined ? null : Number(value))));
  // Several bar series are stacked (each drawn to the running total, the tallest first, so
  // none hides another); the legend still shows each series' own value.
  const stacked = kind === 'bar' && series.length > 1;
  const drawn = stacked ? numbers.map((_values, k) => xs0(labels).map((i) => numbers.slice(0, k + 1).reduce((sum, values) => sum + (values[i] ?? 0), 0))) : numbers;
  const order = stacked ? series.map((_one, k) => k).reverse() : series.map((_one, k) => k);
  const xs = xs0(labels);
  const bars = kind === 'bar' ? uPlot.paths.bars({ size: [Math.min(0.9, 0.7 / Math.max(1, series.length) + 0.2), 80] }) : undefined;
  const options = {
    title,
    width: widthOf(container),
    height: 260,
    scales: {
      x: { time: false, range: () => [-0.5, Math.max(0.5, labels.length - 0.5)] },
      // From zero: a bar or a count read from a cut axis misleads.
      y: { range: (_u, min, max) => [Math.min(0, min ?? 0), (max ?? 0) > 0 ? max * 1.05 : 1] },
    },
    axes: [
      { stroke: '#1a1a1a', space: 70, incrs: [1, 2, 5, 7, 10, 14, 20, 30, 50, 100, 200, 500, 1000],
        values: (_u, ticks) => ticks.map((tick) => (Number.isInteger(tick) ? labels[tick] ?? '' : '')) },
      { stroke: '#1a1a1a' },
    ],
    series: [
      { label: 'x', value: (_u, index) => (index == null ? '' : labels[index] ?? '') },
      ...order.map((index) => ({
        label: series[index].label,
        stroke: COLOURS[index % COLOURS.length],
        width: 2,
        fill: kind === 'bar' ? COLOURS[index % COLOURS.length] : undefined,
        paths: bars,
        points: { show: kind === 'line' && xs.length < 60 },
        value: (_u, _value, _seriesIndex, at) => (at == null || numbers[index][at] == null ? '--' : String(numbers[index][at])),
      })),
    ],
  };
  const chart = new uPlot(options, [xs, ...order.map((index) => drawn[index])], container);
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
