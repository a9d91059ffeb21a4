// Pieces several pages share: loading states, badges, details lists,
// client-side search over a loaded page.

import { h, notice, fill } from '../dom.js';

/** A `<dl>` of [label, value] pairs; empty values show as "—". */
export function details(pairs) {
  return h(
    'dl',
    { class: 'details' },
    pairs.map(([label, value]) => [
      h('dt', {}, label),
      h('dd', {}, value === null || value === undefined || value === '' ? '—' : value),
    ]),
  );
}

/** A small label for a state or code. */
export function badge(text) {
  return h('span', { class: `badge badge-${String(text).replace(/[^A-Za-z0-9-]/g, '')}` }, text);
}

/** Replaces `slot`'s content with an error notice for `error` (nothing on 401: the user is being sent to sign in). */
export function showError(slot, error, what = 'This') {
  if (error?.status === 401) return;
  fill(slot, notice('error', `${what} could not be loaded: ${error?.problem?.detail || error?.message || error}`));
}

/** Whether any of `values` contains `needle` (case-insensitive); an empty needle matches everything. */
export function matches(needle, ...values) {
  const wanted = needle.trim().toLowerCase();
  if (!wanted) return true;
  return values.some((value) => value !== null && value !== undefined && String(value).toLowerCase().includes(wanted));
}

/** A query string for a console route, dropping empty values. */
export function withQuery(path, query) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') search.set(key, value);
  }
  const text = search.toString();
  return text ? `${path}?${text}` : path;
}
