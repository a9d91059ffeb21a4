// A filter form whose values live in the page's query string, so a filtered
// list is a link (the dashboard's numbers point at such links) and the back
// button works.

import { h, field } from '../dom.js';
import { navigate } from '../router.js';
import { withQuery } from './common.js';

/** `datetime-local` value ↔ RFC 3339 (the API's `from`/`to`). */
export function toRfc3339(local) {
  if (!local) return '';
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? '' : date.toISOString();
}

function toLocal(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/**
 * `specs`: [{ name, label, type: 'text' | 'select' | 'datetime', options, hint }];
 * submitting navigates to `path` with the values (datetimes as RFC 3339).
 */
export function filterForm(path, query, specs) {
  const inputs = specs.map((spec) => {
    if (spec.type === 'select') {
      return h(
        'select',
        { name: spec.name },
        h('option', { value: '' }, 'Any'),
        spec.options.map((option) => h('option', { value: option, selected: query[spec.name] === option }, option)),
      );
    }
    if (spec.type === 'datetime') return h('input', { type: 'datetime-local', name: spec.name, value: toLocal(query[spec.name]) });
    return h('input', { type: spec.inputType || 'text', name: spec.name, value: query[spec.name] || '', autocomplete: 'off' });
  });
  return h(
    'form',
    {
      class: 'toolbar filters',
      role: 'search',
      onsubmit: (event) => {
        event.preventDefault();
        const values = {};
        specs.forEach((spec, index) => {
          const value = inputs[index].value.trim();
          values[spec.name] = spec.type === 'datetime' ? toRfc3339(value) : value;
        });
        navigate(withQuery(path, values));
      },
    },
    specs.map((spec, index) => field(spec.label, inputs[index], { hint: spec.hint })),
    h('button', { type: 'submit' }, 'Filter'),
    Object.keys(query).length ? h('button', { type: 'button', onclick: () => navigate(path) }, 'Clear') : null,
  );
}
