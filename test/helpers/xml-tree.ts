/**
 * Reading the report's markup in tests: the SVG charts and the tables are
 * well-formed XML by construction, so fast-xml-parser both checks that (its
 * validator rejects a stray `<` or `&`, unclosed and mismatched tags,
 * repeated or unquoted attributes) and turns them into a tree that tests can
 * query by attribute instead of by regular expressions over text.
 */
import assert from 'node:assert/strict';
import { XMLParser, XMLValidator } from 'fast-xml-parser';

export interface XmlNode {
  tag: string;
  attrs: Record<string, string>;
  /** Child elements, in order. */
  children: XmlNode[];
  /** Child elements and text, in document order. */
  content: Array<XmlNode | string>;
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  preserveOrder: true,
  trimValues: false,
  parseTagValue: false,
  parseAttributeValue: false,
  processEntities: true,
  htmlEntities: true,
});

type Raw = Record<string, unknown>;

function convert(raw: Raw): XmlNode | string {
  if ('#text' in raw) return String(raw['#text']);
  const tag = Object.keys(raw).find((k) => k !== ':@')!;
  const node: XmlNode = { tag, attrs: (raw[':@'] as Record<string, string>) ?? {}, children: [], content: [] };
  for (const child of raw[tag] as Raw[]) {
    const converted = convert(child);
    node.content.push(converted);
    if (typeof converted !== 'string') node.children.push(converted);
  }
  return node;
}

/** Why `xml` is not well-formed, or undefined when it is. */
export function xmlProblem(xml: string): string | undefined {
  const result = XMLValidator.validate(xml);
  return result === true ? undefined : `${result.err.code} at ${result.err.line}:${result.err.col}: ${result.err.msg}`;
}

/** The single root element of a well-formed fragment (asserted). */
export function parseXml(xml: string): XmlNode {
  const problem = xmlProblem(xml);
  assert.equal(problem, undefined, `not well-formed XML: ${problem}`);
  const roots = (parser.parse(xml) as Raw[]).map(convert).filter((n): n is XmlNode => typeof n !== 'string');
  assert.equal(roots.length, 1, 'expected one root element');
  return roots[0]!;
}

/** Every node under (and including) `root` that `match` accepts, in document order. */
export function findAll(root: XmlNode, match: (node: XmlNode) => boolean): XmlNode[] {
  const found: XmlNode[] = [];
  const visit = (node: XmlNode) => {
    if (match(node)) found.push(node);
    node.children.forEach(visit);
  };
  visit(root);
  return found;
}

/** All text inside `node`, children included. */
export function textOf(node: XmlNode): string {
  return node.content.map((part) => (typeof part === 'string' ? part : textOf(part))).join('');
}

/** Every `<svg>` of a page, by its data-chart name. */
export function chartsOf(html: string): Map<string, string> {
  const charts = new Map<string, string>();
  for (const match of html.matchAll(/<svg\b[\s\S]*?<\/svg>/g)) {
    const name = /data-chart="([^"]*)"/.exec(match[0])?.[1];
    assert.ok(name !== undefined, 'every svg has data-chart');
    assert.ok(!charts.has(name), `chart ${name} appears once`);
    charts.set(name, match[0]);
  }
  return charts;
}

/** The `<table data-table="name">` of a page, parsed. */
export function tableOf(html: string, name: string): XmlNode | undefined {
  const match = new RegExp(`<table data-table="${name}">[\\s\\S]*?</table>`).exec(html);
  return match === null ? undefined : parseXml(match[0]);
}

/** The body rows of a parsed table, each as its cells' text. */
export function bodyRows(table: XmlNode): string[][] {
  const body = table.children.find((c) => c.tag === 'tbody');
  return (body?.children ?? []).map((row) => row.children.map(textOf));
}

/** The `<section id="...">` (or other element with that id) of a page, as raw markup. */
export function sectionOf(html: string, id: string): string {
  const match = new RegExp(`<section id="${id}"[\\s\\S]*?</section>`).exec(html);
  assert.ok(match !== null, `section #${id} present`);
  return match[0];
}
