// api - requests to moat-controller, with the password as Rspamd's UI
// sends it (a Password header, kept in sessionStorage for this tab only).

const KEY = "Password";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function password() {
  return sessionStorage.getItem(KEY);
}

export function setPassword(p) {
  if (p === null) sessionStorage.removeItem(KEY);
  else sessionStorage.setItem(KEY, p);
}

// call("/moat/history?x=1", {method, body, headers, raw}) -> parsed JSON (or text when raw).
export async function call(path, opts) {
  const o = opts || {};
  const headers = Object.assign({}, o.headers || {});
  const pw = o.password !== undefined ? o.password : password();
  if (pw) headers.Password = pw;
  let body = o.body;
  if (body !== undefined && typeof body !== "string" && !(body instanceof Blob) &&
      !(body instanceof ArrayBuffer)) {
    body = JSON.stringify(body);
    headers["Content-Type"] = "application/json";
  }
  // Relative to the page, as Rspamd's UI asks: behind a proxy at /some/path/ it still works.
  const r = await fetch(path.replace(/^\//, ""), {method: o.method || (body !== undefined ? "POST" : "GET"),
    headers, body, credentials: "omit", cache: "no-store"});
  const text = await r.text();
  let data = text;
  if (!o.raw) {
    try {
      data = text ? JSON.parse(text) : null;
    } catch (e) {
      data = null;
    }
  }
  if (!r.ok && r.status !== 208) {
    const msg = data && typeof data === "object" && data.error ? data.error : (text || r.statusText);
    throw new ApiError(r.status, String(msg).trim());
  }
  return {status: r.status, data};
}

// Query string from an object, leaving out empty values.
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? "?" + s : "";
}
