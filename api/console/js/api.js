// The only way the console talks to the server: documented operations of
// openapi/openapi.json, named by their path template so every call can be
// checked against the document (window.__scepterRequests, read by the browser tests).

import * as session from './session.js';

window.__scepterRequests = window.__scepterRequests || [];

/** A non-2xx answer: its status, the parsed problem+json (or null) and the headers. */
export class ApiError extends Error {
  constructor(status, problem, headers) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem;
    this.headers = headers;
  }
}

/** `template` with each `{name}` replaced by `params[name]`, URL-encoded. */
function expand(template, params) {
  return template.replace(/\{([^}]+)\}/g, (_, name) => {
    if (params[name] === undefined || params[name] === null) {
      throw new Error(`missing path parameter ${name} for ${template}`);
    }
    return encodeURIComponent(String(params[name]));
  });
}

function queryString(query) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue;
    if (Array.isArray(value)) {
      for (const item of value) search.append(key, String(item));
    } else {
      search.append(key, String(value));
    }
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** Sends the user back to sign in, saying why. */
function expireSession(message) {
  session.signOut();
  session.flash(message);
  if (location.hash !== '#/sign-in') location.hash = '#/sign-in';
}

async function parseBody(response) {
  if (response.status === 204 || response.status === 304) return null;
  const type = response.headers.get('Content-Type') || '';
  if (type.includes('json')) {
    const text = await response.text();
    return text ? JSON.parse(text) : null;
  }
  return response.text();
}

/**
 * Calls `method template` with the session's token. Resolves to
 * `{ status, headers, body }` for 2xx; throws ApiError otherwise. 401 (or an
 * expired token) signs the user out and shows the sign-in page first.
 */
export async function call(method, template, { params = {}, query = {}, body, headers = {}, raw = false } = {}) {
  window.__scepterRequests.push({ method: method.toUpperCase(), template });
  const url = expand(template, params) + queryString(query);
  const token = session.token();
  if (!token || session.expired()) {
    expireSession(token ? 'Your token has expired. Sign in again.' : 'Sign in with a token.');
    throw new ApiError(401, null, new Headers());
  }
  const requestHeaders = { Accept: 'application/json', Authorization: `Bearer ${token}`, ...headers };
  let payload;
  if (body !== undefined) {
    if (typeof body === 'string' || body instanceof Blob) {
      payload = body;
    } else {
      payload = JSON.stringify(body);
      requestHeaders['Content-Type'] = 'application/json';
    }
  }
  const response = await fetch(url, {
    method: method.toUpperCase(),
    headers: requestHeaders,
    body: payload,
    credentials: 'omit',
    cache: 'no-store',
  });
  if (response.ok) {
    const result = raw ? await response.blob() : await parseBody(response);
    return { status: response.status, headers: response.headers, body: result };
  }
  let problem = null;
  try {
    const parsed = await parseBody(response);
    problem = parsed && typeof parsed === 'object' ? parsed : null;
  } catch {
    problem = null;
  }
  if (response.status === 401) {
    expireSession('The server did not accept your token (expired or invalid). Sign in again.');
  }
  throw new ApiError(response.status, problem, response.headers);
}

/** Every item of a paged list: follows `nextCursor` (at most `maxPages` pages). */
export async function listAll(template, opts = {}, maxPages = 100) {
  const items = [];
  let cursor;
  for (let page = 0; page < maxPages; page += 1) {
    const query = { limit: 500, ...(opts.query || {}), cursor };
    const { body } = await call('GET', template, { ...opts, query });
    items.push(...(body?.items || []));
    cursor = body?.nextCursor;
    if (!cursor) break;
  }
  return items;
}
