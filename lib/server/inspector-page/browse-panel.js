// Tables, a first page of one (Scan), the items of one partition key in
// sort order or under a key condition (Query), each with the capacity it
// consumed. A click on an item reads it in the consistent/eventual panel.
import { action } from './actions.js';
import { el, empty, formatBytes, formatCapacity, formatCount, itemText, replaceChildren, valueText } from './dom.js';

let tables = [];
/** The tables panel as last drawn: it is redrawn only when it changed, so a click on a row is not lost to a redraw. */
let drawn = '';

export function tableNamed(name) {
  return tables.find((t) => t.name === name);
}

/** The forms' table choices, the key labels, and the tables panel, from a snapshot. */
export function renderTables(snapshotTables, onPick) {
  const changed = snapshotTables.map((t) => t.name).join('\0') !== tables.map((t) => t.name).join('\0');
  tables = snapshotTables;
  if (changed) {
    for (const select of document.querySelectorAll('select[data-tables]')) {
      const chosen = select.value;
      replaceChildren(select, tables.map((t) => el('option', { value: t.name }, t.name)));
      if (tables.some((t) => t.name === chosen)) select.value = chosen;
      select.dispatchEvent(new Event('change'));
    }
  }
  const body = document.getElementById('tables-body');
  const drawing = JSON.stringify(tables);
  if (drawing === drawn) return;
  drawn = drawing;
  if (tables.length === 0) {
    replaceChildren(body, empty('tables', 'no tables yet'));
    return;
  }
  replaceChildren(body, el('table', { class: 'data', 'data-table': 'tables' },
    el('thead', {}, el('tr', {}, ['table', 'status', 'items', 'size', 'billing', 'partition key', 'sort key', 'indexes'].map((h) => el('th', {}, h)))),
    el('tbody', {}, tables.map((t) => el('tr', { 'data-table-name': t.name, class: 'clickable', onclick: () => onPick(t.name), title: 'scan its first page' },
      el('td', {}, t.name),
      el('td', {}, t.status),
      el('td', { class: 'n' }, formatCount(t.itemCount)),
      el('td', { class: 'n' }, formatBytes(t.sizeBytes)),
      el('td', {}, t.billingMode),
      el('td', {}, `${t.partitionKey.name} (${t.partitionKey.type})`),
      el('td', {}, t.sortKey === null ? '' : `${t.sortKey.name} (${t.sortKey.type})`),
      el('td', {}, t.indexes.join(', ')))))));
}

/** Key labels and the sort key's inputs follow the chosen table. */
export function followTable(form) {
  const update = () => {
    const table = tableNamed(form.elements.table.value);
    for (const label of form.querySelectorAll('[data-key-label="partition"]')) label.textContent = table ? table.partitionKey.name : 'partition key';
    for (const label of form.querySelectorAll('[data-key-label="sort"]')) label.textContent = table?.sortKey ? table.sortKey.name : 'sort key';
    for (const part of form.querySelectorAll('[data-sort-only]')) part.hidden = !table?.sortKey;
    const index = form.elements.index;
    if (index !== undefined) {
      const chosen = index.value;
      replaceChildren(index, el('option', { value: '' }, '(table)'), (table?.indexes ?? []).map((name) => el('option', { value: name }, name)));
      index.value = (table?.indexes ?? []).includes(chosen) ? chosen : '';
    }
  };
  form.elements.table.addEventListener('change', update);
  update();
}

function itemsTable(tableName, answer, onRead, onPartition) {
  const table = tableNamed(tableName);
  const keyNames = table ? [table.partitionKey.name, ...(table.sortKey ? [table.sortKey.name] : [])] : [];
  if (answer.items.length === 0) return empty('items', 'no items');
  return el('table', { class: 'data', 'data-table': 'items' },
    el('thead', {}, el('tr', {}, keyNames.map((k) => el('th', {}, k)), el('th', {}, 'other attributes'), el('th', {}, ''))),
    el('tbody', {}, answer.items.map((item) => {
      const rest = Object.fromEntries(Object.entries(item).filter(([name]) => !keyNames.includes(name)));
      const keyTexts = keyNames.map((k) => valueText(item[k]));
      return el('tr', { class: 'clickable', title: 'read it consistently and eventually', onclick: () => onRead(tableName, keyTexts[0], keyTexts[1]) },
        keyTexts.map((text) => el('td', { class: 'key' }, text)),
        el('td', { class: 'mono' }, itemText(rest)),
        el('td', {}, el('button', { type: 'button', class: 'partition-button', title: 'every item of this partition key, in sort order', onclick: (event) => {
          event.stopPropagation();
          onPartition(tableName, keyTexts[0]);
        } }, 'its partition')));
    })));
}

export function setUpBrowsePanel(form, onRead) {
  const summary = document.getElementById('query-summary');
  const run = async (name, input) => {
    summary.dataset.state = 'running';
    replaceChildren(summary, `${name}…`);
    try {
      const answer = await action(name, input);
      summary.dataset.state = 'done';
      replaceChildren(summary, el('span', { 'data-field': 'count' }, `${name}: ${answer.count} items (${answer.scannedCount} evaluated)${answer.lastEvaluatedKey ? ', more after the last' : ''}`),
        ' · ', el('span', { class: 'capacity', 'data-field': 'capacity' }, formatCapacity(answer.consumedCapacity)));
      replaceChildren(document.getElementById('items-body'), itemsTable(input.table, answer, onRead, queryPartition));
    } catch (error) {
      summary.dataset.state = 'error';
      replaceChildren(summary, `${error.name}: ${error.message}`);
    }
  };
  const limit = () => Number(form.elements.limit.value) || 25;
  // The items of one partition key in sort order: a Query with no sort key condition.
  const queryPartition = (tableName, partitionKey) => {
    form.elements.table.value = tableName;
    form.elements.table.dispatchEvent(new Event('change'));
    form.elements.partitionKey.value = partitionKey;
    form.elements.sortCondition.value = '';
    form.elements.descending.checked = false;
    void run('query', { table: tableName, partitionKey, limit: limit() });
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const input = { table: data.get('table'), partitionKey: data.get('partitionKey'), descending: data.get('descending') !== null, limit: limit() };
    if (data.get('index')) input.index = data.get('index');
    if (data.get('sortCondition')) Object.assign(input, { sortCondition: data.get('sortCondition'), sortValue: data.get('sortValue'), sortValueTo: data.get('sortValueTo') });
    void run('query', input);
  });
  form.elements.scan.addEventListener('click', () => void run('scan', { table: form.elements.table.value, limit: limit() }));
  return (tableName) => {
    form.elements.table.value = tableName;
    form.elements.table.dispatchEvent(new Event('change'));
    void run('scan', { table: tableName, limit: limit() });
  };
}
