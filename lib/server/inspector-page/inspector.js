// The inspector page: one snapshot a second over server-sent events
// (GET events), drawn by the panels; reads on demand through POST api/*.
import { replaceChildren } from './dom.js';
import { renderRing } from './ring-view.js';
import { renderCapacity, renderHotKeys } from './capacity-view.js';
import { renderIndexLag } from './lag-chart.js';
import { readKey, setUpReadPanel } from './read-panel.js';
import { followTable, renderTables, setUpBrowsePanel } from './browse-panel.js';

const readForm = document.getElementById('read-form');
const queryForm = document.getElementById('query-form');
setUpReadPanel(readForm);
followTable(readForm);
followTable(queryForm);
const scanTable = setUpBrowsePanel(queryForm, (table, partitionKey, sortKey) => readKey(readForm, table, partitionKey, sortKey));

const connection = document.getElementById('connection');
const updated = document.getElementById('updated');
let snapshots = 0;

function render(snapshot) {
  renderRing(snapshot.ring);
  renderTables(snapshot.tables, scanTable);
  renderCapacity(snapshot.capacity);
  renderHotKeys(snapshot.capacity);
  renderIndexLag(snapshot);
  snapshots += 1;
  document.body.dataset.snapshots = String(snapshots);
  replaceChildren(updated, `updated ${new Date(snapshot.atMs).toLocaleTimeString()}`);
}

const events = new EventSource('events');
events.addEventListener('open', () => {
  connection.dataset.state = 'live';
  connection.textContent = 'live';
});
events.addEventListener('error', () => {
  // EventSource reconnects by itself (the server asks for 2 s); say so meanwhile.
  connection.dataset.state = 'disconnected';
  connection.textContent = 'disconnected: retrying';
});
events.addEventListener('snapshot', (event) => render(JSON.parse(event.data)));
