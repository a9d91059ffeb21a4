// Dashboard: fleet certificate health (GET /api/v1/reports/certificate-health).
// Every number links to the list behind it: device states to the device
// statuses (per profile, or across profiles), failure codes to the failed
// statuses with that diagnostic code, expiry counts to the statuses whose
// current certificate expires in that window.

import { call } from '../api.js';
import { h, table, formatDate, add, fill } from '../dom.js';
import { link } from '../router.js';
import { withQuery } from './common.js';

const SVG = 'http://www.w3.org/2000/svg';

/** Device states in the order of the enrollment lifecycle, with their report field. */
export const STATES = [
  ['succeeded', 'Succeeded'],
  ['pending', 'Pending'],
  ['challengeIssued', 'Challenge issued'],
  ['failed', 'Failed'],
  ['renewalDue', 'Renewal due'],
  ['revocationPending', 'Revocation pending'],
  ['revoked', 'Revoked'],
];

/** Certificate expiry windows: report field, label, statuses filter. */
export const EXPIRY = [
  ['certificatesExpiringWithin7Days', 'Expiring within 7 days', '7'],
  ['certificatesExpiringWithin30Days', 'Expiring within 30 days', '30'],
  ['certificatesExpiredStillInUse', 'Expired, still in use', 'expired'],
];

function statusesPath(profileId, query) {
  return withQuery(profileId ? `/profiles/scep/${encodeURIComponent(profileId)}/statuses` : '/statuses', query);
}

function svg(tag, attrs, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) element.setAttribute(key, String(value));
  for (const child of children) element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return element;
}

/** A horizontal bar chart of device states, drawn as SVG nodes (no library, no markup strings). */
function stateChart(totals) {
  const rowHeight = 28;
  const labelWidth = 150;
  const barSpace = 440;
  const max = Math.max(1, ...STATES.map(([key]) => totals[key] || 0));
  const height = STATES.length * rowHeight + 8;
  const chart = svg('svg', {
    viewBox: `0 0 ${labelWidth + barSpace + 60} ${height}`,
    role: 'img',
    'aria-labelledby': 'state-chart-title',
  });
  chart.append(svg('title', { id: 'state-chart-title' }, 'Devices by enrollment state'));
  STATES.forEach(([key, label], index) => {
    const value = totals[key] || 0;
    const y = index * rowHeight + 4;
    const width = value ? Math.max(2, (value / max) * barSpace) : 0;
    chart.append(
      svg('text', { x: labelWidth - 8, y: y + 17, 'text-anchor': 'end', class: 'bar-label' }, label),
      svg('rect', { x: labelWidth, y: y + 4, width, height: rowHeight - 10, rx: 3, class: `bar bar-${key}` }),
      svg('text', { x: labelWidth + width + 6, y: y + 17, class: 'bar-value' }, String(value)),
    );
  });
  return h('figure', { class: 'chart card' }, h('figcaption', {}, 'Devices by state (all SCEP profiles)'), chart);
}

function stat(label, value, path) {
  return h('li', { class: 'stat' }, h('span', { class: 'label' }, label), link(path, String(value), { class: 'value' }));
}

function render(main) {
  add(main, h('h1', {}, 'Dashboard'));
  const body = h('div', { 'aria-busy': 'true' }, h('p', { class: 'muted' }, 'Loading certificate health…'));
  add(main, body);
  return load(body, false);
}

/**
 * Fills `body` with the report: the server's latest snapshot (up to a minute
 * old; computing it takes seconds at fleet scale), or, when `fresh`, one
 * computed now.
 */
function load(body, fresh) {
  body.setAttribute('aria-busy', 'true');
  const query = fresh ? { maxAgeSeconds: 0 } : {};
  return call('GET', '/api/v1/reports/certificate-health', { query }).then(({ body: report }) => {
    const totals = report.totals;
    body.removeAttribute('aria-busy');
    const refresh = h('button', { type: 'button' }, 'Refresh now');
    refresh.addEventListener('click', () => {
      refresh.disabled = true;
      refresh.textContent = 'Computing…';
      load(body, true);
    });
    fill(body,
      h('p', { class: 'muted' }, `Certificate health of every SCEP profile, as of ${formatDate(report.generatedDateTime)}. Totals add up the profiles: a device two profiles target counts twice. `, refresh),
      h('h2', {}, 'Totals'),
      h(
        'ul',
        { class: 'stats', 'aria-label': 'Totals' },
        stat('Targeted devices', totals.targetedDevices, statusesPath(null, {})),
        STATES.map(([key, label]) => stat(label, totals[key], statusesPath(null, { state: key }))),
        EXPIRY.map(([key, label, window]) => stat(label, totals[key], statusesPath(null, { expiring: window }))),
      ),
      stateChart(totals),
      h('div', { class: 'grid-2' }, failures(report), expiry(totals)),
      h('h2', {}, 'By profile'),
      profiles(report),
    );
  });
}

function failures(report) {
  return h(
    'section',
    { class: 'card' },
    h('h2', {}, 'Failures by diagnostic code'),
    table(
      [
        { title: 'Code', render: (row) => h('code', {}, row.diagnosticCode) },
        { title: 'Name', render: (row) => row.diagnosticName },
        {
          title: 'Devices',
          render: (row) => link(statusesPath(null, { state: 'failed', diagnosticCode: row.diagnosticCode }), String(row.count)),
        },
      ],
      report.failuresByDiagnosticCode,
      { empty: 'No failed enrollments.' },
    ),
  );
}

function expiry(totals) {
  return h(
    'section',
    { class: 'card' },
    h('h2', {}, 'Certificate expiry'),
    h(
      'ul',
      { class: 'stats' },
      EXPIRY.map(([key, label, window]) => stat(label, totals[key], statusesPath(null, { expiring: window }))),
    ),
  );
}

function profiles(report) {
  const count = (key, query) => ({
    title: key === 'targetedDevices' ? 'Targeted' : STATES.find(([k]) => k === key)?.[1] || EXPIRY.find(([k]) => k === key)?.[1],
    render: (row) => link(statusesPath(row.profileId, query), String(row[key]), { dataset: { figure: key } }),
  });
  return table(
    [
      { title: 'Profile', render: (row) => link(`/profiles/scep/${encodeURIComponent(row.profileId)}`, row.displayName) },
      { title: 'Platform', render: (row) => row.platform },
      count('targetedDevices', {}),
      ...STATES.map(([key]) => count(key, { state: key })),
      ...EXPIRY.map(([key, , window]) => count(key, { expiring: window })),
    ],
    report.profiles,
    { empty: 'No SCEP profiles yet.' },
  );
}

export const routes = [
  { pattern: '/', render },
  { pattern: '/dashboard', render },
];
