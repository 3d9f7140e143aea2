// Consistent and eventual reads side by side: which replica answered each,
// the versions, and whether the eventual read was stale.
import { action } from './actions.js';
import { el, formatCapacity, itemText, replaceChildren } from './dom.js';

function answerBody(answer) {
  return [
    el('dl', {},
      el('dt', {}, 'replica'), el('dd', { 'data-field': 'replica' }, answer.replica === null ? '(no item: not reported)' : `node ${answer.replica}`),
      el('dt', {}, 'version'), el('dd', { 'data-field': 'version', class: 'mono' }, answer.version ?? '(none)'),
      el('dt', {}, 'item'), el('dd', { 'data-field': 'item', class: 'mono' }, answer.item === null ? '(no item)' : itemText(answer.item))),
    el('p', { class: 'capacity', 'data-field': 'capacity' }, formatCapacity(answer.consumedCapacity)),
  ];
}

export function setUpReadPanel(form) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const verdict = document.getElementById('read-verdict');
    const input = { table: data.get('table'), partitionKey: data.get('partitionKey'), sortKey: data.get('sortKey') };
    replaceChildren(verdict, 'reading…');
    verdict.dataset.state = 'reading';
    try {
      const result = await action('read', input);
      replaceChildren(document.querySelector('#read-consistent .body'), answerBody(result.consistent));
      replaceChildren(document.querySelector('#read-eventual .body'), answerBody(result.eventual));
      verdict.dataset.state = result.stale ? 'stale' : 'same';
      replaceChildren(verdict, result.stale
        ? 'The eventual read was stale: it answered another version than the leader.'
        : result.consistent.version === null ? 'Both reads found no item.' : 'Both reads answered the same version.');
    } catch (error) {
      verdict.dataset.state = 'error';
      replaceChildren(verdict, `${error.name}: ${error.message}`);
    }
  });
}

/** Fill the form with one item's key and read it (a click on a row of the browse panel). */
export function readKey(form, table, partitionKey, sortKey) {
  form.elements.table.value = table;
  form.elements.table.dispatchEvent(new Event('change'));
  form.elements.partitionKey.value = partitionKey;
  form.elements.sortKey.value = sortKey ?? '';
  form.requestSubmit();
}
