// Profiles: the list of trusted and SCEP certificate profiles, filtered by
// kind and platform (#/profiles?kind=scep|trusted&platform=…), and the
// routes of the profile pages (profile-scep.js, profile-trusted.js).
import { call, listAll } from '../api.js';
import { canWrite } from '../session.js';
import { h, field, fill, table, pager, formatDate } from '../dom.js';
import { PLATFORMS } from '../forms.js';
import { KINDS } from './profile-sections.js';
import { renderScepNew, renderScepProfile } from './profile-scep.js';
import { renderTrustedNew, renderTrustedProfile } from './profile-trusted.js';
import { takeFlash } from './profile-edit.js';
import {
  platformLabel, label, select, queryObject, errorNotice,
} from './profile-util.js';

const PAGE = 50;

function listHash(kind, platform) {
  const q = new URLSearchParams();
  if (kind) q.set('kind', kind);
  if (platform) q.set('platform', platform);
  const s = q.toString();
  return `#/profiles${s ? `?${s}` : ''}`;
}

/** One kind's table with "next page" paging (pages accumulate). */
function kindTable(kind, platform, roots) {
  const k = KINDS[kind];
  const title = kind === 'scep' ? 'SCEP certificate profiles' : 'Trusted certificate profiles';
  const headingId = `${kind}-profiles-title`;
  const body = h('div', { class: 'profile-table', dataset: { kind } }, h('p', { class: 'muted' }, 'Loading…'));
  const items = [];
  const columns = kind === 'scep'
    ? [
      { title: 'Name', render: (p) => h('a', { href: `#/profiles/scep/${encodeURIComponent(p.id)}` }, p.displayName) },
      { title: 'Platform', render: (p) => platformLabel(p.platform) },
      { title: 'Certificate type', render: (p) => label('certificateType', p.certificateType) },
      { title: 'Subject', render: (p) => (p.subjectNameFormat === 'custom' ? p.subjectNameFormatString : label('subjectNameFormat', p.subjectNameFormat)) },
      {
        title: 'Root certificate',
        render: (p) => h('a', { href: `#/profiles/trusted/${encodeURIComponent(p.rootCertificateId)}` },
          (roots && roots.get(p.rootCertificateId)) || 'Root profile'),
      },
      { title: 'Key size', render: (p) => String(p.keySize) },
      { title: 'Version', render: (p) => String(p.version) },
      { title: 'Changed', render: (p) => formatDate(p.lastModifiedDateTime) },
    ]
    : [
      { title: 'Name', render: (p) => h('a', { href: `#/profiles/trusted/${encodeURIComponent(p.id)}` }, p.displayName) },
      { title: 'Platform', render: (p) => platformLabel(p.platform) },
      { title: 'Certificate subject', render: (p) => (p.certificateDetails ? p.certificateDetails.subject : '—') },
      { title: 'Valid until', render: (p) => (p.certificateDetails ? formatDate(p.certificateDetails.notAfter) : '—') },
      { title: 'Version', render: (p) => String(p.version) },
      { title: 'Changed', render: (p) => formatDate(p.lastModifiedDateTime) },
    ];
  async function load(cursor) {
    try {
      if (roots && !roots.size && kind === 'scep') {
        for (const t of await listAll(KINDS.trusted.list, { query: { platform } }, 10)) roots.set(t.id, t.displayName);
      }
      const response = await call('GET', k.list, { query: { platform, limit: PAGE, cursor } });
      items.push(...response.body.items);
      const next = response.body.nextCursor;
      fill(body,
        items.length ? table(columns, items) : h('p', { class: 'muted' }, platform ? `No ${kind === 'scep' ? 'SCEP' : 'trusted'} profile for ${platformLabel(platform)}.` : 'None yet.'),
        next ? pager(next, () => load(next)) : null);
    } catch (error) {
      body.replaceChildren(errorNotice(error));
    }
  }
  load(undefined);
  return h('section', { class: 'card', 'aria-labelledby': headingId },
    h('div', { class: 'section-head' },
      h('h2', { id: headingId }, title),
      canWrite()
        ? h('a', { class: 'button primary', href: `#/profiles/${kind}/new` }, kind === 'scep' ? 'New SCEP profile' : 'New trusted profile')
        : null),
    body);
}

async function renderList(main, params, query) {
  const q = queryObject(query);
  const kind = q.kind === 'scep' || q.kind === 'trusted' ? q.kind : '';
  const platform = PLATFORMS.includes(q.platform) ? q.platform : '';
  const kindSelect = select('kind', [['', 'Both kinds'], ['trusted', 'Trusted certificate'], ['scep', 'SCEP certificate']], kind);
  const platformSelect = select('platform', [['', 'All platforms'], ...PLATFORMS.map((p) => [p, platformLabel(p)])], platform);
  const apply = () => { location.hash = listHash(kindSelect.value, platformSelect.value); };
  kindSelect.addEventListener('change', apply);
  platformSelect.addEventListener('change', apply);
  const filters = h('form', { class: 'toolbar filters', 'aria-label': 'Filter profiles', role: 'search' },
    field('Kind', kindSelect), field('Platform', platformSelect));
  filters.addEventListener('submit', (event) => { event.preventDefault(); apply(); });
  fill(main,
    h('h1', {}, 'Profiles'),
    takeFlash(),
    h('p', { class: 'muted' }, 'Trusted certificate profiles install a root CA; SCEP certificate profiles tell devices how to enroll for a certificate signed under it.'),
    filters,
    kind !== 'scep' ? kindTable('trusted', platform) : null,
    kind !== 'trusted' ? kindTable('scep', platform, new Map()) : null,
  );
}

export const routes = [
  { pattern: '/profiles', render: renderList },
  { pattern: '/profiles/scep/new', render: (main) => renderScepNew(main) },
  { pattern: '/profiles/trusted/new', render: (main) => renderTrustedNew(main) },
  { pattern: '/profiles/scep/:id', render: (main, params) => (params.id === 'new' ? renderScepNew(main) : renderScepProfile(main, params.id)) },
  { pattern: '/profiles/trusted/:id', render: (main, params) => (params.id === 'new' ? renderTrustedNew(main) : renderTrustedProfile(main, params.id)) },
];
