// The list and detail scaffolding the directory pages (devices, users,
// groups) share: a searchable keyset-paged list with a create form for
// admins, and a detail page with edit (PUT + If-Match) and delete (confirmed,
// DELETE + If-Match). Pages supply their fields, columns and extra sections.

import { call, listAll } from '../api.js';
import { h, table, pager, field, notice, confirmDialog, add, fill } from '../dom.js';
import { link, navigate } from '../router.js';
import * as session from '../session.js';
import { resourceForm, describeError } from '../forms.js';
import { details, withQuery } from './common.js';

/** Pages loaded for a search: the API has no name filter, so search runs over up to this many items. */
const SEARCH_PAGES = 10;
const PAGE_SIZE = 50;

/**
 * A list page. `config`: { title, noun, template, path, columns, search(row) → [values],
 * fields (create form; may be a function returning a promise), toDraft?(draft) }.
 */
export async function renderList(main, query, config) {
  add(main, h('h1', {}, config.title));
  if (session.canWrite()) {
    const slot = h('div');
    const open = h(
      'button',
      {
        type: 'button',
        class: 'primary',
        onclick: async () => {
          open.hidden = true;
          const fields = typeof config.fields === 'function' ? await config.fields() : config.fields;
          fill(slot, 
            h('h2', {}, `New ${config.noun}`),
            resourceForm({
              fields,
              submitLabel: `Create ${config.noun}`,
              onCancel: () => {
                fill(slot);
                open.hidden = false;
              },
              onSubmit: async (draft) => {
                const { body } = await call('POST', config.template, { body: config.toDraft ? config.toDraft(draft) : draft });
                navigate(`${config.path}/${encodeURIComponent(body.id)}`);
              },
            }),
          );
          slot.querySelector('input, select')?.focus();
        },
      },
      `Create ${config.noun}`,
    );
    add(main, h('div', { class: 'toolbar' }, open), slot);
  }

  const search = h('input', { type: 'search', name: 'q', value: query.q || '' });
  add(main, 
    h(
      'form',
      {
        class: 'toolbar',
        role: 'search',
        onsubmit: (event) => {
          event.preventDefault();
          navigate(withQuery(config.path, { q: search.value.trim() }));
        },
      },
      field(`Search ${config.noun}s`, search, { hint: config.searchHint }),
      h('button', { type: 'submit' }, 'Search'),
      query.q ? h('button', { type: 'button', onclick: () => navigate(config.path) }, 'Clear') : null,
    ),
  );

  if (query.q) {
    const items = await listAll(config.template, {}, SEARCH_PAGES);
    const found = items.filter((row) => config.search(row).some((value) => value && String(value).toLowerCase().includes(query.q.toLowerCase())));
    add(main, 
      h('p', { class: 'muted' }, `${found.length} of ${items.length} ${config.noun}s match “${query.q}” (searched in the browser: the API lists ${config.noun}s without a name filter).`),
      table(config.columns, found, { empty: `No ${config.noun} matches.` }),
    );
    return;
  }
  const { body } = await call('GET', config.template, { query: { limit: PAGE_SIZE, cursor: query.cursor } });
  add(main, 
    table(config.columns, body.items, { empty: `No ${config.noun}s yet.` }),
    pager(body.nextCursor, (cursor) => navigate(withQuery(config.path, { cursor })), {
      onFirst: query.cursor ? () => navigate(config.path) : undefined,
    }),
  );
}

/**
 * The top of a detail page: heading, facts, and for admins Edit and Delete.
 * `config`: { noun, template ('/api/v1/devices/{id}'), listPath, title(resource),
 * facts(resource) → [[label, value]], fields (may be async function), toDraft?, draftOf(resource) }.
 * Returns the loaded resource.
 */
export async function renderDetail(main, id, config) {
  const { body: resource, headers } = await call('GET', config.template, { params: { id } });
  const etag = headers.get('ETag');
  const status = h('div', { 'aria-live': 'polite' });
  const editSlot = h('div');
  add(main, h('h1', {}, config.title(resource)), status);
  if (session.canWrite()) {
    const edit = h(
      'button',
      {
        type: 'button',
        onclick: async () => {
          edit.disabled = true;
          const fields = typeof config.fields === 'function' ? await config.fields() : config.fields;
          fill(editSlot, 
            h('h2', {}, `Edit ${config.noun}`),
            resourceForm({
              fields,
              initial: config.draftOf(resource),
              submitLabel: 'Save',
              onCancel: () => {
                fill(editSlot);
                edit.disabled = false;
              },
              onConflict: () => navigate(location.hash.slice(1)),
              onSubmit: async (draft) => {
                await call('PUT', config.template, {
                  params: { id },
                  body: config.toDraft ? config.toDraft(draft) : draft,
                  headers: { 'If-Match': etag },
                });
                navigate(location.hash.slice(1));
              },
            }),
          );
          editSlot.querySelector('input, select')?.focus();
        },
      },
      'Edit',
    );
    const remove = h(
      'button',
      {
        type: 'button',
        class: 'danger',
        onclick: async () => {
          if (!(await confirmDialog(`Delete the ${config.noun} “${config.title(resource)}”? This cannot be undone.`))) return;
          try {
            await call('DELETE', config.template, { params: { id }, headers: { 'If-Match': etag } });
            navigate(config.listPath);
          } catch (error) {
            if (error?.status !== 401) fill(status, notice('error', `Not deleted: ${describeError(error)}`));
          }
        },
      },
      'Delete',
    );
    add(main, h('div', { class: 'toolbar' }, edit, remove));
  }
  add(main, editSlot, h('section', { class: 'card' }, details(config.facts(resource))));
  return resource;
}

/** Every user, for pickers (capped: `listAll` stops after a few pages). */
export async function allUsers() {
  return listAll('/api/v1/users', {}, 5);
}

/** A link to a user, by id. */
export function userLink(id, label) {
  return id ? link(`/users/${encodeURIComponent(id)}`, label || id) : '—';
}
