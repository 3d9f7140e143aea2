/**
 * Every string that comes from a report (keys, notes, the command line,
 * baseline descriptions, error codes) passes through here before it reaches
 * the page: the report is data, and a key may be any bytes a user chose.
 * One function serves text and attribute values alike (all five XML
 * specials), so the SVGs stay well-formed XML as well as valid HTML.
 */
const REPLACEMENTS: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

// C0 controls other than tab, newline and carriage return are not allowed in
// XML 1.0 (section 2.2) and an entity cannot spell them either: drop them.
// eslint-disable-next-line no-control-regex
const XML_FORBIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g;

export function escapeText(value: unknown): string {
  return String(value)
    .replace(XML_FORBIDDEN, '\ufffd')
    .replace(/[&<>"']/g, (c) => REPLACEMENTS[c]!);
}
