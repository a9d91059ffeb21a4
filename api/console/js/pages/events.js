// Events: GET /api/v1/events with its filters (device, profile, event id,
// time range), keyset pages. `diagnosticCode` narrows the loaded page in the
// browser (the API has no such filter) and says so.

import { call } from '../api.js';
import { h, table, pager, formatDate, notice, add } from '../dom.js';
import { link, navigate } from '../router.js';
import { filterForm } from './filters.js';
import { withQuery } from './common.js';

const SPECS = [
  { name: 'deviceId', label: 'Device id' },
  { name: 'profileId', label: 'Profile id' },
  { name: 'eventId', label: 'Event id', inputType: 'number', hint: 'e.g. 20500 (verify allowed)' },
  { name: 'from', label: 'From', type: 'datetime' },
  { name: 'to', label: 'Before', type: 'datetime' },
  { name: 'diagnosticCode', label: 'Diagnostic code', hint: 'Filtered in the browser.' },
];

async function render(main, _params, query) {
  add(main, h('h1', {}, 'Events'), filterForm('/events', query, SPECS));
  const { body } = await call('GET', '/api/v1/events', {
    query: { deviceId: query.deviceId, profileId: query.profileId, eventId: query.eventId, from: query.from, to: query.to, cursor: query.cursor, limit: 100 },
  });
  let items = body.items;
  if (query.diagnosticCode) {
    items = items.filter((e) => e.diagnosticCode.toLowerCase() === query.diagnosticCode.toLowerCase());
    add(main, notice('info', `Diagnostic code ${query.diagnosticCode}: filtered in the browser over this page of events (the API has no such filter).`));
  }
  add(main, 
    table(
      [
        { title: 'When', render: (e) => formatDate(e.occurredDateTime) },
        { title: 'Event', render: (e) => `${e.eventId} ${e.eventName}` },
        { title: 'Diagnostic', render: (e) => [h('code', {}, e.diagnosticCode), ` ${e.diagnosticName}`] },
        { title: 'Device', render: (e) => (e.deviceId ? link(`/devices/${encodeURIComponent(e.deviceId)}`, e.deviceId.slice(0, 8)) : '') },
        { title: 'Profile', render: (e) => (e.profileId ? link(`/profiles/scep/${encodeURIComponent(e.profileId)}`, e.profileId.slice(0, 8)) : '') },
        { title: 'Message', render: (e) => e.message },
      ],
      items,
      { empty: 'No events match.' },
    ),
    pager(body.nextCursor, (cursor) => navigate(withQuery('/events', { ...query, cursor })), {
      onFirst: query.cursor ? () => navigate(withQuery('/events', { ...query, cursor: '' })) : undefined,
    }),
  );
}

export const routes = [{ pattern: '/events', render }];
