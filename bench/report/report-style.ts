/**
 * The report's stylesheet, inlined into the page: system fonts only (the
 * file must look right offline, with nothing fetched), a light background, a
 * readable measure, and charts that scale with the page width.
 */
export const REPORT_CSS = `
:root {
  --ink: #1f2933; --muted: #616e7c; --line: #e4e7eb; --paper: #ffffff; --page: #f5f7fa; --accent: #2f6690; --error: #c0392b;
  color-scheme: light;
}
* { box-sizing: border-box; }
html { background: var(--page); }
body {
  margin: 0 auto; padding: 24px 24px 48px; max-width: 1120px; color: var(--ink);
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "DejaVu Sans", sans-serif;
}
h1 { font-size: 26px; margin: 0 0 4px; font-weight: 650; letter-spacing: -0.01em; }
h2 { font-size: 18px; margin: 0 0 12px; font-weight: 620; }
h3 { font-size: 12px; margin: 0 0 6px; color: var(--muted); text-transform: uppercase; letter-spacing: 0.06em; font-weight: 600; }
p { margin: 0 0 12px; }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 12.5px; }
nav { display: flex; flex-wrap: wrap; gap: 4px 16px; margin: 0 0 20px; font-size: 13px; }
nav a { color: var(--accent); text-decoration: none; }
nav a:hover { text-decoration: underline; }
section { background: var(--paper); border: 1px solid var(--line); border-radius: 8px; padding: 20px 24px; margin: 0 0 20px; }
.subtitle { color: var(--muted); margin-bottom: 16px; }
.figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 12px; margin: 0 0 20px; }
.figure { border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; background: #fafbfc; }
.figure-value { font-size: 22px; font-weight: 650; font-variant-numeric: tabular-nums; }
.figure[data-figure="throughput"] .figure-value { color: var(--accent); }
.figure-name { color: var(--muted); font-size: 12.5px; }
.fact-groups { display: grid; grid-template-columns: repeat(auto-fit, minmax(280px, 1fr)); gap: 16px 28px; margin: 0 0 16px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 0; font-size: 13px; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
pre { background: #f0f3f6; border-radius: 6px; padding: 10px 12px; margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.lead { color: var(--muted); }
.lead strong { color: var(--ink); }
.chart { display: block; width: 100%; height: auto; margin: 4px 0 16px; }
.chart text { font-family: inherit; }
.chart .axis-title { font-size: 12px; }
.chart .node-bar:hover rect, .chart .baseline:hover rect { opacity: 0.85; }
.chart [data-partition]:hover { stroke: var(--ink); stroke-width: 1; }
.chart .hover-targets rect:hover { fill: rgba(47, 102, 144, 0.06); }
table { border-collapse: collapse; width: 100%; font-size: 13px; margin: 0 0 8px; }
caption { text-align: left; color: var(--muted); padding: 0 0 6px; }
th, td { padding: 6px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 12px; background: #fafbfc; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr:hover { background: #f7f9fb; }
td code { overflow-wrap: anywhere; }
table[data-table="baselines"] td:first-child { white-space: nowrap; }
table[data-table="errors"] { width: auto; min-width: min(100%, 480px); }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; vertical-align: baseline; }
.not-run { color: var(--muted); font-style: italic; }
.primary { font-weight: 650; }
.empty { color: var(--muted); font-style: italic; }
ul.notes { margin: 0; padding-left: 20px; }
ul.notes li { margin: 0 0 4px; }
footer { color: var(--muted); font-size: 12px; text-align: center; }
@media (max-width: 640px) { body { padding: 12px; } section { padding: 14px; } }
@media print { html { background: white; } section { break-inside: avoid; border: none; } nav { display: none; } }
`;
