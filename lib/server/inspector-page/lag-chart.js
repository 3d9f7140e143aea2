// Each global secondary index's lag behind its table (IndexLag: pending
// changes and the oldest one's age), kept for the last HISTORY_MAX
// snapshots and drawn as one line per index: a rising line is an index
// falling behind, a line back at zero one that caught up.
import { el, empty, formatCount, formatMs, nodeColour, replaceChildren, svg } from './dom.js';

const HISTORY_MAX = 120;
const WIDTH = 420;
const HEIGHT = 200;
const PLOT = { left: 44, right: WIDTH - 8, top: 10, bottom: HEIGHT - 24 };

/** index name -> [{ atMs, pendingChanges, oldestPendingAgeMs }], oldest first, bounded. */
const history = new Map();

function remember(snapshotAtMs, lag) {
  const seen = new Set();
  for (const entry of lag ?? []) {
    const name = `${entry.table} / ${entry.index}`;
    seen.add(name);
    let points = history.get(name);
    if (points === undefined) history.set(name, (points = []));
    points.push({ atMs: snapshotAtMs, pendingChanges: entry.pendingChanges, oldestPendingAgeMs: entry.oldestPendingAgeMs });
    if (points.length > HISTORY_MAX) points.shift();
  }
  for (const name of history.keys()) if (!seen.has(name)) history.delete(name);
}

function chart() {
  const series = [...history.entries()];
  const firstMs = Math.min(...series.map(([, points]) => points[0].atMs));
  const lastMs = Math.max(...series.map(([, points]) => points[points.length - 1].atMs));
  const peak = Math.max(1, ...series.flatMap(([, points]) => points.map((p) => p.pendingChanges)));
  const x = (ms) => PLOT.left + (lastMs === firstMs ? 1 : (ms - firstMs) / (lastMs - firstMs)) * (PLOT.right - PLOT.left);
  const y = (value) => PLOT.bottom - (value / peak) * (PLOT.bottom - PLOT.top);
  const lines = series.map(([name, points], i) => svg('polyline', {
    points: points.map((p) => `${x(p.atMs).toFixed(1)},${y(p.pendingChanges).toFixed(1)}`).join(' '),
    fill: 'none', stroke: nodeColour(i), 'stroke-width': 2, class: 'lag-line', 'data-index': name,
  }));
  return svg('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: 'lag-chart', 'data-chart': 'index-lag', role: 'img' },
    svg('line', { x1: PLOT.left, x2: PLOT.right, y1: PLOT.bottom, y2: PLOT.bottom, class: 'axis' }),
    svg('line', { x1: PLOT.left, x2: PLOT.left, y1: PLOT.top, y2: PLOT.bottom, class: 'axis' }),
    svg('g', { class: 'axis' },
      svg('text', { x: PLOT.left - 4, y: PLOT.top + 8, 'text-anchor': 'end', class: 'axis-label' }, formatCount(peak)),
      svg('text', { x: PLOT.left - 4, y: PLOT.bottom, 'text-anchor': 'end', class: 'axis-label' }, '0'),
      svg('text', { x: PLOT.left, y: HEIGHT - 6, class: 'axis-label' }, `${Math.round((lastMs - firstMs) / 1000)} s ago`),
      svg('text', { x: PLOT.right, y: HEIGHT - 6, 'text-anchor': 'end', class: 'axis-label' }, 'now')),
    lines);
}

export function renderIndexLag(snapshot) {
  const body = document.getElementById('lag-body');
  remember(snapshot.atMs, snapshot.indexLag);
  if (snapshot.indexLag === null || history.size === 0) {
    replaceChildren(body, empty('index-lag', 'no indexes: a global secondary index shows its pending changes here while it catches up.'));
    return;
  }
  replaceChildren(body,
    el('p', { class: 'hint' }, 'pending changes per index'),
    chart(),
    el('table', { class: 'data', 'data-table': 'index-lag' },
      el('thead', {}, el('tr', {}, el('th', {}, 'index'), el('th', {}, 'pending'), el('th', {}, 'oldest'))),
      el('tbody', {}, snapshot.indexLag.map((entry, i) => el('tr', { 'data-index': `${entry.table} / ${entry.index}` },
        el('td', {}, el('span', { class: 'line-key', 'data-colour': nodeColour(i) }), ` ${entry.table} / ${entry.index}`),
        el('td', { class: 'n' }, formatCount(entry.pendingChanges)),
        el('td', { class: 'n' }, formatMs(entry.oldestPendingAgeMs)))))));
  for (const key of body.querySelectorAll('.line-key')) key.style.backgroundColor = key.dataset.colour;
}
