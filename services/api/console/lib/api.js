/**
 * The console's only way to the API: same origin, the HttpOnly session cookie, and on every
 * request that changes something the X-Hikhub-Console header the API asks for (CSRF defence).
 * Failures become ApiError with the API's own message, so pages can show it as it is.
 */

export class ApiError extends Error {
  constructor(status, code, message, issues = []) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.issues = issues;
  }
}

const unauthorizedListeners = new Set();

/** Called when any request answers 401: the session expired or the admin token changed. */
export function onUnauthorized(listener) {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

async function errorFrom(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON (a proxy's error page, a dropped connection): fall back to the status line.
  }
  const message = body?.message ?? `${response.status} ${response.statusText || 'error'}`;
  return new ApiError(response.status, body?.error ?? 'http_error', message, Array.isArray(body?.issues) ? body.issues : []);
}

export async function request(method, path, { json, body, contentType, signal, quietUnauthorized = false } = {}) {
  const headers = { accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD') headers['x-hikhub-console'] = '1';
  let payload = body;
  if (json !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(json);
  } else if (contentType) {
    headers['content-type'] = contentType;
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body: payload, credentials: 'same-origin', signal });
  } catch (error) {
    if (error?.name === 'AbortError') throw error;
    throw new ApiError(0, 'network', 'hikhub did not answer (network error); check that it is running and reachable');
  }
  if (!response.ok) {
    const error = await errorFrom(response);
    if (response.status === 401 && !quietUnauthorized) for (const listener of unauthorizedListeners) listener(error);
    throw error;
  }
  if (response.status === 204) return null;
  const type = response.headers.get('content-type') ?? '';
  return type.includes('json') ? response.json() : response.text();
}

export const api = {
  get: (path, options) => request('GET', path, options),
  post: (path, json, options) => request('POST', path, { ...options, json }),
  put: (path, json, options) => request('PUT', path, { ...options, json }),
  patch: (path, json, options) => request('PATCH', path, { ...options, json }),
  delete: (path, options) => request('DELETE', path, options),
};

/** `?a=1&b=2` from an object, leaving out empty values. */
export function queryString(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

export const enc = encodeURIComponent;
