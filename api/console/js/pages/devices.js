// Devices: searchable list with create for admins, and the device page —
// details (edit/delete), effective profiles with the explain reasons, the
// enrollment diagnosis and timeline per SCEP profile, issued certificates
// (revoke by hand) and the device credential (issued once, shown once).

import { call, listAll } from '../api.js';
import { h, table, formatDate, notice, confirmDialog, add, fill } from '../dom.js';
import { link } from '../router.js';
import * as session from '../session.js';
import { PLATFORMS, describeError } from '../forms.js';
import { renderList, renderDetail, allUsers, userLink } from './directory.js';
import { badge, showError } from './common.js';

const OPTIONAL = [
  ['serialNumber', 'Serial number'],
  ['osVersion', 'OS version'],
  ['imei', 'IMEI'],
  ['meid', 'MEID'],
  ['wiFiMacAddress', 'Wi-Fi MAC address'],
  ['azureADDeviceId', 'Azure AD device id'],
  ['fullyQualifiedDomainName', 'Fully qualified domain name'],
  ['externalId', 'External id'],
];

/** The device form: the primary user is picked from the users (by name, sent as id). */
async function fields() {
  const users = await allUsers();
  return [
    { name: 'deviceName', label: 'Device name', required: true },
    { name: 'platform', label: 'Platform', type: 'select', options: PLATFORMS, required: true },
    {
      name: 'userId',
      label: 'Primary user',
      type: 'select',
      emptyLabel: '(no primary user)',
      options: users.map((user) => [user.id, `${user.displayName} (${user.userPrincipalName})`]),
    },
    ...OPTIONAL.map(([name, label]) => ({ name, label })),
  ];
}

function draftOf(device) {
  return Object.fromEntries(['deviceName', 'platform', 'userId', ...OPTIONAL.map(([name]) => name)].map((name) => [name, device[name] ?? '']));
}

const columns = [
  { title: 'Device', render: (d) => link(`/devices/${encodeURIComponent(d.id)}`, d.deviceName) },
  { title: 'Platform', render: (d) => d.platform },
  { title: 'Serial number', render: (d) => d.serialNumber || '' },
  { title: 'Last check-in', render: (d) => formatDate(d.lastCheckInDateTime) },
];

async function list(main, _params, query) {
  await renderList(main, query, {
    title: 'Devices',
    noun: 'device',
    template: '/api/v1/devices',
    path: '/devices',
    columns,
    fields,
    search: (d) => [d.deviceName, d.serialNumber, d.imei, d.externalId, d.id],
    searchHint: 'Name, serial number, IMEI, external id or id.',
  });
}

async function detail(main, params) {
  const id = params.id;
  const device = await renderDetail(main, id, {
    noun: 'device',
    template: '/api/v1/devices/{id}',
    listPath: '/devices',
    title: (d) => d.deviceName,
    fields,
    draftOf,
    facts: (d) => [
      ['Platform', d.platform],
      ['Primary user', d.userId ? userLink(d.userId) : null],
      ...OPTIONAL.map(([name, label]) => [label, d[name]]),
      ['Enrolled', formatDate(d.enrolledDateTime)],
      ['Last check-in', formatDate(d.lastCheckInDateTime)],
      ['Changed', formatDate(d.lastModifiedDateTime)],
      ['Version', String(d.version)],
      ['Id', h('code', {}, d.id)],
    ],
  });
  if (device.userId) {
    // Show the user's name rather than the id once it is known (the facts render first).
    call('GET', '/api/v1/users/{id}', { params: { id: device.userId } })
      .then(({ body: user }) => {
        const anchor = main.querySelector(`a[href="#/users/${CSS.escape(encodeURIComponent(user.id))}"]`);
        if (anchor) anchor.textContent = `${user.displayName} (${user.userPrincipalName})`;
      })
      .catch(() => {});
  }
  const sections = {
    diagnosis: h('section', { class: 'card', 'aria-labelledby': 'diagnosis-title' }, h('h2', { id: 'diagnosis-title' }, 'Enrollment diagnosis'), h('p', { class: 'muted' }, 'Loading…')),
    effective: h('section', { class: 'card', 'aria-labelledby': 'effective-title' }, h('h2', { id: 'effective-title' }, 'Effective profiles'), h('p', { class: 'muted' }, 'Loading…')),
    certificates: h('section', { class: 'card', 'aria-labelledby': 'certificates-title' }, h('h2', { id: 'certificates-title' }, 'Issued certificates'), h('p', { class: 'muted' }, 'Loading…')),
    credential: session.canWrite() ? credentialSection(id) : null,
  };
  add(main, 
    sections.diagnosis,
    sections.effective,
    sections.certificates,
    sections.credential,
    h('p', {}, link(`/events?deviceId=${encodeURIComponent(id)}`, 'Events of this device'), ' · ', link(`/audit?resourceId=${encodeURIComponent(id)}`, 'Changes to this device (audit log)')),
  );
  const names = await profileNames();
  await Promise.all([
    diagnoses(sections.diagnosis, id).catch((error) => showError(sections.diagnosis, error, 'The diagnosis')),
    effective(sections.effective, id, names).catch((error) => showError(sections.effective, error, 'The effective profiles')),
    certificates(sections.certificates, id, names).catch((error) => showError(sections.certificates, error, 'The certificates')),
  ]);
}

/** Profile names by id (both kinds), for the sections that only carry ids. */
async function profileNames() {
  const [scep, trusted] = await Promise.all([
    listAll('/api/v1/scep-certificate-profiles', {}, 5),
    listAll('/api/v1/trusted-certificate-profiles', {}, 5),
  ]);
  const names = new Map();
  for (const p of scep) names.set(p.id, { name: p.displayName, path: `/profiles/scep/${encodeURIComponent(p.id)}` });
  for (const p of trusted) names.set(p.id, { name: p.displayName, path: `/profiles/trusted/${encodeURIComponent(p.id)}` });
  return names;
}

function profileLink(names, id, fallback) {
  const known = names.get(id);
  return known ? link(known.path, known.name) : fallback || h('code', {}, id);
}

const REASONS = {
  rootCertificateNotAssigned: 'its root certificate profile does not reach the device',
  noPrimaryUser: 'the device has no primary user (a user certificate needs one)',
  platformMismatch: 'the profile is for another platform',
  assignmentExcluded: 'an exclusion assignment removes it',
};

async function effective(section, id, names) {
  const { body } = await call('GET', '/api/v1/devices/{id}/effective-profiles', { params: { id }, query: { explain: true } });
  fill(section, 
    h('h2', { id: 'effective-title' }, 'Effective profiles'),
    h('p', { class: 'muted' }, 'Every profile that reaches the device, also excluded ones and those for another platform, and why.'),
    table(
      [
        { title: 'Profile', render: (p) => profileLink(names, p.profileId) },
        { title: 'Kind', render: (p) => (p.profileType === 'scepCertificate' ? 'SCEP' : 'Trusted root') },
        { title: 'State', render: (p) => badge(p.state) },
        { title: 'Why', render: (p) => (p.reason ? `${p.reason}: ${REASONS[p.reason] || ''}` : p.state === 'applicable' ? 'assigned to a group the device or its user is in' : '') },
        { title: 'Assignments', render: (p) => String(p.assignments.length) },
      ],
      body.items,
      { empty: 'No profile reaches this device.' },
    ),
  );
}

function timelineItem(item) {
  const facts = [];
  if (item.profileVersion !== null && item.profileVersion !== undefined) facts.push(`profile version ${item.profileVersion}`);
  if (item.reason) facts.push(`reason ${item.reason}`);
  if (item.denyReason) facts.push(`denied: ${item.denyReason}`);
  if (item.diagnosticCode) facts.push(`${item.diagnosticCode} ${item.diagnosticName || ''}`.trim());
  if (item.challengeExpirationDateTime) facts.push(`challenge expires ${formatDate(item.challengeExpirationDateTime)}`);
  if (item.serialNumber) facts.push(`serial ${item.serialNumber}`);
  if (item.notAfter) facts.push(`valid until ${formatDate(item.notAfter)}`);
  if (item.revoked !== null && item.revoked !== undefined) facts.push(item.revoked ? 'revoked' : 'not revoked');
  return h(
    'li',
    {},
    h('time', { datetime: item.occurredDateTime }, formatDate(item.occurredDateTime)),
    ' ',
    h('strong', {}, item.kind),
    facts.length ? h('span', { class: 'muted' }, ` — ${facts.join('; ')}`) : null,
    item.detail ? h('div', {}, item.detail) : null,
  );
}

async function diagnoses(section, id) {
  const { body } = await call('GET', '/api/v1/devices/{id}/enrollment-timeline', { params: { id } });
  const blocks = [];
  for (const entry of body.diagnoses) {
    const { body: timeline } = await call('GET', '/api/v1/devices/{id}/enrollment-timeline', { params: { id }, query: { profileId: entry.profileId } });
    const diagnosis = timeline.diagnosis || entry.diagnosis;
    const items = [...timeline.items].sort((a, b) => String(a.occurredDateTime).localeCompare(String(b.occurredDateTime)));
    blocks.push(
      h(
        'article',
        { class: `diagnosis diagnosis-${diagnosis.code} card`, dataset: { profileId: entry.profileId } },
        h('h3', {}, entry.displayName ? link(`/profiles/scep/${encodeURIComponent(entry.profileId)}`, entry.displayName) : `Deleted profile ${entry.profileId}`),
        h('p', {}, badge(diagnosis.code), ' ', h('span', { class: 'diagnosis-summary' }, diagnosis.summary)),
        h('p', { class: 'diagnosis-advice' }, h('strong', {}, 'Advice: '), diagnosis.advice),
        diagnosis.missingValues?.length ? h('p', {}, `Missing values: ${diagnosis.missingValues.join(', ')}`) : null,
        diagnosis.diagnosticCode ? h('p', {}, 'Diagnostic: ', h('code', {}, diagnosis.diagnosticCode), ` ${diagnosis.diagnosticName || ''}`) : null,
        h('h4', {}, 'Timeline (oldest first)'),
        items.length ? h('ol', { class: 'timeline' }, items.map(timelineItem)) : h('p', { class: 'muted' }, 'Nothing happened yet.'),
      ),
    );
  }
  fill(section, 
    h('h2', { id: 'diagnosis-title' }, 'Enrollment diagnosis'),
    blocks.length ? blocks : h('p', { class: 'muted empty' }, 'No SCEP profile reaches or reached this device.'),
  );
}

async function certificates(section, id, names) {
  const { body } = await call('GET', '/api/v1/devices/{id}/certificates', { params: { id } });
  const status = h('div', { 'aria-live': 'polite' });
  const revoke = (certificate) =>
    h(
      'button',
      {
        type: 'button',
        class: 'danger',
        onclick: async () => {
          const ok = await confirmDialog(`Revoke the certificate ${certificate.serialNumber} (${certificate.subject})? The SCEP server is asked to revoke it.`, { confirmLabel: 'Revoke', title: 'Revoke certificate?' });
          if (!ok) return;
          try {
            await call('POST', '/api/v1/devices/{id}/certificates/{certificateId}/revoke', { params: { id, certificateId: certificate.id } });
            await certificates(section, id, names);
            section.prepend(notice('ok', 'Revocation queued.'));
          } catch (error) {
            if (error?.status !== 401) fill(status, notice('error', `Not revoked: ${describeError(error)}`));
          }
        },
      },
      'Revoke',
    );
  fill(section, 
    h('h2', { id: 'certificates-title' }, 'Issued certificates'),
    status,
    table(
      [
        { title: 'Subject', render: (c) => c.subject },
        { title: 'Profile', render: (c) => profileLink(names, c.profileId) },
        { title: 'Serial', render: (c) => h('code', {}, c.serialNumber) },
        { title: 'Valid until', render: (c) => formatDate(c.notAfter) },
        { title: 'Revocation', render: (c) => [badge(c.certificateRevokeStatus), c.revokeMessage ? ` ${c.revokeMessage}` : ''] },
        session.canWrite()
          ? { title: 'Actions', render: (c) => (['none', 'failed'].includes(c.certificateRevokeStatus) ? revoke(c) : '') }
          : null,
      ].filter(Boolean),
      body.items,
      { empty: 'No certificate was issued to this device.' },
    ),
  );
}

/** Issue (shown once) and revoke the device's credential — admins only. */
function credentialSection(id) {
  const status = h('div', { 'aria-live': 'polite' });
  const issue = h(
    'button',
    {
      type: 'button',
      class: 'primary',
      onclick: async () => {
        const ok = await confirmDialog('Issue a new credential? Any credential the device has now stops working.', { confirmLabel: 'Issue credential', title: 'Issue credential?' });
        if (!ok) return;
        try {
          const { body } = await call('POST', '/api/v1/devices/{id}/credentials', { params: { id } });
          fill(status, secretBox(body, () => fill(status)));
        } catch (error) {
          if (error?.status !== 401) fill(status, notice('error', `Not issued: ${describeError(error)}`));
        }
      },
    },
    'Issue credential',
  );
  const revoke = h(
    'button',
    {
      type: 'button',
      class: 'danger',
      onclick: async () => {
        const ok = await confirmDialog('Revoke the device credential? The device cannot check in until it gets a new one.', { confirmLabel: 'Revoke credential', title: 'Revoke credential?' });
        if (!ok) return;
        try {
          await call('DELETE', '/api/v1/devices/{id}/credentials', { params: { id } });
          fill(status, notice('ok', 'The device credential was revoked.'));
        } catch (error) {
          if (error?.status !== 401) fill(status, notice('error', `Not revoked: ${describeError(error)}`));
        }
      },
    },
    'Revoke credential',
  );
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'credential-title' },
    h('h2', { id: 'credential-title' }, 'Device credential'),
    h('p', { class: 'muted' }, 'The bearer credential the device uses for /device/v1. Only its digest is stored: it is shown once, when issued.'),
    h('div', { class: 'toolbar' }, issue, revoke),
    status,
  );
}

function secretBox(issued, dismiss) {
  const value = h('code', { class: 'credential-value' }, issued.credential);
  const copied = h('span', { class: 'muted', 'aria-live': 'polite' });
  return h(
    'div',
    { class: 'secret', role: 'region', 'aria-label': 'New device credential' },
    h('strong', {}, 'Copy this credential now: it will not be shown again.'),
    value,
    h('p', { class: 'muted' }, `Credential id ${issued.credentialId}`),
    h(
      'div',
      { class: 'toolbar' },
      h(
        'button',
        {
          type: 'button',
          onclick: async () => {
            try {
              await navigator.clipboard.writeText(issued.credential);
              copied.textContent = 'Copied.';
            } catch {
              // No clipboard permission (e.g. plain http): select it for Ctrl+C instead.
              const range = document.createRange();
              range.selectNodeContents(value);
              getSelection().removeAllRanges();
              getSelection().addRange(range);
              copied.textContent = 'Selected: press Ctrl+C to copy.';
            }
          },
        },
        'Copy',
      ),
      h('button', { type: 'button', onclick: dismiss }, 'Dismiss'),
      copied,
    ),
  );
}

export const routes = [
  { pattern: '/devices', render: list },
  { pattern: '/devices/:id', render: detail },
];
