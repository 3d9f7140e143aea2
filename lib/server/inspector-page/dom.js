// Small DOM helpers. Text always goes in as text nodes (never as HTML), so a
// key or an attribute value holding markup stays text.

const SVG_NS = 'http://www.w3.org/2000/svg';

function fill(node, attributes, children) {
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
  return node;
}

/** An HTML element: el('td', { class: 'n' }, 'text', otherNode). */
export function el(tag, attributes, ...children) {
  return fill(document.createElement(tag), attributes, children);
}

/** An SVG element, same arguments. */
export function svg(tag, attributes, ...children) {
  return fill(document.createElementNS(SVG_NS, tag), attributes, children);
}

export function replaceChildren(node, ...children) {
  node.replaceChildren();
  return fill(node, {}, children);
}

export function empty(kind, message) {
  return el('p', { class: 'empty', 'data-empty': kind }, message);
}

const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 });
const whole = new Intl.NumberFormat('en', { maximumFractionDigits: 0 });
const fraction = new Intl.NumberFormat('en', { maximumFractionDigits: 2 });

export function formatCount(value) {
  return Math.abs(value) >= 100_000 ? compact.format(value) : whole.format(value);
}

export function formatUnits(value) {
  return fraction.format(value);
}

export function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${fraction.format(bytes / 1024)} KiB`;
  if (bytes < 1024 ** 3) return `${fraction.format(bytes / 1024 ** 2)} MiB`;
  return `${fraction.format(bytes / 1024 ** 3)} GiB`;
}

export function formatMs(ms) {
  return ms < 1000 ? `${whole.format(ms)} ms` : `${fraction.format(ms / 1000)} s`;
}

/** Consumed capacity as DynamoDB returns it with ReturnConsumedCapacity TOTAL. */
export function formatCapacity(consumed) {
  if (consumed === null || consumed === undefined) return 'consumed capacity: not reported';
  const parts = [`${formatUnits(consumed.CapacityUnits ?? 0)} capacity units`];
  if (consumed.ReadCapacityUnits !== undefined) parts.push(`${formatUnits(consumed.ReadCapacityUnits)} RCU`);
  if (consumed.WriteCapacityUnits !== undefined) parts.push(`${formatUnits(consumed.WriteCapacityUnits)} WCU`);
  return `consumed capacity (${consumed.TableName}): ${parts.join(', ')}`;
}

/** One colour per node, stable across snapshots (by node id). */
const NODE_COLOURS = ['#2f6690', '#d9822b', '#3a7d44', '#7b4397', '#b5485d', '#1b998b', '#8a6d3b', '#4f5d75', '#c44536', '#5c8001', '#3d5a80', '#a05195'];
export function nodeColour(id) {
  return NODE_COLOURS[((id % NODE_COLOURS.length) + NODE_COLOURS.length) % NODE_COLOURS.length];
}

/** A value from 0 to 1 as a colour from pale to dark blue. */
const HEAT_STOPS = [[244, 246, 248], [207, 224, 238], [143, 184, 216], [79, 135, 184], [36, 85, 138], [15, 47, 87]];
export function heatColour(share) {
  const t = Math.max(0, Math.min(1, Number.isFinite(share) ? share : 0)) * (HEAT_STOPS.length - 1);
  const i = Math.min(HEAT_STOPS.length - 2, Math.floor(t));
  const f = t - i;
  const [a, b] = [HEAT_STOPS[i], HEAT_STOPS[i + 1]];
  const c = a.map((v, k) => Math.round(v + (b[k] - v) * f));
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

/** An AttributeValue map as one line of DynamoDB JSON. */
export function itemText(item) {
  return JSON.stringify(item);
}

/** An AttributeValue as the short text a key column shows. */
export function valueText(value) {
  if (value === undefined) return '';
  const [type, v] = Object.entries(value)[0] ?? ['', ''];
  return type === 'S' || type === 'N' || type === 'B' ? String(v) : JSON.stringify(value);
}
