// Trusted certificate profile: create (#/profiles/trusted/new), edit/view
// (#/profiles/trusted/:id). The root certificate comes from a file (PEM sent as
// is, DER converted to PEM here); its parsed details come from the API after
// saving, and before saving the file's name, size, format and thumbprints.
import { call, listAll } from '../api.js';
import { canWrite } from '../session.js';
import { h, field, fill, notice, formatDate, table } from '../dom.js';
import { PLATFORMS } from '../forms.js';
import { assignmentsSection, previewSection, historySection, KINDS } from './profile-sections.js';
import {
  editController, setFlash, takeFlash, wireCreateButtons, wireEditButtons,
} from './profile-edit.js';
import {
  platformLabel, isWindows, label, select, enumOptions, input, group,
  dl, etagOf, errorNotice, isStatus, readFile, readCertificateBytes, thumbprint,
  formatBytes, base64ToBytes,
} from './profile-util.js';

const STORES = ['computerCertStoreRoot', 'computerCertStoreIntermediate', 'userCertStoreIntermediate'];
const ACCEPT = '.cer,.crt,.pem,.der,application/x-x509-ca-cert,application/pkix-cert';

export function certificateDetails(details) {
  if (!details) return h('p', { class: 'muted' }, 'No details.');
  return dl([
    ['Subject', details.subject],
    ['Issuer', details.issuer],
    ['Serial number', details.serialNumber],
    ['Valid from', formatDate(details.notBefore)],
    ['Valid until', formatDate(details.notAfter)],
    ['SHA-1 thumbprint', h('code', { class: 'thumbprint' }, details.thumbprintSha1)],
    ['SHA-256 thumbprint', h('code', { class: 'thumbprint' }, details.thumbprintSha256)],
  ], { class: 'profile-dl certificate-details' });
}

/** [term, text] pairs of a view or a draft, for the conflict view. */
export function describeTrusted(p) {
  const pairs = [
    ['Name', p.displayName || '—'],
    ['Description', p.description || '—'],
    ['Platform', platformLabel(p.platform)],
    ['Certificate file name', p.certFileName || '—'],
  ];
  if (isWindows(p.platform)) pairs.push(['Destination store', label('destinationStore', p.destinationStore || 'computerCertStoreRoot')]);
  const root = p.certificateDetails
    ? `${p.certificateDetails.subject} (SHA-1 ${p.certificateDetails.thumbprintSha1})`
    : (String(p.trustedRootCertificate || '').includes('BEGIN') ? 'A new certificate from a file' : 'Unchanged certificate');
  pairs.push(['Root certificate', root]);
  pairs.push(['Issuing CAs', String((p.issuingCertificates || []).length)]);
  return pairs;
}

/** What a chosen certificate file is, before it is saved. */
async function describeFile(file, parsed) {
  const [sha1, sha256] = parsed.der
    ? await Promise.all([thumbprint('SHA-1', parsed.der), thumbprint('SHA-256', parsed.der)])
    : [null, null];
  return dl([
    ['File', file.name],
    ['Size', formatBytes(file.size)],
    ['Format', parsed.format === 'unknown' ? 'Neither PEM nor DER: the server will refuse it' : parsed.format],
    sha1 ? ['SHA-1 thumbprint', h('code', { class: 'thumbprint' }, sha1)] : null,
    sha256 ? ['SHA-256 thumbprint', h('code', { class: 'thumbprint' }, sha256)] : null,
  ], { class: 'profile-dl file-details', dataset: { format: parsed.format } });
}

function buildForm(profile, { isNew }) {
  const p = { displayName: '', description: '', platform: 'ios', certFileName: '', destinationStore: null, issuingCertificates: [], ...profile };
  const summary = h('div', { class: 'form-summary', hidden: true });
  const f = {
    displayName: input('displayName', p.displayName, { required: true, maxlength: '200' }),
    description: h('textarea', { name: 'description', rows: '2' }),
    platform: select('platform', PLATFORMS.map((x) => [x, platformLabel(x)]), p.platform),
    certFileName: input('certFileName', p.certFileName || '', { placeholder: 'contoso-root.cer' }),
    destinationStore: select('destinationStore', enumOptions('destinationStore', STORES), p.destinationStore || STORES[0]),
    file: h('input', { type: 'file', name: 'trustedRootCertificate', accept: ACCEPT }),
    issuingFiles: h('input', { type: 'file', name: 'issuingCertificates', accept: ACCEPT, multiple: true }),
  };
  f.description.value = p.description || '';
  const fileInfo = h('div', { class: 'file-info', 'aria-live': 'polite' });
  let chosenPem = null;
  f.file.addEventListener('change', async () => {
    chosenPem = null;
    fileInfo.replaceChildren();
    const file = f.file.files && f.file.files[0];
    if (!file) return;
    try {
      const bytes = await readFile(file);
      const parsed = readCertificateBytes(bytes);
      chosenPem = parsed.pem;
      if (!f.certFileName.value) f.certFileName.value = file.name;
      fileInfo.replaceChildren(h('h3', {}, 'Chosen file (details after saving)'), await describeFile(file, parsed));
    } catch (error) {
      fileInfo.replaceChildren(notice('error', `The file could not be read: ${error.message}`));
    }
  });

  // Issuing CAs: the registered ones (base64 DER, kept unless removed) and new files.
  const existingIssuing = (p.issuingCertificates || []).map((der, i) => ({ der, details: (p.issuingCertificateDetails || [])[i] }));
  const issuingList = h('ul', { class: 'issuing-list' });
  const renderIssuing = () => {
    issuingList.replaceChildren(...existingIssuing.map((item, index) => {
      const remove = h('button', { type: 'button', class: 'remove-row' }, 'Remove');
      const name = item.details ? item.details.subject : `Issuing CA ${index + 1}`;
      remove.setAttribute('aria-label', `Remove issuing CA ${name}`);
      remove.addEventListener('click', () => { existingIssuing.splice(index, 1); renderIssuing(); });
      return h('li', {}, name, ' ', item.details ? h('code', { class: 'thumbprint' }, item.details.thumbprintSha1) : null, ' ', remove);
    }));
  };
  renderIssuing();
  let newIssuing = [];
  const issuingInfo = h('div', { class: 'file-info', 'aria-live': 'polite' });
  f.issuingFiles.addEventListener('change', async () => {
    newIssuing = [];
    const files = [...(f.issuingFiles.files || [])];
    const described = [];
    for (const file of files) {
      const parsed = readCertificateBytes(await readFile(file));
      newIssuing.push(parsed.pem || '');
      described.push(await describeFile(file, parsed));
    }
    issuingInfo.replaceChildren(...described);
  });

  const storeField = field('Destination store', f.destinationStore, { hint: 'Windows only: where the CA certificate is installed.' });
  const applyPlatform = () => { storeField.hidden = !isWindows(f.platform.value); };
  f.platform.addEventListener('change', applyPlatform);
  applyPlatform();

  const form = h('form', { class: 'profile-form trusted-form', novalidate: true, 'aria-label': 'Trusted certificate profile settings' },
    summary,
    h('fieldset', { class: 'section' }, h('legend', {}, 'Basics'),
      field('Display name', f.displayName),
      field('Description', f.description),
      h('div', { class: 'grid-2' },
        field('Platform', f.platform),
        field('Certificate file name', f.certFileName, { hint: 'The file name shown on the device.' })),
      storeField),
    h('fieldset', { class: 'section' }, h('legend', {}, 'Root certificate'),
      field('Root certificate file', f.file, {
        hint: isNew
          ? 'A CA certificate: .cer, .crt, .pem or .der (PEM or DER).'
          : 'Choose a file only to replace the current certificate.',
      }),
      fileInfo,
      group('Issuing CAs (optional)', 'issuingCertificates',
        h('p', { class: 'muted hint' }, 'Intermediate CAs under this root that may sign device certificates; not installed on devices.'),
        issuingList,
        field('Issuing CA certificate files', f.issuingFiles),
        issuingInfo)));

  const draft = () => {
    const issuing = [...existingIssuing.map((i) => i.der), ...newIssuing];
    return {
      displayName: f.displayName.value,
      description: f.description.value,
      platform: f.platform.value,
      certFileName: f.certFileName.value.trim() || null,
      destinationStore: isWindows(f.platform.value) ? f.destinationStore.value : null,
      trustedRootCertificate: chosenPem || p.trustedRootCertificate || '',
      issuingCertificates: issuing.length ? issuing : null,
    };
  };
  const localProblem = (d) => (d.trustedRootCertificate ? null : {
    title: 'Validation failed',
    detail: 'Check the highlighted fields.',
    errors: [{ field: 'trustedRootCertificate', rule: 'required', message: 'Choose the root certificate file.' }],
  });
  return { form, summary, draft, localProblem };
}

export async function renderTrustedNew(main) {
  main.replaceChildren(h('h1', {}, 'New trusted certificate profile'));
  if (!canWrite()) {
    main.append(notice('error', 'Readers cannot create profiles.'), h('a', { href: '#/profiles?kind=trusted' }, 'Back to the profiles'));
    return;
  }
  const { form, summary, draft, localProblem } = buildForm({}, { isNew: true });
  wireCreateButtons('trusted', { form, summary, draft, localProblem });
  main.append(h('p', {}, h('a', { href: '#/profiles?kind=trusted' }, '← All profiles')), form);
  form.querySelector('input').focus();
}

export async function renderTrustedProfile(main, id, preset) {
  main.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  let profile;
  let etag;
  try {
    if (preset) {
      ({ profile, etag } = preset);
    } else {
      const response = await call('GET', KINDS.trusted.item, { params: { id } });
      profile = response.body;
      etag = etagOf(response, profile);
    }
  } catch (error) {
    main.replaceChildren(h('h1', {}, 'Trusted certificate profile'),
      isStatus(error, 404) ? notice('error', 'No such profile (it may have been deleted).') : errorNotice(error),
      h('a', { href: '#/profiles?kind=trusted' }, 'Back to the profiles'));
    return;
  }
  const writable = canWrite();
  const flash = takeFlash();
  const history = historySection('trusted', profile);
  const historyButton = h('button', { type: 'button', class: 'link-button' }, 'History');
  historyButton.addEventListener('click', () => {
    history.open = true;
    history.scrollIntoView({ block: 'start' });
    history.querySelector('summary').focus();
  });
  const usedBy = h('p', { class: 'muted used-by' });
  listAll(KINDS.scep.list, { query: { platform: profile.platform } }).then((sceps) => {
    const users = sceps.filter((s) => s.rootCertificateId === profile.id);
    usedBy.replaceChildren(users.length ? 'Root of: ' : 'No SCEP profile uses this root.',
      ...users.flatMap((s, i) => [i ? ', ' : '', h('a', { href: `#/profiles/scep/${encodeURIComponent(s.id)}` }, s.displayName)]));
  }).catch(() => usedBy.remove());

  const header = h('header', { class: 'profile-header' },
    h('p', {}, h('a', { href: '#/profiles?kind=trusted' }, '← All profiles')),
    h('h1', {}, profile.displayName),
    h('p', { class: 'muted' },
      `Trusted certificate profile · ${platformLabel(profile.platform)} · version ${profile.version} · changed ${formatDate(profile.lastModifiedDateTime)}`),
    h('nav', { class: 'toolbar profile-links', 'aria-label': 'About this profile' }, historyButton),
    usedBy);
  const warnings = (profile.warnings || []).length
    ? h('div', { class: 'notice-warning', role: 'note' }, h('p', {}, 'Warnings'), h('ul', {}, profile.warnings.map((w) => h('li', {}, w))))
    : null;
  const certificate = h('section', { class: 'card', 'aria-labelledby': 'certificate-title' },
    h('h2', { id: 'certificate-title' }, 'Root certificate'),
    certificateDetails(profile.certificateDetails),
    (profile.issuingCertificateDetails || []).length
      ? h('div', {}, h('h3', {}, 'Issuing CAs'),
        table([
          { title: 'Subject', render: (d) => d.subject },
          { title: 'Valid until', render: (d) => formatDate(d.notAfter) },
          { title: 'SHA-1 thumbprint', render: (d) => h('code', { class: 'thumbprint' }, d.thumbprintSha1) },
        ], profile.issuingCertificateDetails))
      : null);

  let settings;
  if (writable) {
    const { form, summary, draft, localProblem } = buildForm(profile, { isNew: false });
    const conflictSlot = h('div', { class: 'conflict-slot', hidden: true });
    const state = { id: profile.id, etag };
    const rerender = (message) => (view, tag) => {
      setFlash('ok', message(view));
      renderTrustedProfile(main, id, { profile: view, etag: tag });
    };
    const controller = editController({
      kind: 'trusted',
      state,
      form,
      summary,
      conflictSlot,
      describe: describeTrusted,
      onSaved: rerender((view) => `Saved: version ${view.version}.`),
      onReload: rerender((view) => `Reloaded version ${view.version}.`),
    });
    wireEditButtons({ form, summary, draft, localProblem }, controller, profile.displayName);
    settings = h('section', { class: 'card', 'aria-labelledby': 'settings-title' },
      h('h2', { id: 'settings-title' }, 'Settings'), conflictSlot, form);
  } else {
    settings = h('section', { class: 'card', 'aria-labelledby': 'settings-title' },
      h('h2', { id: 'settings-title' }, 'Settings'), dl(describeTrusted(profile)));
  }
  fill(main, header, flash, warnings, certificate, settings,
    assignmentsSection('trusted', profile, { writable }),
    previewSection('trusted', profile),
    history);
}

export { base64ToBytes };
