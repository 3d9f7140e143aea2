// The ring: one arc per ring partition coloured by its primary node, the
// partition's leader as an inner mark, and a row per node with its status,
// the partitions it is primary of, replicates and leads, and its hints.
import { el, formatCount, nodeColour, replaceChildren, svg } from './dom.js';

const CENTRE = 160;
const OUTER = 150;
const INNER = 118;
const LEADER_OUTER = 112;
const LEADER_INNER = 100;

function arcPath(start, end, outer, inner) {
  const point = (angle, radius) => [CENTRE + radius * Math.sin(angle), CENTRE - radius * Math.cos(angle)];
  const large = end - start > Math.PI ? 1 : 0;
  const [x1, y1] = point(start, outer);
  const [x2, y2] = point(end, outer);
  const [x3, y3] = point(end, inner);
  const [x4, y4] = point(start, inner);
  const f = (v) => v.toFixed(2);
  return `M${f(x1)} ${f(y1)}A${outer} ${outer} 0 ${large} 1 ${f(x2)} ${f(y2)}L${f(x3)} ${f(y3)}A${inner} ${inner} 0 ${large} 0 ${f(x4)} ${f(y4)}Z`;
}

function ringChart(chart, ring, statusOf) {
  const count = ring.partitions.length;
  const children = [];
  if (count === 0) {
    children.push(svg('text', { x: CENTRE, y: CENTRE, 'text-anchor': 'middle', class: 'muted' }, `${formatCount(ring.partitionCount)} partitions: too many to draw`));
  }
  const step = (2 * Math.PI) / Math.max(1, count);
  // A hairline gap between arcs only while they are wide enough to show one.
  const gap = count <= 256 ? step * 0.08 : 0;
  for (const p of ring.partitions) {
    const start = p.partition * step + gap / 2;
    const end = (p.partition + 1) * step - gap / 2;
    const primary = p.replicas[0];
    const down = statusOf(primary) === 'down';
    children.push(svg('path', {
      d: arcPath(start, end, OUTER, INNER),
      fill: down ? '#c9ced6' : nodeColour(primary),
      class: 'partition-arc',
      'data-partition': p.partition,
      'data-primary': primary,
    }, svg('title', {}, `partition ${p.partition}: replicas ${p.replicas.join(', ')}${p.leader === null ? '' : `; leader ${p.leader} (term ${p.term})`}`)));
    if (p.leader !== null) {
      const leaderDown = statusOf(p.leader) === 'down';
      children.push(svg('path', {
        d: arcPath(start, end, LEADER_OUTER, LEADER_INNER),
        fill: leaderDown ? '#c0392b' : p.leaderReady ? nodeColour(p.leader) : 'none',
        stroke: p.leaderReady && !leaderDown ? 'none' : nodeColour(p.leader),
        'stroke-width': 0.8,
        class: 'leader-mark',
        'data-leader': p.leader,
      }));
    }
  }
  const up = ring.nodes.filter((n) => n.status === 'up').length;
  children.push(svg('text', { x: CENTRE, y: CENTRE - 6, 'text-anchor': 'middle', class: 'ring-centre' }, `${up} of ${ring.nodes.length} up`));
  children.push(svg('text', { x: CENTRE, y: CENTRE + 14, 'text-anchor': 'middle', class: 'muted' }, `${formatCount(ring.partitionCount)} partitions, N = ${ring.n}`));
  // Past a few hundred partitions an arc is under a pixel wide: without anti-aliasing each keeps its node's colour.
  if (count > 256) chart.setAttribute('shape-rendering', 'crispEdges');
  else chart.removeAttribute('shape-rendering');
  replaceChildren(chart, children);
}

function nodeRows(body, ring) {
  replaceChildren(body, ring.nodes.map((n) => el('tr', { 'data-node': n.id, 'data-status': n.status },
    el('td', {}, el('span', { class: 'swatch', 'data-colour': nodeColour(n.id) }), ` ${n.id}`),
    el('td', { class: `status status-${n.status}` }, n.status, n.reason === null ? '' : ` (${n.reason})`),
    el('td', { class: 'n' }, formatCount(n.keys)),
    el('td', { class: 'n' }, formatCount(n.partitionsPrimary)),
    el('td', { class: 'n' }, formatCount(n.partitionsReplica)),
    el('td', { class: 'n' }, formatCount(n.partitionsLed)),
    el('td', { class: 'n', 'data-hints-pending': n.hintsPending }, formatCount(n.hintsPending)),
    el('td', { class: 'n' }, formatCount(n.hintsHeld)),
    el('td', { class: 'n' }, formatCount(n.ops)),
    el('td', { class: 'n' }, formatCount(n.queueDepth)),
  )));
  // The swatch colour is set through the CSSOM: the page's CSP forbids style attributes.
  for (const swatch of body.querySelectorAll('.swatch')) swatch.style.backgroundColor = swatch.dataset.colour;
}

export function renderRing(ring) {
  const statuses = new Map(ring.nodes.map((n) => [n.id, n.status]));
  ringChart(document.getElementById('ring-chart'), ring, (id) => statuses.get(id));
  nodeRows(document.querySelector('#nodes-table tbody'), ring);
  const hintsPending = ring.nodes.reduce((sum, n) => sum + n.hintsPending, 0);
  replaceChildren(document.getElementById('ring-totals'),
    `hints pending ${formatCount(hintsPending)} · hints delivered ${formatCount(ring.hintsDelivered)} · read repairs ${formatCount(ring.readRepairs)} · `,
    `nodes marked down ${formatCount(ring.nodesMarkedDown)} · timeouts ${formatCount(ring.timeouts)} · overloaded ${formatCount(ring.overloaded)} · requests waiting ${formatCount(ring.pending)}`);
}
