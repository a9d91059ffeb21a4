// Hash routing: the whole console is /console/#/<path>?<query>, so a reload
// keeps the page and the server serves one document.

import { h } from './dom.js';

const routes = [];
let outlet = null;
let guard = null;

/** Adds a route: `pattern` like '/devices/:id'; `render(main, params, query)` may be async. */
export function register(pattern, render) {
  const names = [];
  const source = pattern
    .split('/')
    .map((segment) => {
      if (segment.startsWith(':')) {
        names.push(segment.slice(1));
        return '([^/]+)';
      }
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  routes.push({ pattern, regex: new RegExp(`^${source}/?$`), names, render });
}

/** Goes to `path` ('/devices?cursor=...'). */
export function navigate(path) {
  const target = `#${path.startsWith('/') ? path : `/${path}`}`;
  if (location.hash === target) {
    dispatch();
  } else {
    location.hash = target;
  }
}

/** A link to a console page. */
export function link(path, text, attrs = {}) {
  return h('a', { ...attrs, href: `#${path.startsWith('/') ? path : `/${path}`}` }, text);
}

/** The current path and query, parsed from the hash. */
export function current() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, search = ''] = hash.split('?', 2);
  return { path: path || '/', query: Object.fromEntries(new URLSearchParams(search)) };
}

function match(path) {
  for (const route of routes) {
    const found = route.regex.exec(path);
    if (found) {
      const params = {};
      route.names.forEach((name, index) => {
        params[name] = decodeURIComponent(found[index + 1]);
      });
      return { route, params };
    }
  }
  return null;
}

/** Renders the current hash into a fresh container: a slow page that finishes after the user moved on writes into a detached node. */
export async function dispatch() {
  if (!outlet) return;
  const { path, query } = current();
  if (guard && !guard(path)) return;
  const container = h('div', { class: 'page' });
  outlet.replaceChildren(container);
  const found = match(path);
  if (!found) {
    container.append(h('h1', {}, 'Not found'), h('p', {}, 'No console page has this address. '), link('/', 'Back to the Dashboard'));
    return;
  }
  try {
    await found.route.render(container, found.params, query);
  } catch (error) {
    if (error?.status === 401) return;
    container.append(
      h('div', { class: 'notice notice-error', role: 'alert' }, `This page could not be loaded: ${error?.message || error}`),
    );
  }
  window.dispatchEvent(new CustomEvent('scepter:rendered', { detail: { path } }));
}

/**
 * Starts routing into `main`. `beforeEach(path)` may redirect (return false)
 * — the app uses it to send a signed-out user to the sign-in page.
 */
export function start(main, beforeEach) {
  outlet = main;
  guard = beforeEach;
  window.addEventListener('hashchange', dispatch);
  dispatch();
}
