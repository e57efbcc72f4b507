// The console's JSON API (docs/protocol.md).

// Changes always carry a JSON body (the server refuses anything else; see
// signaling/src/http/csrf.rs).
export async function api(method, path, body) {
  const changes = method !== 'GET';
  const res = await fetch(path, {
    method,
    headers: changes ? { 'content-type': 'application/json' } : {},
    body: changes ? JSON.stringify(body || {}) : undefined,
    credentials: 'same-origin',
  });
  let data = null;
  try { data = await res.json(); } catch { /* empty body */ }
  return { ok: res.ok, status: res.status, data };
}
