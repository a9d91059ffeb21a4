// Groups: searchable list, create/edit/delete for admins, and a group page
// with its members (paged), adding members through a search picker over the
// users or devices (by the group's type) and removing them (confirmed).

import { call, listAll } from '../api.js';
import { h, table, pager, field, notice, formatDate, confirmDialog, add, fill } from '../dom.js';
import { link, navigate } from '../router.js';
import * as session from '../session.js';
import { describeError } from '../forms.js';
import { renderList, renderDetail } from './directory.js';
import { withQuery, matches } from './common.js';

const FIELDS = [
  { name: 'displayName', label: 'Display name', required: true },
  { name: 'groupType', label: 'Group type', type: 'select', options: [['user', 'Users'], ['device', 'Devices']], required: true },
  { name: 'description', label: 'Description', type: 'textarea' },
  { name: 'externalId', label: 'External id' },
];

const columns = [
  { title: 'Group', render: (g) => link(`/groups/${encodeURIComponent(g.id)}`, g.displayName) },
  { title: 'Members', render: (g) => (g.groupType === 'user' ? 'Users' : 'Devices') },
  { title: 'Description', render: (g) => g.description || '' },
  { title: 'Changed', render: (g) => formatDate(g.lastModifiedDateTime) },
];

async function list(main, _params, query) {
  await renderList(main, query, {
    title: 'Groups',
    noun: 'group',
    template: '/api/v1/groups',
    path: '/groups',
    columns,
    fields: FIELDS,
    search: (g) => [g.displayName, g.description, g.externalId],
    searchHint: 'Name, description or external id.',
  });
}

function memberPath(member) {
  return member.memberType === 'user' ? `/users/${encodeURIComponent(member.id)}` : `/devices/${encodeURIComponent(member.id)}`;
}

async function detail(main, params, query) {
  const id = params.id;
  const group = await renderDetail(main, id, {
    noun: 'group',
    template: '/api/v1/groups/{id}',
    listPath: '/groups',
    title: (g) => g.displayName,
    fields: FIELDS,
    draftOf: (g) => ({ displayName: g.displayName, groupType: g.groupType, description: g.description ?? '', externalId: g.externalId ?? '' }),
    facts: (g) => [
      ['Members are', g.groupType === 'user' ? 'users' : 'devices'],
      ['Description', g.description],
      ['External id', g.externalId],
      ['Created', formatDate(g.createdDateTime)],
      ['Changed', formatDate(g.lastModifiedDateTime)],
      ['Version', String(g.version)],
      ['Id', h('code', {}, g.id)],
    ],
  });
  const status = h('div', { 'aria-live': 'polite' });
  const here = `/groups/${encodeURIComponent(id)}`;
  add(main, h('h2', {}, 'Members'), status);
  if (session.canWrite()) add(main, memberPicker(group, status));
  const { body } = await call('GET', '/api/v1/groups/{id}/members', { params: { id }, query: { limit: 100, cursor: query.cursor } });
  const remove = (member) =>
    h(
      'button',
      {
        type: 'button',
        class: 'danger',
        'aria-label': `Remove ${member.displayName}`,
        onclick: async () => {
          if (!(await confirmDialog(`Remove ${member.displayName} from ${group.displayName}?`, { confirmLabel: 'Remove', title: 'Remove member?' }))) return;
          try {
            await call('DELETE', '/api/v1/groups/{id}/members/{memberId}', { params: { id, memberId: member.id } });
            navigate(here);
          } catch (error) {
            if (error?.status !== 401) fill(status, notice('error', `Not removed: ${describeError(error)}`));
          }
        },
      },
      'Remove',
    );
  add(main, 
    table(
      [
        { title: 'Member', render: (m) => link(memberPath(m), m.displayName) },
        { title: 'Kind', render: (m) => m.memberType },
        { title: 'External id', render: (m) => m.externalId || '' },
        session.canWrite() ? { title: 'Actions', render: remove } : null,
      ].filter(Boolean),
      body.items,
      { empty: 'No members yet.', caption: `Members of ${group.displayName}` },
    ),
    pager(body.nextCursor, (cursor) => navigate(withQuery(here, { cursor })), {
      onFirst: query.cursor ? () => navigate(here) : undefined,
    }),
    h('p', {}, link(`/audit?resourceId=${encodeURIComponent(id)}`, 'Changes to this group (audit log)')),
  );
}

/** Search the users or devices (the group's kind) and add the chosen one. */
function memberPicker(group, status) {
  const kind = group.groupType === 'user' ? 'user' : 'device';
  const input = h('input', { type: 'search', name: 'memberSearch', autocomplete: 'off' });
  const results = h('div', { class: 'picker-results', 'aria-live': 'polite' });
  let candidates = null;
  const search = async () => {
    if (!candidates) {
      candidates = await listAll(kind === 'user' ? '/api/v1/users' : '/api/v1/devices', {}, 10);
    }
    const found = candidates
      .filter((c) => (kind === 'user' ? matches(input.value, c.displayName, c.userPrincipalName, c.mail) : matches(input.value, c.deviceName, c.serialNumber)))
      .slice(0, 20);
    fill(results, 
      found.length
        ? h(
            'ul',
            { class: 'picker-list', 'aria-label': `Matching ${kind}s` },
            found.map((c) => {
              const name = kind === 'user' ? `${c.displayName} (${c.userPrincipalName})` : c.deviceName;
              return h(
                'li',
                {},
                h(
                  'button',
                  {
                    type: 'button',
                    'aria-label': `Add ${name}`,
                    onclick: async () => {
                      try {
                        await call('POST', '/api/v1/groups/{id}/members', { params: { id: group.id }, body: { memberIds: [c.id] } });
                        navigate(`/groups/${encodeURIComponent(group.id)}`);
                      } catch (error) {
                        if (error?.status !== 401) fill(status, notice('error', `Not added: ${error.problem?.errors?.map((e) => e.message).join(' ') || describeError(error)}`));
                      }
                    },
                  },
                  'Add',
                ),
                ' ',
                name,
              );
            }),
          )
        : h('p', { class: 'muted' }, `No ${kind} matches.`),
    );
  };
  return h(
    'form',
    {
      class: 'card picker',
      role: 'search',
      onsubmit: (event) => {
        event.preventDefault();
        search().catch((error) => fill(status, notice('error', describeError(error))));
      },
    },
    h('h3', {}, `Add a ${kind}`),
    h('div', { class: 'toolbar' }, field(`Find ${kind}s to add`, input, { hint: kind === 'user' ? 'Name, principal name or mail.' : 'Name or serial number.' }), h('button', { type: 'submit' }, 'Find')),
    results,
  );
}

export const routes = [
  { pattern: '/groups', render: list },
  { pattern: '/groups/:id', render: detail },
];
