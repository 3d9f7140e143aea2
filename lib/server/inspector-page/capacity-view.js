// The capacity model's view (db.capacityMetrics(): one ResourceSnapshot per
// table and index, lib/tables/capacity/README.md): a heat map per table and
// index, one row per logical partition and one column per second, darker
// closer to the partition's limit, red where requests were throttled; the
// model's events; and the hottest keys by consumed capacity and throttles.
import { el, empty, formatCount, formatUnits, heatColour, replaceChildren, svg } from './dom.js';

const LABEL_WIDTH = 56;
const SIDE_WIDTH = 150;
const CELL_HEIGHT_MAX = 18;
const CHART_WIDTH = 900;
/** Rows drawn per heat map: past it, the partitions that consumed most over the window (in key order). */
const ROWS_MAX = 64;

function resourceName(resource) {
  return resource.index === undefined || resource.index === null ? resource.table : `${resource.table} / ${resource.index}`;
}

/** How close one second came to the partition's limit: the larger of reads and writes, each against its per-second limit. */
function loadShare(readUnits, writeUnits, partition) {
  const readLimit = partition?.readShareUnitsPerSecond ?? partition?.readUnitsMax ?? 0;
  const writeLimit = partition?.writeShareUnitsPerSecond ?? partition?.writeUnitsMax ?? 0;
  const read = readLimit > 0 ? readUnits / readLimit : 0;
  const write = writeLimit > 0 ? writeUnits / writeLimit : 0;
  return Math.max(read, write);
}

function heatMap(resource) {
  // Every current partition has a row, traffic or not, in key order.
  let rows = resource.partitions;
  if (rows.length > ROWS_MAX) {
    const sum = (p) => [...p.consumedReadUnits, ...p.consumedWriteUnits].reduce((a, b) => a + b, 0);
    const hottest = new Set([...rows].sort((a, b) => sum(b) - sum(a)).slice(0, ROWS_MAX));
    rows = rows.filter((p) => hottest.has(p));
  }
  const seconds = resource.consumedReadUnits.length;
  const cellWidth = (CHART_WIDTH - LABEL_WIDTH - SIDE_WIDTH) / Math.max(1, seconds);
  const cellHeight = Math.max(6, Math.min(CELL_HEIGHT_MAX, 360 / Math.max(1, rows.length)));
  const top = 18;
  const height = top + rows.length * cellHeight + 22;
  const children = [
    svg('text', { x: LABEL_WIDTH, y: 12, class: 'axis-label' }, `${seconds} s ago`),
    svg('text', { x: CHART_WIDTH - SIDE_WIDTH, y: 12, 'text-anchor': 'end', class: 'axis-label' }, 'now'),
    svg('text', { x: CHART_WIDTH - SIDE_WIDTH + 8, y: 12, class: 'axis-label' }, 'burst balance R / W'),
  ];
  rows.forEach((partition, row) => {
    const y = top + row * cellHeight;
    const id = partition.partitionId;
    const series = partition;
    const cells = [];
    for (let s = 0; s < seconds; s++) {
      const read = series?.consumedReadUnits[s] ?? 0;
      const write = series?.consumedWriteUnits[s] ?? 0;
      const throttled = (series?.throttledReads[s] ?? 0) + (series?.throttledWrites[s] ?? 0);
      const x = LABEL_WIDTH + s * cellWidth;
      cells.push(svg('rect', { x: x.toFixed(1), y: y.toFixed(1), width: (cellWidth + 0.3).toFixed(1), height: (cellHeight - 1).toFixed(1), fill: heatColour(loadShare(read, write, partition)) },
        svg('title', {}, `partition ${id}, ${seconds - s - 1} s ago: ${formatUnits(read)} RCU, ${formatUnits(write)} WCU${throttled > 0 ? `, ${throttled} throttled` : ''}`)));
      if (throttled > 0) cells.push(svg('rect', { x: x.toFixed(1), y: (y + cellHeight - 4).toFixed(1), width: (cellWidth + 0.3).toFixed(1), height: 3, class: 'throttle-mark' }));
    }
    const burst = partition.readBurstBalanceUnits === null
      ? 'on-demand'
      : `${formatUnits(partition.readBurstBalanceUnits)} / ${formatUnits(partition.writeBurstBalanceUnits)}`;
    children.push(svg('g', { class: 'heat-row', 'data-partition': id },
      svg('text', { x: LABEL_WIDTH - 6, y: (y + cellHeight * 0.75).toFixed(1), 'text-anchor': 'end', class: 'row-label' }, `p${id}`),
      cells,
      svg('text', { x: CHART_WIDTH - SIDE_WIDTH + 8, y: (y + cellHeight * 0.75).toFixed(1), class: 'row-label' }, burst)));
  });
  const legendY = top + rows.length * cellHeight + 16;
  children.push(svg('g', { class: 'legend' },
    [0, 0.25, 0.5, 0.75, 1].map((share, i) => svg('rect', { x: LABEL_WIDTH + i * 18, y: legendY - 9, width: 18, height: 10, fill: heatColour(share) })),
    svg('text', { x: LABEL_WIDTH + 96, y: legendY, class: 'axis-label' }, '0 to 100% of the partition\'s limit'),
    svg('rect', { x: LABEL_WIDTH + 330, y: legendY - 6, width: 18, height: 3, class: 'throttle-mark' }),
    svg('text', { x: LABEL_WIDTH + 354, y: legendY, class: 'axis-label' }, 'throttled')));
  return svg('svg', { viewBox: `0 0 ${CHART_WIDTH} ${height.toFixed(0)}`, class: 'heat-map', 'data-chart': 'capacity-heat', 'data-resource': resourceName(resource), role: 'img' }, children);
}

function throughputText(resource) {
  if (resource.billingMode === 'PROVISIONED' && resource.provisioned !== null) {
    return `provisioned ${formatCount(resource.provisioned.readCapacityUnits)} RCU / ${formatCount(resource.provisioned.writeCapacityUnits)} WCU`;
  }
  if (resource.onDemand !== null && resource.onDemand !== undefined) {
    return `on-demand: admits ${formatUnits(resource.readUnitsPerSecond)} RCU / ${formatUnits(resource.writeUnitsPerSecond)} WCU per second now`;
  }
  return resource.billingMode;
}

function eventText(event) {
  const where = `${event.table}${event.index ? ` / ${event.index}` : ''}`;
  switch (event.kind) {
    case 'adaptive-boost': return `${where} p${event.partitionId}: adaptive capacity lent ${formatUnits(event.units)} ${event.operation} units`;
    case 'split': return `${where} p${event.partitionId}: split for heat into p${event.children[0]} and p${event.children[1]} (${Math.round(event.leftShare * 100)}% of the traffic left of the point)`;
    case 'split-refused': return `${where} p${event.partitionId}: split refused (${event.reason})`;
    case 'partitions-added': return `${where}: ${event.added} partitions added (${event.cause}), ${event.count} now`;
    default: return `${where}: ${event.kind}`;
  }
}

export function renderCapacity(capacity) {
  const body = document.getElementById('capacity-body');
  if (capacity === null) {
    replaceChildren(body, empty('capacity', 'capacity model off: open the database with a capacity mode to see consumed capacity, throttles, burst balance and splits per logical partition.'));
    return;
  }
  const sections = capacity.resources.map((resource) => el('div', { class: 'resource', 'data-resource': resourceName(resource) },
    el('h3', {}, resourceName(resource)),
    el('p', { class: 'totals' }, `${throughputText(resource)} · ${resource.partitions.length} logical partitions${resource.partitions.length > ROWS_MAX ? ` (the ${ROWS_MAX} hottest drawn)` : ''} · throttled ${formatCount(resource.throttledTotal)} · splits ${resource.splits} (refused ${resource.refusedSplits})`),
    heatMap(resource)));
  const events = capacity.events.slice(-10).reverse();
  replaceChildren(body,
    el('p', { class: 'totals' }, `mode: ${capacity.mode}${capacity.capacityScale === 1 ? '' : `, capacityScale ${capacity.capacityScale}`}`),
    sections.length === 0 ? empty('capacity-resources', 'no tables under the capacity model') : sections,
    el('h3', {}, 'Events'),
    events.length === 0 ? empty('capacity-events', 'no events yet') : el('ul', { class: 'events' },
      events.map((event) => el('li', { 'data-event': event.kind }, el('time', {}, new Date(event.atMs).toLocaleTimeString()), ' ', eventText(event)))));
}

function keyTable(title, keys, unit) {
  return el('div', {},
    el('h3', {}, title),
    keys.length === 0 ? empty('hot-keys', 'none yet') : el('table', { class: 'data', 'data-table': 'hot-keys' },
      el('thead', {}, el('tr', {}, el('th', {}, 'key'), el('th', {}, unit))),
      el('tbody', {}, keys.map((k) => el('tr', {}, el('td', { class: 'key' }, k.key), el('td', { class: 'n' }, `${formatUnits(k.count)}${k.errorMax > 0 ? ` (±${formatUnits(k.errorMax)})` : ''}`))))));
}

export function renderHotKeys(capacity) {
  const body = document.getElementById('hot-keys-body');
  if (capacity === null) {
    replaceChildren(body, empty('hot-keys', 'capacity model off: the hottest keys are counted by the capacity model.'));
    return;
  }
  replaceChildren(body, capacity.resources.length === 0 ? empty('hot-keys', 'no tables under the capacity model') : capacity.resources.map((resource) => el('div', { class: 'resource' },
    el('h3', {}, resourceName(resource)),
    el('div', { class: 'two-columns' },
      keyTable('Most consumed', resource.mostConsumedKeys.slice(0, 10), 'units'),
      keyTable('Most throttled', resource.mostThrottledKeys.slice(0, 10), 'throttles')))));
}
