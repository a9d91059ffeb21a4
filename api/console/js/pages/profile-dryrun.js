// The dry-run confirmation: before a change to an existing profile (save,
// delete, assignment add/remove) the same request is sent with `dryRun=true`;
// its impact counts and first page of devices are shown in a <dialog>, and
// only "Apply" makes the real call.
import { h, table, uniqueId } from '../dom.js';
import { label, isDryRunUnsupported, problemText } from './profile-util.js';

const COUNTS = [
  ['install', 'Install'],
  ['reissue', 'Reissue'],
  ['remove', 'Remove'],
  ['revoke', 'Certificates to revoke'],
  ['unchanged', 'Unchanged'],
];

/**
 * Runs `dryRun()`; if it fails with anything but "dryRun unsupported" the
 * error is thrown to the caller (422 field errors, 412 conflict …) and no
 * dialog opens. Otherwise shows the impact and resolves with `apply()`'s
 * result after "Apply", or with `null` after "Cancel". Errors of `apply()`
 * are thrown to the caller after the dialog closed.
 */
export async function confirmWithDryRun({ title, summary, dryRun, apply, applyLabel = 'Apply' }) {
  let result = null;
  let unsupported = false;
  try {
    const response = await dryRun();
    result = response.body;
  } catch (error) {
    if (!isDryRunUnsupported(error)) throw error;
    unsupported = true;
  }
  return new Promise((resolve, reject) => {
    const titleId = uniqueId('dry-run-title');
    const applyButton = h('button', { type: 'button', class: 'primary', dataset: { action: 'apply' } }, applyLabel);
    const cancelButton = h('button', { type: 'button', dataset: { action: 'cancel' } }, 'Cancel');
    const status = h('p', { class: 'muted', role: 'status' });
    const dialog = h('dialog', { class: 'dry-run', 'aria-labelledby': titleId },
      h('h2', { id: titleId }, title),
      summary ? h('p', {}, summary) : null,
      unsupported ? unsupportedNotice() : impactView(result),
      status,
      h('div', { class: 'toolbar dialog-buttons' }, cancelButton, applyButton));
    let settled = false;
    const finish = (fn, value) => {
      if (settled) return;
      settled = true;
      if (dialog.open) dialog.close();
      dialog.remove();
      fn(value);
    };
    cancelButton.addEventListener('click', () => finish(resolve, null));
    let applying = false;
    dialog.addEventListener('cancel', (event) => {
      event.preventDefault();
      if (!applying) finish(resolve, null); // Escape while the change is under way: wait for it
    });
    applyButton.addEventListener('click', async () => {
      applying = true;
      applyButton.disabled = true;
      cancelButton.disabled = true;
      status.textContent = 'Applying…';
      try {
        const applied = await apply();
        finish(resolve, applied || { applied: true });
      } catch (error) {
        finish(reject, error);
      }
    });
    document.body.append(dialog);
    dialog.showModal();
    applyButton.focus();
  });
}

function unsupportedNotice() {
  return h('div', { class: 'impact impact-unavailable', dataset: { impact: 'unavailable' } },
    h('p', { class: 'notice-warning' }, 'Impact preview not available for this change: the server cannot rehearse it yet.'),
    h('p', {}, 'You can still apply it; devices learn of it at their next check-in.'));
}

/** The counts and the first page of devices of a dry-run answer. */
export function impactView(result) {
  const impact = (result && result.impact) || {};
  const devices = (result && result.devices && result.devices.items) || [];
  const more = result && result.devices && result.devices.nextCursor;
  const warnings = (result && result.result && Array.isArray(result.result.warnings)) ? result.result.warnings : [];
  return h('div', { class: 'impact' },
    warnings.length
      ? h('div', { class: 'notice-warning', role: 'note' },
        h('p', {}, 'The profile would be saved with these warnings:'),
        h('ul', {}, warnings.map((w) => h('li', {}, w))))
      : null,
    h('h3', {}, 'Impact on devices'),
    h('dl', { class: 'impact-counts' },
      COUNTS.map(([key, text]) => h('div', { class: `count count-${key}`, dataset: { count: key } },
        h('dt', {}, text),
        h('dd', { dataset: { countValue: key } }, String(impact[key] ?? 0))))),
    devices.length
      ? h('div', { class: 'impact-devices' },
        h('h3', {}, more ? `First ${devices.length} devices` : 'Devices'),
        table([
          { title: 'Device', render: (d) => d.deviceName || d.deviceId },
          { title: 'Action', render: (d) => label('action', d.action) },
          { title: 'Reason', render: (d) => label('reason', d.reason) },
          { title: 'Certificates to revoke', render: (d) => String(d.revocations ?? 0) },
        ], devices),
        more ? h('p', { class: 'muted' }, 'More devices are concerned than shown here.') : null)
      : h('p', { class: 'muted' }, 'No device is concerned.'));
}

export { problemText };
