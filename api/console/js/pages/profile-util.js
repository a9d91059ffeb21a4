// Helpers of the Profiles pages: labels, small form builders, certificate file
// handling (PEM/DER detection, DER → PEM) and error placement. Text only: every
// value from the API or a file becomes a text node through dom.js's h().
import { ApiError } from '../api.js';
import { h, fill, uniqueId, showFieldErrors, clearFieldErrors, notice } from '../dom.js';


export const PLATFORM_LABELS = {
  android: 'Android',
  ios: 'iOS',
  macos: 'macOS',
  windows10: 'Windows 10 and later',
  windows81: 'Windows 8.1',
  windowsPhone81: 'Windows Phone 8.1',
};

export const isWindows = (platform) => ['windows10', 'windows81', 'windowsPhone81'].includes(platform);
export const isApple = (platform) => platform === 'ios' || platform === 'macos';

export const LABELS = {
  certificateType: { user: 'User', device: 'Device' },
  subjectNameFormat: {
    notConfigured: 'Not configured',
    commonName: 'Common name',
    commonNameIncludingEmail: 'Common name including email',
    commonNameAsEmail: 'Common name as email',
    commonNameAsIMEI: 'Common name as IMEI',
    commonNameAsSerialNumber: 'Common name as serial number',
    custom: 'Custom',
  },
  sanType: {
    emailAddress: 'Email address',
    userPrincipalName: 'User principal name (UPN)',
    domainNameService: 'DNS',
    universalResourceIdentifier: 'URI',
  },
  keyUsage: { keyEncipherment: 'Key encipherment', digitalSignature: 'Digital signature' },
  hashAlgorithm: { sha1: 'SHA-1', sha2: 'SHA-2' },
  keyStorageProvider: {
    useTpmKspOtherwiseUseSoftwareKsp: 'TPM KSP, otherwise software KSP',
    useTpmKspOtherwiseFail: 'TPM KSP, otherwise fail',
    usePassportForWorkKspOtherwiseFail: 'Windows Hello for Business, otherwise fail',
    useSoftwareKsp: 'Software KSP',
  },
  destinationStore: {
    computerCertStoreRoot: 'Computer certificate store – Root',
    computerCertStoreIntermediate: 'Computer certificate store – Intermediate',
    userCertStoreIntermediate: 'User certificate store – Intermediate',
  },
  validityScale: { days: 'Days', months: 'Months', years: 'Years' },
  intent: { include: 'Include', exclude: 'Exclude' },
  action: { install: 'Install', reissue: 'Reissue', remove: 'Remove', unchanged: 'Unchanged' },
  reason: {
    newlyApplicable: 'Newly applicable',
    versionChanged: 'Version changed',
    noLongerApplicable: 'No longer applicable',
    unchanged: 'Unchanged',
    revocationOnly: 'Revocation only',
  },
};

export function label(kind, value) {
  if (value === null || value === undefined || value === '') return '—';
  return (LABELS[kind] && LABELS[kind][value]) || String(value);
}

export function platformLabel(platform) {
  return PLATFORM_LABELS[platform] || String(platform ?? '—');
}

/** The render() query argument as a plain object, whatever the router hands over. */
export function queryObject(query) {
  if (!query) return {};
  if (query instanceof URLSearchParams) return Object.fromEntries(query.entries());
  return query;
}

/** A `<select>` with options `[value, text]`; `selected` is the chosen value. */
export function select(name, options, selected, attrs = {}) {
  const el = h('select', { name, ...attrs },
    options.map(([value, text]) => h('option', { value }, text)));
  el.value = selected ?? '';
  if (el.value !== (selected ?? '') && options.length) el.selectedIndex = 0;
  return el;
}

export function enumOptions(kind, values) {
  return values.map((value) => [value, label(kind, value)]);
}

export function input(name, value, attrs = {}) {
  const el = h('input', { name, type: 'text', ...attrs });
  el.value = value ?? '';
  return el;
}

export function checkbox(name, value, checked) {
  const el = h('input', { type: 'checkbox', name, value });
  el.checked = !!checked;
  return el;
}

export function radio(name, value, checked) {
  const el = h('input', { type: 'radio', name, value });
  el.checked = !!checked;
  return el;
}

/** A checkbox or radio with its own label after it. */
export function choice(inputEl, text) {
  if (!inputEl.id) inputEl.id = uniqueId('choice');
  return h('span', { class: 'choice' }, inputEl, h('label', { for: inputEl.id }, text));
}

/** A group of inputs under a legend, with an error slot for the group's own name. */
export function group(legend, name, ...children) {
  return h('fieldset', { class: 'field group', dataset: { errorGroup: name } },
    h('legend', {}, legend),
    ...children,
    h('p', { class: 'field-error', role: 'alert', hidden: true, dataset: { errorFor: name } }));
}


/** Definition list of `[term, value]`; values are strings or nodes. */
export function dl(pairs, attrs = {}) {
  return h('dl', { class: 'profile-dl', ...attrs },
    pairs.filter(Boolean).map(([term, value]) => [h('dt', {}, term), h('dd', {}, value ?? '—')]));
}

export function text(value) {
  if (value === null || value === undefined || value === '') return '—';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

/** The ETag of a response, or the quoted version as the server writes it. */
export function etagOf(response, view) {
  const tag = response && response.headers && response.headers.get && response.headers.get('ETag');
  return tag || (view && view.version !== undefined ? `"${view.version}"` : undefined);
}

// ------------------------------------------------------------ errors

export function isStatus(error, status) {
  return error instanceof ApiError && error.status === status;
}

/** Whether a 422 says the endpoint cannot rehearse (`dryRun` unsupported). */
export function isDryRunUnsupported(error) {
  return isStatus(error, 422) && !!error.problem && Array.isArray(error.problem.errors)
    && error.problem.errors.some((e) => e.field === 'dryRun');
}

export function problemText(error) {
  if (error instanceof ApiError && error.problem) {
    const p = error.problem;
    return [p.title, p.detail].filter(Boolean).join(': ') || `HTTP ${error.status}`;
  }
  return error && error.message ? error.message : String(error);
}

/**
 * Shows a 422's errors: beside their inputs (dom.js), then list-level ones in
 * their group's slot (`data-error-for`, exact name or the part before `[`),
 * and whatever is left in the summary element at the top of the form.
 */
export function placeErrors(form, summary, problem) {
  clearErrors(form, summary);
  const left = showFieldErrors(form, problem) || [];
  const unplaced = [];
  for (const error of left) {
    const name = error.field || '';
    const base = name.split('[')[0];
    const slot = form.querySelector(`[data-error-for="${cssEscape(name)}"]`)
      || form.querySelector(`[data-error-for="${cssEscape(base)}"]`);
    if (slot) {
      slot.hidden = false;
      slot.append(h('span', { class: 'error-line' }, name === base ? error.message : `${name}: ${error.message}`));
      slot.dataset.filled = 'true';
    } else {
      unplaced.push(error);
    }
  }
  if (summary) {
    const problemLine = problem ? [problem.title, problem.detail].filter(Boolean).join(': ') : '';
    fill(summary,
      notice('error', problemLine || 'The server refused the change.'),
      unplaced.length
        ? h('ul', { class: 'error-summary' }, unplaced.map((e) => h('li', {}, `${e.field}: ${e.message}`)))
        : null,
    );
    summary.hidden = false;
    summary.setAttribute('tabindex', '-1');
    summary.focus();
  }
  return unplaced;
}

export function clearErrors(form, summary) {
  clearFieldErrors(form);
  for (const slot of form.querySelectorAll('[data-error-for]')) {
    slot.replaceChildren();
    slot.hidden = true;
    delete slot.dataset.filled;
  }
  if (summary) {
    summary.replaceChildren();
    summary.hidden = true;
  }
}

function cssEscape(value) {
  return window.CSS && CSS.escape ? CSS.escape(value) : value.replace(/["\\]/g, '\\$&');
}

/** A notice for an error that is not a field error. */
export function errorNotice(error) {
  return notice('error', problemText(error));
}

// ------------------------------------------------------------ certificate files

const PEM_BEGIN = '-----BEGIN';

/**
 * What a certificate file holds: `{ format: 'PEM' | 'DER' | 'unknown', pem, der }`.
 * PEM text is kept as is (a BOM dropped); DER (starts with an ASN.1 SEQUENCE,
 * 0x30) becomes PEM; base64 text without armour is treated as DER in base64.
 */
export function readCertificateBytes(bytes) {
  let start = 0;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
  const head = asciiPrefix(bytes.subarray(start), 200).trimStart();
  if (head.startsWith(PEM_BEGIN)) {
    const pem = new TextDecoder('utf-8').decode(bytes.subarray(start));
    return { format: 'PEM', pem, der: pemToDer(pem) };
  }
  if (bytes[start] === 0x30) {
    const der = bytes.subarray(start);
    return { format: 'DER', pem: derToPem(der), der };
  }
  const textValue = new TextDecoder('utf-8').decode(bytes.subarray(start)).trim();
  if (/^[A-Za-z0-9+/=\s]+$/.test(textValue) && textValue.length > 16) {
    try {
      const der = base64ToBytes(textValue);
      if (der[0] === 0x30) return { format: 'DER (base64)', pem: derToPem(der), der };
    } catch (_) { /* not base64 */ }
  }
  // Neither: sent as text all the same, so that the server says what is wrong with it.
  return { format: 'unknown', pem: new TextDecoder('utf-8').decode(bytes.subarray(start)), der: null };
}

function asciiPrefix(bytes, n) {
  let out = '';
  for (let i = 0; i < Math.min(n, bytes.length); i += 1) out += String.fromCharCode(bytes[i]);
  return out;
}

export function bytesToBase64(bytes) {
  let binary = '';
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + chunk));
  }
  return btoa(binary);
}

export function base64ToBytes(b64) {
  const binary = atob(b64.replace(/\s+/g, ''));
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) out[i] = binary.charCodeAt(i);
  return out;
}

/** PEM armour around DER: base64 in 64-column lines. */
export function derToPem(der) {
  const b64 = bytesToBase64(der);
  const lines = b64.match(/.{1,64}/g) || [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/** The DER of the first CERTIFICATE block of a PEM text, or null. */
export function pemToDer(pem) {
  const match = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(pem);
  if (!match) return null;
  try {
    return base64ToBytes(match[1]);
  } catch (_) {
    return null;
  }
}

/** Uppercase hex digest of bytes (SHA-1 / SHA-256), or null without WebCrypto. */
export async function thumbprint(algorithm, bytes) {
  if (!bytes || !window.crypto || !crypto.subtle) return null;
  const digest = new Uint8Array(await crypto.subtle.digest(algorithm, bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('').toUpperCase();
}

export function formatBytes(n) {
  if (n < 1024) return `${n} bytes`;
  return `${(n / 1024).toFixed(1)} KiB (${n} bytes)`;
}

/** Reads a File into a Uint8Array with FileReader. */
export function readFile(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(new Uint8Array(reader.result));
    reader.onerror = () => reject(reader.error || new Error('The file could not be read'));
    reader.readAsArrayBuffer(file);
  });
}

/** A file name made of safe characters. */
export function safeName(value) {
  const cleaned = String(value || '').normalize('NFKD').replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '');
  return cleaned.slice(0, 80) || 'profile';
}

export const PAYLOAD_EXTENSIONS = {
  'application/x-apple-aspen-config': 'mobileconfig',
  'application/vnd.syncml.dm+xml': 'xml',
  'application/json': 'json',
};

export function payloadExtension(contentType, platform) {
  const base = String(contentType || '').split(';')[0].trim().toLowerCase();
  if (PAYLOAD_EXTENSIONS[base]) return PAYLOAD_EXTENSIONS[base];
  if (isApple(platform)) return 'mobileconfig';
  if (isWindows(platform)) return 'xml';
  return 'json';
}


