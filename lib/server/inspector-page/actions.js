// The on-demand actions: POST /inspector/api/<name> with a JSON body.
export async function action(name, input) {
  const response = await fetch(`api/${name}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(input) });
  const body = await response.json();
  if (!response.ok) throw Object.assign(new Error(body?.error?.message ?? `HTTP ${response.status}`), { name: body?.error?.name ?? 'Error' });
  return body;
}
