// Device statuses behind the dashboard's numbers: one SCEP profile's
// (`/profiles/scep/:id/statuses`, GET …/device-statuses paged by the server)
// or every profile's (`/statuses`). `state` is the API's own filter;
// `diagnosticCode` and `expiring` (7 | 30 | expired) are applied here, over
// the loaded statuses, since the API has no such filter — the page says so.

import { call, listAll } from '../api.js';
import { h, table, pager, formatDate, field, notice, add } from '../dom.js';
import { link, navigate } from '../router.js';
import { badge, withQuery } from './common.js';
import { STATES } from './dashboard.js';

const STATUSES = '/api/v1/scep-certificate-profiles/{id}/device-statuses';
/** The most statuses filtered in the browser (each needs the device's certificates for `expiring`). */
const CLIENT_FILTER_LIMIT = 2000;
const EXPIRY_LOOKUP_LIMIT = 200;
const DAY = 24 * 3600 * 1000;

/** The certificate the report counts for (device, profile): the newest not revoked. */
function currentCertificate(certificates, profileId) {
  return certificates
    .filter((c) => c.profileId === profileId && c.certificateRevokeStatus !== 'revoked')
    .sort((a, b) => String(b.issuedDateTime).localeCompare(String(a.issuedDateTime)))[0];
}

function inWindow(certificate, expiring, now) {
  if (!certificate) return false;
  const notAfter = new Date(certificate.notAfter).getTime();
  if (expiring === 'expired') return notAfter <= now;
  const days = Number(expiring);
  return notAfter > now && notAfter <= now + days * DAY;
}

function filters(basePath, query) {
  const state = h(
    'select',
    { name: 'state' },
    h('option', { value: '' }, 'Any state'),
    STATES.map(([key, label]) => h('option', { value: key, selected: query.state === key }, label)),
  );
  const expiring = h(
    'select',
    { name: 'expiring' },
    h('option', { value: '' }, 'Any'),
    [['7', 'Within 7 days'], ['30', 'Within 30 days'], ['expired', 'Expired, still in use']].map(([value, label]) =>
      h('option', { value, selected: query.expiring === value }, label),
    ),
  );
  const code = h('input', { name: 'diagnosticCode', value: query.diagnosticCode || '', placeholder: '0x80070005' });
  return h(
    'form',
    {
      class: 'toolbar',
      role: 'search',
      onsubmit: (event) => {
        event.preventDefault();
        navigate(withQuery(basePath, { state: state.value, expiring: expiring.value, diagnosticCode: code.value.trim() }));
      },
    },
    field('State', state),
    field('Certificate expiry', expiring),
    field('Diagnostic code', code),
    h('button', { type: 'submit' }, 'Filter'),
  );
}

function columns(profileNames, withProfile, expiryOf) {
  return [
    { title: 'Device', render: (row) => link(`/devices/${encodeURIComponent(row.deviceId)}`, row.deviceName || row.deviceId) },
    withProfile
      ? { title: 'Profile', render: (row) => link(`/profiles/scep/${encodeURIComponent(row.profileId)}`, profileNames.get(row.profileId) || row.profileId) }
      : null,
    { title: 'State', render: (row) => badge(row.state) },
    { title: 'Diagnostic', render: (row) => (row.diagnosticCode ? [h('code', {}, row.diagnosticCode), ' ', row.diagnosticName || ''] : '') },
    { title: 'Reason', render: (row) => row.reason || '' },
    { title: 'Updated', render: (row) => formatDate(row.lastUpdatedDateTime) },
    expiryOf ? { title: 'Certificate expires', render: (row) => formatDate(expiryOf.get(row)?.notAfter) } : null,
  ].filter(Boolean);
}

async function render(main, params, query) {
  const profileId = params.id || null;
  const basePath = profileId ? `/profiles/scep/${encodeURIComponent(profileId)}/statuses` : '/statuses';
  // The profiles themselves, not the health report: that is a snapshot up to
  // a minute old, which would miss a profile created since.
  const profiles = await listAll('/api/v1/scep-certificate-profiles');
  const profileNames = new Map(profiles.map((p) => [p.id, p.displayName]));
  const title = profileId ? `Device statuses: ${profileNames.get(profileId) || profileId}` : 'Device statuses (all SCEP profiles)';
  add(main,
    h('h1', {}, title),
    profileId ? h('p', {}, link(`/profiles/scep/${encodeURIComponent(profileId)}`, 'Open the profile')) : null,
    filters(basePath, query),
  );
  const clientSide = !profileId || query.diagnosticCode || query.expiring;
  if (!clientSide) {
    const { body } = await call('GET', STATUSES, { params: { id: profileId }, query: { state: query.state, cursor: query.cursor, limit: 100 } });
    add(main,
      h('p', { class: 'muted summary' }, STATES.map(([key, label]) => `${label}: ${body.summary[key]}`).join(' · '), ` (as of ${formatDate(body.summaryGeneratedDateTime)})`),
      table(columns(profileNames, false, null), body.items, { empty: 'No devices in this state.' }),
      pager(body.nextCursor, (cursor) => navigate(withQuery(basePath, { ...query, cursor })), {
        onFirst: query.cursor ? () => navigate(withQuery(basePath, { ...query, cursor: '' })) : undefined,
      }),
    );
    return;
  }
  const profileIds = profileId ? [profileId] : profiles.map((p) => p.id);
  let rows = [];
  for (const id of profileIds) {
    const items = await listAll(STATUSES, { params: { id }, query: { state: query.state } }, 5);
    rows.push(...items.map((item) => ({ ...item, profileId: id })));
    if (rows.length >= CLIENT_FILTER_LIMIT) break;
  }
  const notes = [];
  if (query.diagnosticCode) {
    rows = rows.filter((row) => (row.diagnosticCode || '').toLowerCase() === query.diagnosticCode.toLowerCase());
    notes.push(`diagnostic code ${query.diagnosticCode}`);
  }
  let expiryOf = null;
  if (query.expiring) {
    expiryOf = new Map();
    const now = Date.now();
    const certificatesByDevice = new Map();
    const candidates = rows.filter((row) => !['revoked', 'pending', 'challengeIssued'].includes(row.state)).slice(0, EXPIRY_LOOKUP_LIMIT);
    if (candidates.length < rows.length) notes.push(`certificates read for the first ${candidates.length} devices`);
    const kept = [];
    for (const row of candidates) {
      if (!certificatesByDevice.has(row.deviceId)) {
        const { body } = await call('GET', '/api/v1/devices/{id}/certificates', { params: { id: row.deviceId } });
        certificatesByDevice.set(row.deviceId, body.items);
      }
      const certificate = currentCertificate(certificatesByDevice.get(row.deviceId), row.profileId);
      if (inWindow(certificate, query.expiring, now)) {
        expiryOf.set(row, certificate);
        kept.push(row);
      }
    }
    rows = kept;
    notes.push(query.expiring === 'expired' ? 'current certificate expired' : `current certificate expiring within ${query.expiring} days`);
  }
  add(main,
    notes.length
      ? notice('info', `Filtered in the browser over the loaded statuses (the API has no such filter): ${notes.join(', ')}.`)
      : null,
    h('p', { class: 'muted summary' }, `${rows.length} device statuses.`),
    table(columns(profileNames, !profileId, expiryOf), rows, { empty: 'No devices match.' }),
  );
}

export const routes = [
  { pattern: '/statuses', render },
  { pattern: '/profiles/scep/:id/statuses', render },
];
