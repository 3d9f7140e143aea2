/**
 * Small builders for the report's HTML: elements with escaped attributes and
 * tables whose cells are either text (escaped here) or markup built elsewhere.
 */
import { escapeText } from './escape.js';
import { type AttributeValue, attributes } from './svg.js';

/** Markup that is already safe, as opposed to a string still to be escaped. */
export interface Markup {
  html: string;
}

export function markup(html: string): Markup {
  return { html };
}

export type Content = string | Markup;

export function render(content: Content): string {
  return typeof content === 'string' ? escapeText(content) : content.html;
}

export function tag(name: string, values: Record<string, AttributeValue>, ...children: Content[]): string {
  return `<${name}${attributes(values)}>${children.map(render).join('')}</${name}>`;
}

export interface Column {
  header: string;
  /** Right-aligned with tabular figures. */
  numeric?: boolean;
}

/** A table; `name` goes to data-table, for readers and tests to find it by. */
export function table(name: string, columns: Column[], rows: Content[][], caption?: string): string {
  const head = tag('thead', {}, markup(tag('tr', {}, ...columns.map((c) => markup(tag('th', { scope: 'col', class: c.numeric ? 'num' : undefined }, c.header))))));
  const body = tag('tbody', {}, ...rows.map((row) => markup(tag('tr', {}, ...row.map((cell, i) => markup(tag('td', { class: columns[i]?.numeric ? 'num' : undefined }, cell)))))));
  return tag('table', { 'data-table': name }, ...(caption === undefined ? [] : [markup(tag('caption', {}, caption))]), markup(head), markup(body));
}

/** A list of term/description pairs. */
export function facts(pairs: Array<[string, Content]>): string {
  return tag('dl', { class: 'facts' }, ...pairs.flatMap(([term, value]) => [markup(tag('dt', {}, term)), markup(tag('dd', {}, value))]));
}

/** A report section with a stable id and a heading. */
export function section(id: string, heading: string, ...children: Content[]): string {
  return tag('section', { id, 'aria-labelledby': `${id}-heading` }, markup(tag('h2', { id: `${id}-heading` }, heading)), ...children);
}
