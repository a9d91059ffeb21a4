// SCEP certificate profile: create (#/profiles/scep/new), edit/view
// (#/profiles/scep/:id). Every setting of ScepCertificateProfileDraft; fields a
// platform does not have are hidden (key storage provider: Windows only; hash
// algorithm: not iOS/macOS; validity: ignored by iOS/macOS).
import { call, listAll } from '../api.js';
import { canWrite } from '../session.js';
import { h, field, fill, notice, formatDate, uniqueId } from '../dom.js';
import { PLATFORMS } from '../forms.js';
import { assignmentsSection, previewSection, historySection, KINDS } from './profile-sections.js';
import {
  editController, setFlash, takeFlash, wireCreateButtons, wireEditButtons,
} from './profile-edit.js';
import {
  platformLabel, isWindows, isApple, label, select, enumOptions, input, checkbox, choice, group,
  dl, etagOf, errorNotice, isStatus,
} from './profile-util.js';

const SUBJECT_FORMATS = ['notConfigured', 'commonName', 'commonNameIncludingEmail', 'commonNameAsEmail',
  'commonNameAsIMEI', 'commonNameAsSerialNumber', 'custom'];
const SAN_TYPES = ['emailAddress', 'userPrincipalName', 'domainNameService', 'universalResourceIdentifier'];
const KSPS = ['useTpmKspOtherwiseUseSoftwareKsp', 'useTpmKspOtherwiseFail', 'usePassportForWorkKspOtherwiseFail', 'useSoftwareKsp'];
/** What a predefined format stands for (domain/src/subject_name/format.rs); null: refused. */
const FORMAT_TEMPLATES = {
  notConfigured: { user: 'no subject', device: 'no subject' },
  commonName: { user: 'CN={{UserName}}', device: 'CN={{AAD_Device_ID}}' },
  commonNameIncludingEmail: { user: 'CN={{UserName}},E={{EmailAddress}}', device: null },
  commonNameAsEmail: { user: 'CN={{EmailAddress}}', device: null },
  commonNameAsIMEI: { user: 'CN={{IMEINumber}}', device: 'CN={{IMEINumber}}' },
  commonNameAsSerialNumber: { user: 'CN={{SerialNumber}}', device: 'CN={{SerialNumber}}' },
};
const CLIENT_AUTH = { name: 'Client Authentication', objectIdentifier: '1.3.6.1.5.5.7.3.2' };

const DEFAULTS = {
  displayName: '',
  description: '',
  platform: 'ios',
  certificateType: 'user',
  subjectNameFormat: 'commonName',
  subjectNameFormatString: null,
  customSubjectAlternativeNames: [],
  certificateValidityPeriodValue: null,
  certificateValidityPeriodScale: null,
  keyStorageProvider: null,
  keyUsage: ['digitalSignature', 'keyEncipherment'],
  keySize: 2048,
  hashAlgorithm: null,
  extendedKeyUsages: [CLIENT_AUTH],
  renewalThresholdPercentage: 20,
  rootCertificateId: '',
  scepServerUrls: [''],
};

/** [term, text] pairs of a view or a draft (same field names), for dl and the conflict view. */
export function describeScep(p, rootNames = new Map()) {
  const pairs = [
    ['Name', p.displayName || '—'],
    ['Description', p.description || '—'],
    ['Platform', platformLabel(p.platform)],
    ['Certificate type', label('certificateType', p.certificateType)],
    ['Subject name format', label('subjectNameFormat', p.subjectNameFormat)],
  ];
  if (p.subjectNameFormat === 'custom') pairs.push(['Subject name', p.subjectNameFormatString || '—']);
  pairs.push(['Subject alternative names', (p.customSubjectAlternativeNames || []).length
    ? p.customSubjectAlternativeNames.map((s) => `${label('sanType', s.sanType)}: ${s.name}`).join('; ') : 'None']);
  pairs.push(['Certificate validity', p.certificateValidityPeriodValue != null
    ? `${p.certificateValidityPeriodValue} ${label('validityScale', p.certificateValidityPeriodScale)}`
    : "The CA template's validity"]);
  if (isWindows(p.platform)) pairs.push(['Key storage provider', label('keyStorageProvider', p.keyStorageProvider)]);
  pairs.push(['Key usage', [...(p.keyUsage || [])].sort().map((u) => label('keyUsage', u)).join(', ') || '—']);
  pairs.push(['Key size', `${p.keySize} bits`]);
  if (!isApple(p.platform)) pairs.push(['Hash algorithm', label('hashAlgorithm', p.hashAlgorithm || 'sha2')]);
  pairs.push(['Extended key usages', (p.extendedKeyUsages || [CLIENT_AUTH])
    .map((e) => `${e.name} (${e.objectIdentifier})`).join('; ')]);
  pairs.push(['Renewal threshold', `${p.renewalThresholdPercentage ?? 20} %`]);
  pairs.push(['SCEP server URLs', (p.scepServerUrls || []).join(' ') || '—']);
  pairs.push(['Root certificate', rootNames.get(p.rootCertificateId) || p.rootCertificateId || '—']);
  return pairs;
}

// ------------------------------------------------------------ list editors

/** An editable list of rows; each row's inputs are named `${name}[i]…`. */
function rowList({ name, legend, addLabel, makeRow, items, hint }) {
  const rows = h('ol', { class: 'row-list', dataset: { list: name } });
  const addButton = h('button', { type: 'button', class: 'add-row' }, addLabel);
  const renumber = () => {
    [...rows.children].forEach((li, index) => {
      for (const el of li.querySelectorAll('[data-suffix]')) {
        el.name = `${name}[${index}]${el.dataset.suffix}`;
      }
      for (const el of li.querySelectorAll('[data-row-label]')) {
        el.textContent = `${el.dataset.rowLabel} ${index + 1}`;
      }
      const remove = li.querySelector('.remove-row');
      if (remove) remove.setAttribute('aria-label', `Remove ${addLabel.replace(/^Add /, '')} ${index + 1}`);
    });
  };
  const add = (item) => {
    const li = h('li', { class: 'row' }, makeRow(item));
    const remove = h('button', { type: 'button', class: 'remove-row' }, 'Remove');
    remove.addEventListener('click', () => {
      const next = li.nextElementSibling || li.previousElementSibling;
      li.remove();
      renumber();
      (next ? next.querySelector('input,select') : addButton).focus();
    });
    li.append(remove);
    rows.append(li);
    renumber();
    return li;
  };
  addButton.addEventListener('click', () => {
    const li = add(null);
    const first = li.querySelector('input,select');
    if (first) first.focus();
  });
  (items || []).forEach(add);
  const fs = group(legend, name, hint ? h('p', { class: 'muted hint' }, hint) : null, rows, addButton);
  return { element: fs, rows };
}

/** One labelled input inside a row (the label says which row). */
function rowField(labelText, el, suffix) {
  el.dataset.suffix = suffix;
  if (!el.id) el.id = uniqueId('row');
  // The error slot's id is the input's plus `-error`: dom.js's showFieldErrors finds it so.
  const slot = h('p', { class: 'field-error', id: `${el.id}-error`, role: 'alert', hidden: true });
  el.setAttribute('aria-describedby', slot.id);
  return h('div', { class: 'field row-field' },
    h('label', { for: el.id, dataset: { rowLabel: labelText } }, labelText),
    el,
    slot);
}

// ------------------------------------------------------------ the form

function buildForm(profile, trusted, { isNew }) {
  const p = { ...DEFAULTS, ...profile };
  const summary = h('div', { class: 'form-summary', hidden: true });
  const f = {
    displayName: input('displayName', p.displayName, { required: true, maxlength: '200' }),
    description: h('textarea', { name: 'description', rows: '2' }),
    platform: select('platform', PLATFORMS.map((x) => [x, platformLabel(x)]), p.platform),
    certificateType: select('certificateType', enumOptions('certificateType', ['user', 'device']), p.certificateType),
    subjectNameFormat: select('subjectNameFormat', enumOptions('subjectNameFormat', SUBJECT_FORMATS), p.subjectNameFormat),
    subjectNameFormatString: input('subjectNameFormatString', p.subjectNameFormatString, { spellcheck: 'false', autocomplete: 'off' }),
    validityValue: input('certificateValidityPeriodValue', p.certificateValidityPeriodValue ?? '', { type: 'number', min: '1', inputmode: 'numeric' }),
    validityScale: select('certificateValidityPeriodScale',
      [['', "CA template's validity"], ...enumOptions('validityScale', ['days', 'months', 'years'])], p.certificateValidityPeriodScale ?? ''),
    keyStorageProvider: select('keyStorageProvider', enumOptions('keyStorageProvider', KSPS), p.keyStorageProvider || KSPS[0]),
    keySize: select('keySize', [['1024', '1024 bits'], ['2048', '2048 bits'], ['4096', '4096 bits']], String(p.keySize)),
    hashAlgorithm: select('hashAlgorithm', enumOptions('hashAlgorithm', ['sha2', 'sha1']), p.hashAlgorithm || 'sha2'),
    renewal: input('renewalThresholdPercentage', p.renewalThresholdPercentage ?? '', { type: 'number', min: '1', max: '99', inputmode: 'numeric' }),
    root: h('select', { name: 'rootCertificateId' }),
  };
  f.description.value = p.description || '';
  const keyUsage = {
    digitalSignature: checkbox('keyUsage', 'digitalSignature', p.keyUsage.includes('digitalSignature')),
    keyEncipherment: checkbox('keyUsage', 'keyEncipherment', p.keyUsage.includes('keyEncipherment')),
  };

  const sans = rowList({
    name: 'customSubjectAlternativeNames',
    legend: 'Subject alternative names',
    addLabel: 'Add subject alternative name',
    items: p.customSubjectAlternativeNames,
    hint: 'Values are templates, e.g. {{UserPrincipalName}} or {{DeviceName}}.',
    makeRow: (item) => [
      rowField('SAN type', select('', enumOptions('sanType', SAN_TYPES), item ? item.sanType : 'userPrincipalName'), '.sanType'),
      rowField('SAN value', input('', item ? item.name : '', { spellcheck: 'false' }), '.name'),
    ],
  });
  const ekus = rowList({
    name: 'extendedKeyUsages',
    legend: 'Extended key usages',
    addLabel: 'Add extended key usage',
    items: p.extendedKeyUsages,
    hint: 'With no row, Client Authentication (1.3.6.1.5.5.7.3.2) is used.',
    makeRow: (item) => [
      rowField('EKU name', input('', item ? item.name : ''), '.name'),
      rowField('EKU object identifier', input('', item ? item.objectIdentifier : '', { spellcheck: 'false', placeholder: '1.3.6.1.5.5.7.3.2' }), '.objectIdentifier'),
    ],
  });
  const urls = rowList({
    name: 'scepServerUrls',
    legend: 'SCEP server URLs',
    addLabel: 'Add SCEP server URL',
    items: p.scepServerUrls.length ? p.scepServerUrls : [''],
    hint: '1 to 10 absolute https URLs, tried in order.',
    makeRow: (item) => [rowField('SCEP server URL', input('', item || '', { type: 'url', spellcheck: 'false', placeholder: 'https://ndes.example.com/certsrv/mscep/mscep.dll' }), '')],
  });

  const wrap = {
    subjectString: field('Subject name format string', f.subjectNameFormatString,
      { hint: 'Windows CertStrToName syntax with variables, e.g. CN={{UserName}},E={{EmailAddress}},OU=Mobile' }),
    validity: h('div', { class: 'grid-2 validity' },
      field('Certificate validity period', f.validityValue, { hint: 'At most 24 months in total; empty: the CA template decides.' }),
      field('Validity unit', f.validityScale)),
    validityAppleHint: h('p', { class: 'muted hint' }, 'iOS and macOS ignore a validity period: the CA template’s applies.'),
    ksp: field('Key storage provider (KSP)', f.keyStorageProvider, { hint: 'Windows only. 4096-bit keys need the software KSP.' }),
    hash: field('Hash algorithm', f.hashAlgorithm, { hint: 'Not on iOS and macOS: the device chooses.' }),
  };
  const rootHint = h('p', { class: 'muted hint' });
  const rootField = field('Root certificate', f.root, { hint: 'A trusted certificate profile of the same platform.' });
  rootField.append(rootHint);

  const fillRoots = (keep) => {
    const platform = f.platform.value;
    const matches = trusted.filter((t) => t.platform === platform);
    const current = keep ?? f.root.value;
    f.root.replaceChildren(
      h('option', { value: '' }, matches.length ? 'Choose a root certificate' : `No trusted profile for ${platformLabel(platform)}`),
      ...matches.map((t) => h('option', { value: t.id },
        `${t.displayName} — ${t.certificateDetails ? t.certificateDetails.subject : ''}`)));
    f.root.value = matches.some((t) => t.id === current) ? current : '';
    rootHint.replaceChildren(matches.length ? '' : h('a', { href: '#/profiles/trusted/new' }, 'Create a trusted profile first'));
  };

  const applyPlatform = () => {
    const platform = f.platform.value;
    const apple = isApple(platform);
    wrap.ksp.hidden = !isWindows(platform);
    wrap.hash.hidden = apple;
    const hasValidity = f.validityValue.value !== '' || f.validityScale.value !== '';
    wrap.validity.hidden = apple && !hasValidity;
    wrap.validityAppleHint.hidden = !apple;
    fillRoots();
  };
  const formatHint = h('p', { class: 'muted hint', role: 'status' });
  const applyFormat = () => {
    const format = f.subjectNameFormat.value;
    const type = f.certificateType.value;
    wrap.subjectString.hidden = format !== 'custom';
    // Formats a device certificate or Windows cannot have are offered disabled, as the server refuses them.
    for (const option of f.subjectNameFormat.options) {
      const template = FORMAT_TEMPLATES[option.value];
      option.disabled = option.value !== format && ((template && template[type] === null)
        || (option.value === 'notConfigured' && isWindows(f.platform.value)));
    }
    const template = FORMAT_TEMPLATES[format];
    formatHint.textContent = template
      ? (template[type] === null
        ? `Not for ${type} certificates: a device certificate has no user to read.`
        : `Subject: ${template[type]}`)
      : '';
  };
  f.platform.addEventListener('change', () => { applyPlatform(); applyFormat(); });
  f.subjectNameFormat.addEventListener('change', applyFormat);
  f.certificateType.addEventListener('change', applyFormat);

  const form = h('form', { class: 'profile-form scep-form', novalidate: true, 'aria-label': 'SCEP certificate profile settings' },
    summary,
    h('fieldset', { class: 'section' }, h('legend', {}, 'Basics'),
      field('Display name', f.displayName),
      field('Description', f.description),
      h('div', { class: 'grid-2' },
        field('Platform', f.platform, { hint: isNew ? null : 'Changing it needs a root of the new platform.' }),
        field('Certificate type', f.certificateType))),
    h('fieldset', { class: 'section' }, h('legend', {}, 'Subject'),
      field('Subject name format', f.subjectNameFormat),
      formatHint,
      wrap.subjectString,
      sans.element),
    h('fieldset', { class: 'section' }, h('legend', {}, 'Key and certificate'),
      wrap.validity, wrap.validityAppleHint,
      wrap.ksp,
      group('Key usage', 'keyUsage',
        choice(keyUsage.digitalSignature, label('keyUsage', 'digitalSignature')),
        choice(keyUsage.keyEncipherment, label('keyUsage', 'keyEncipherment'))),
      h('div', { class: 'grid-2' }, field('Key size', f.keySize), wrap.hash),
      ekus.element,
      field('Renewal threshold (%)', f.renewal, { hint: '1–99; renew when this much of the lifetime is left. Default 20.' })),
    h('fieldset', { class: 'section' }, h('legend', {}, 'Enrollment'),
      urls.element,
      rootField));

  fillRoots(p.rootCertificateId);
  applyPlatform();
  applyFormat();

  const numberOrNull = (el) => (el.value.trim() === '' ? null : Number(el.value));
  const readRows = (rows, read) => [...rows.children].map(read);
  const draft = () => {
    const platform = f.platform.value;
    const custom = f.subjectNameFormat.value === 'custom';
    const ekuRows = readRows(ekus.rows, (li) => ({
      name: li.querySelector('[data-suffix=".name"]').value,
      objectIdentifier: li.querySelector('[data-suffix=".objectIdentifier"]').value.trim(),
    }));
    return {
      displayName: f.displayName.value,
      description: f.description.value,
      platform,
      certificateType: f.certificateType.value,
      subjectNameFormat: f.subjectNameFormat.value,
      subjectNameFormatString: custom ? f.subjectNameFormatString.value : null,
      customSubjectAlternativeNames: readRows(sans.rows, (li) => ({
        sanType: li.querySelector('[data-suffix=".sanType"]').value,
        name: li.querySelector('[data-suffix=".name"]').value,
      })),
      certificateValidityPeriodValue: wrap.validity.hidden ? null : numberOrNull(f.validityValue),
      certificateValidityPeriodScale: wrap.validity.hidden ? null : (f.validityScale.value || null),
      keyStorageProvider: isWindows(platform) ? f.keyStorageProvider.value : null,
      keyUsage: Object.values(keyUsage).filter((c) => c.checked).map((c) => c.value),
      keySize: Number(f.keySize.value),
      hashAlgorithm: isApple(platform) ? null : f.hashAlgorithm.value,
      extendedKeyUsages: ekuRows.length ? ekuRows : null,
      renewalThresholdPercentage: numberOrNull(f.renewal),
      rootCertificateId: f.root.value,
      scepServerUrls: readRows(urls.rows, (li) => li.querySelector('input').value.trim()),
    };
  };
  /** Rules the server cannot be asked about (a missing uuid is a 400, not a 422). */
  const localProblem = (d) => (d.rootCertificateId ? null : {
    title: 'Validation failed',
    detail: 'Check the highlighted fields.',
    errors: [{ field: 'rootCertificateId', rule: 'required', message: 'Choose the root certificate (a trusted profile of the same platform).' }],
  });
  return { form, summary, draft, localProblem };
}

// ------------------------------------------------------------ pages

export async function renderScepNew(main) {
  main.replaceChildren(h('h1', {}, 'New SCEP certificate profile'));
  if (!canWrite()) {
    main.append(notice('error', 'Readers cannot create profiles.'), h('a', { href: '#/profiles?kind=scep' }, 'Back to the profiles'));
    return;
  }
  let trusted;
  try {
    trusted = await listAll(KINDS.trusted.list);
  } catch (error) {
    main.append(errorNotice(error));
    return;
  }
  const { form, summary, draft, localProblem } = buildForm({}, trusted, { isNew: true });
  wireCreateButtons('scep', { form, summary, draft, localProblem });
  main.append(h('p', {}, h('a', { href: '#/profiles?kind=scep' }, '← All profiles')), form);
  form.querySelector('input').focus();
}

export async function renderScepProfile(main, id, preset) {
  main.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  let profile;
  let etag;
  let trusted;
  try {
    if (preset) {
      ({ profile, etag } = preset);
    } else {
      const response = await call('GET', KINDS.scep.item, { params: { id } });
      profile = response.body;
      etag = etagOf(response, profile);
    }
    trusted = await listAll(KINDS.trusted.list);
  } catch (error) {
    main.replaceChildren(h('h1', {}, 'SCEP certificate profile'),
      isStatus(error, 404) ? notice('error', 'No such profile (it may have been deleted).') : errorNotice(error),
      h('a', { href: '#/profiles?kind=scep' }, 'Back to the profiles'));
    return;
  }
  const rootNames = new Map(trusted.map((t) => [t.id, `${t.displayName} (${platformLabel(t.platform)})`]));
  const writable = canWrite();
  const flash = takeFlash();
  const history = historySection('scep', profile);
  const historyButton = h('button', { type: 'button', class: 'link-button' }, 'History');
  historyButton.addEventListener('click', () => {
    history.open = true;
    history.scrollIntoView({ block: 'start' });
    history.querySelector('summary').focus();
  });
  const header = h('header', { class: 'profile-header' },
    h('p', {}, h('a', { href: '#/profiles?kind=scep' }, '← All profiles')),
    h('h1', {}, profile.displayName),
    h('p', { class: 'muted' },
      `SCEP certificate profile · ${platformLabel(profile.platform)} · version ${profile.version} · changed ${formatDate(profile.lastModifiedDateTime)}`),
    h('nav', { class: 'toolbar profile-links', 'aria-label': 'About this profile' },
      h('a', { href: `#/profiles/scep/${encodeURIComponent(profile.id)}/statuses` }, 'Device statuses'),
      h('a', { href: `#/profiles/trusted/${encodeURIComponent(profile.rootCertificateId)}` }, 'Root certificate profile'),
      historyButton));
  const warnings = (profile.warnings || []).length
    ? h('div', { class: 'notice-warning', role: 'note' }, h('p', {}, 'Warnings'), h('ul', {}, profile.warnings.map((w) => h('li', {}, w))))
    : null;

  let settings;
  if (writable) {
    const { form, summary, draft, localProblem } = buildForm(profile, trusted, { isNew: false });
    const conflictSlot = h('div', { class: 'conflict-slot', hidden: true });
    const state = { id: profile.id, etag };
    const controller = editController({
      kind: 'scep',
      state,
      form,
      summary,
      conflictSlot,
      describe: (p) => describeScep(p, rootNames),
      onSaved: (view, tag) => {
        setFlash('ok', `Saved: version ${view.version}.`);
        renderScepProfile(main, id, { profile: view, etag: tag });
      },
      onReload: (view, tag) => {
        setFlash('ok', `Reloaded version ${view.version}.`);
        renderScepProfile(main, id, { profile: view, etag: tag });
      },
    });
    wireEditButtons({ form, summary, draft, localProblem }, controller, profile.displayName);
    settings = h('section', { class: 'card', 'aria-labelledby': 'settings-title' },
      h('h2', { id: 'settings-title' }, 'Settings'), conflictSlot, form);
  } else {
    settings = h('section', { class: 'card', 'aria-labelledby': 'settings-title' },
      h('h2', { id: 'settings-title' }, 'Settings'), dl(describeScep(profile, rootNames)));
  }
  fill(main, header, flash, warnings, settings,
    assignmentsSection('scep', profile, { writable }),
    previewSection('scep', profile),
    history);
}
