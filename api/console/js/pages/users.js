// Users: searchable list, create/edit/delete for admins, and a user page with
// the user's devices (GET /api/v1/devices has no user filter, so the devices
// are found by reading the device list).

import { listAll } from '../api.js';
import { h, table, formatDate, add } from '../dom.js';
import { link } from '../router.js';
import { renderList, renderDetail } from './directory.js';

const FIELDS = [
  { name: 'userPrincipalName', label: 'User principal name', required: true, hint: 'e.g. jane@contoso.com' },
  { name: 'displayName', label: 'Display name', required: true },
  { name: 'mail', label: 'Mail' },
  { name: 'externalId', label: 'External id' },
  { name: 'onPremisesSamAccountName', label: 'On-premises SAM account name' },
  { name: 'onPremisesDistinguishedName', label: 'On-premises distinguished name' },
  { name: 'onPremisesSecurityIdentifier', label: 'On-premises security identifier' },
];

const columns = [
  { title: 'Name', render: (user) => link(`/users/${encodeURIComponent(user.id)}`, user.displayName) },
  { title: 'User principal name', render: (user) => user.userPrincipalName },
  { title: 'Mail', render: (user) => user.mail || '' },
  { title: 'Changed', render: (user) => formatDate(user.lastModifiedDateTime) },
];

function draftOf(user) {
  return Object.fromEntries(FIELDS.map(({ name }) => [name, user[name] ?? '']));
}

async function list(main, _params, query) {
  await renderList(main, query, {
    title: 'Users',
    noun: 'user',
    template: '/api/v1/users',
    path: '/users',
    columns,
    fields: FIELDS,
    search: (user) => [user.displayName, user.userPrincipalName, user.mail, user.externalId],
    searchHint: 'Name, principal name, mail or external id.',
  });
}

async function detail(main, params) {
  const user = await renderDetail(main, params.id, {
    noun: 'user',
    template: '/api/v1/users/{id}',
    listPath: '/users',
    title: (u) => u.displayName,
    fields: FIELDS,
    draftOf,
    facts: (u) => [
      ['User principal name', u.userPrincipalName],
      ['Mail', u.mail],
      ['External id', u.externalId],
      ['SAM account name', u.onPremisesSamAccountName],
      ['Distinguished name', u.onPremisesDistinguishedName],
      ['Security identifier', u.onPremisesSecurityIdentifier],
      ['Created', formatDate(u.createdDateTime)],
      ['Changed', formatDate(u.lastModifiedDateTime)],
      ['Version', String(u.version)],
      ['Id', h('code', {}, u.id)],
    ],
  });
  const devices = (await listAll('/api/v1/devices', {}, 20)).filter((device) => device.userId === user.id);
  add(main, 
    h('h2', {}, 'Devices'),
    table(
      [
        { title: 'Device', render: (d) => link(`/devices/${encodeURIComponent(d.id)}`, d.deviceName) },
        { title: 'Platform', render: (d) => d.platform },
        { title: 'Last check-in', render: (d) => formatDate(d.lastCheckInDateTime) },
      ],
      devices,
      { empty: 'This user has no devices.' },
    ),
    h('p', {}, link(`/audit?resourceId=${encodeURIComponent(user.id)}`, 'Changes to this user (audit log)')),
  );
}

export const routes = [
  { pattern: '/users', render: list },
  { pattern: '/users/:id', render: detail },
];
