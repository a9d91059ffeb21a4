// Audit log: GET /api/v1/audit-events filtered by resource, actor, action and
// time, keyset pages; each entry opens to its field-level changes (JSON
// Pointer path, before, after — JSON shown as text, never as markup).

import { call } from '../api.js';
import { h, table, pager, formatDate, jsonText, add } from '../dom.js';
import { navigate, link } from '../router.js';
import { filterForm } from './filters.js';
import { withQuery } from './common.js';

const ACTIONS = ['create', 'replace', 'delete', 'assign', 'unassign', 'addMembers', 'removeMember', 'issueCredential', 'revokeCredentials', 'revokeCertificate', 'import'];

const SPECS = [
  { name: 'resourceId', label: 'Resource id' },
  { name: 'resourceType', label: 'Resource type', type: 'select', options: ['trustedCertificateProfile', 'scepCertificateProfile', 'user', 'device', 'group', 'certificate', 'import'] },
  { name: 'actor', label: 'Actor', hint: 'The token subject.' },
  { name: 'action', label: 'Action', type: 'select', options: ACTIONS },
  { name: 'from', label: 'From', type: 'datetime' },
  { name: 'to', label: 'Before', type: 'datetime' },
];

const RESOURCE_PATHS = {
  device: '/devices/',
  user: '/users/',
  group: '/groups/',
  scepCertificateProfile: '/profiles/scep/',
  trustedCertificateProfile: '/profiles/trusted/',
};

function resource(entry) {
  if (!entry.resourceId) return entry.resourceType;
  const base = RESOURCE_PATHS[entry.resourceType];
  const label = `${entry.resourceType} ${entry.resourceId.slice(0, 8)}`;
  return base ? link(`${base}${encodeURIComponent(entry.resourceId)}`, label) : label;
}

function value(v) {
  return v === undefined ? h('span', { class: 'muted' }, '(absent)') : h('pre', {}, jsonText(v));
}

function entryView(entry) {
  return h(
    'details',
    { class: 'entry card', dataset: { id: entry.id } },
    h(
      'summary',
      {},
      h('time', { datetime: entry.occurredDateTime }, formatDate(entry.occurredDateTime)),
      ' · ',
      h('strong', {}, entry.action),
      ' · ',
      resource(entry),
      ' · by ',
      entry.actor,
      ` (${entry.role})`,
      ` · ${entry.changes.length} change${entry.changes.length === 1 ? '' : 's'}`,
    ),
    entry.requestId ? h('p', { class: 'muted' }, 'Request id ', h('code', {}, entry.requestId)) : null,
    table(
      [
        { title: 'Path', render: (c) => h('code', {}, c.path) },
        { title: 'Before', render: (c) => value(c.before) },
        { title: 'After', render: (c) => value(c.after) },
      ],
      entry.changes,
      { empty: 'No field-level changes recorded.', caption: 'Changes' },
    ),
  );
}

async function render(main, _params, query) {
  add(main, h('h1', {}, 'Audit log'), filterForm('/audit', query, SPECS));
  const { body } = await call('GET', '/api/v1/audit-events', {
    query: { resourceId: query.resourceId, resourceType: query.resourceType, actor: query.actor, action: query.action, from: query.from, to: query.to, cursor: query.cursor, limit: 50 },
  });
  add(main, 
    body.items.length ? h('div', { class: 'entries' }, body.items.map(entryView)) : h('p', { class: 'muted empty' }, 'No entries match.'),
    pager(body.nextCursor, (cursor) => navigate(withQuery('/audit', { ...query, cursor })), {
      onFirst: query.cursor ? () => navigate(withQuery('/audit', { ...query, cursor: '' })) : undefined,
    }),
  );
}

export const routes = [{ pattern: '/audit', render }];
