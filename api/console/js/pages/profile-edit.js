// Saving and deleting an existing profile: `If-Match` with the ETag read,
// the dry run first, and on 412 the conflict view (theirs next to mine, with
// "Reload theirs" and "Overwrite with mine").
import { call } from '../api.js';
import { h, notice, formatDate } from '../dom.js';
import { confirmWithDryRun } from './profile-dryrun.js';
import { KINDS } from './profile-sections.js';
import { dl, etagOf, isStatus, placeErrors, clearErrors, errorNotice, problemText } from './profile-util.js';

let flash = null;
/** A message for the next render of a profile page (after a save or create). */
export function setFlash(kind, message) { flash = { kind, message }; }
export function takeFlash() {
  const f = flash;
  flash = null;
  return f ? notice(f.kind, f.message) : null;
}

/**
 * state: { id, etag } (mutable). describe(objectLike) → [[term, text]] for the
 * conflict view. onSaved(view, etag) after a real save; onReload(view, etag)
 * after "Reload theirs".
 */
export function editController({ kind, state, form, summary, conflictSlot, describe, onSaved, onReload }) {
  const k = KINDS[kind];

  async function save(draft) {
    clearErrors(form, summary);
    conflictSlot.replaceChildren();
    conflictSlot.hidden = true;
    const params = { id: state.id };
    try {
      const applied = await confirmWithDryRun({
        title: 'Save these changes?',
        summary: 'What saving would do to the devices this profile reaches:',
        dryRun: () => call('PUT', k.item, { params, query: { dryRun: true }, headers: { 'If-Match': state.etag }, body: draft }),
        apply: () => call('PUT', k.item, { params, headers: { 'If-Match': state.etag }, body: draft }),
        applyLabel: 'Apply and save',
      });
      if (!applied) return;
      state.etag = etagOf(applied, applied.body);
      onSaved(applied.body, state.etag);
    } catch (error) {
      handle(error, draft);
    }
  }

  async function remove(displayName) {
    clearErrors(form, summary);
    const params = { id: state.id };
    const headers = { 'If-Match': state.etag };
    try {
      const applied = await confirmWithDryRun({
        title: `Delete ${displayName}?`,
        summary: 'Devices remove the profile at their next check-in.',
        dryRun: () => call('DELETE', k.item, { params, query: { dryRun: true }, headers }),
        apply: () => call('DELETE', k.item, { params, headers }),
        applyLabel: 'Delete',
      });
      if (applied) {
        setFlash('ok', `Deleted ${displayName}.`);
        location.hash = `#/profiles?kind=${kind}`;
      }
    } catch (error) {
      if (isStatus(error, 409)) {
        showSummary(`Cannot delete: ${problemText(error)}`);
      } else {
        handle(error, null);
      }
    }
  }

  function showSummary(message) {
    summary.replaceChildren(notice('error', message));
    summary.hidden = false;
  }

  function handle(error, draft) {
    if (isStatus(error, 412)) {
      showConflict(draft);
    } else if (isStatus(error, 422) && error.problem) {
      placeErrors(form, summary, error.problem);
    } else {
      summary.replaceChildren(errorNotice(error));
      summary.hidden = false;
    }
  }

  async function showConflict(mine) {
    conflictSlot.hidden = false;
    conflictSlot.replaceChildren(h('p', { class: 'muted' }, 'Loading the current version…'));
    let current;
    let currentTag;
    try {
      const response = await call('GET', k.item, { params: { id: state.id } });
      current = response.body;
      currentTag = etagOf(response, current);
    } catch (error) {
      if (isStatus(error, 404)) {
        conflictSlot.replaceChildren(h('div', { class: 'conflict', role: 'alert' },
          h('h2', {}, 'This profile was deleted by someone else'),
          h('a', { href: `#/profiles?kind=${kind}` }, 'Back to the profiles')));
        return;
      }
      conflictSlot.replaceChildren(errorNotice(error));
      return;
    }
    const theirs = describe(current);
    const minePairs = mine ? describe(mine) : [];
    const mineMap = new Map(minePairs);
    const theirMap = new Map(theirs);
    const mark = (pairs, other) => pairs.map(([term, value]) => [term, value, other.get(term) !== value]);
    const column = (title, pairs) => h('div', { class: 'conflict-side' },
      h('h3', {}, title),
      h('dl', { class: 'profile-dl' }, pairs.map(([term, value, differs]) => [
        h('dt', differs ? { class: 'differs' } : {}, term),
        h('dd', differs ? { class: 'differs' } : {}, value)])));
    const reload = h('button', { type: 'button' }, 'Reload theirs');
    const overwrite = h('button', { type: 'button', class: 'danger' }, 'Overwrite with mine');
    reload.addEventListener('click', () => onReload(current, currentTag));
    overwrite.addEventListener('click', () => {
      state.etag = currentTag;
      save(mine);
    });
    conflictSlot.replaceChildren(h('div', { class: 'conflict', role: 'alert', 'aria-labelledby': 'conflict-title' },
      h('h2', { id: 'conflict-title' }, 'This profile was changed by someone else'),
      h('p', {}, `Version ${current.version} was saved on ${formatDate(current.lastModifiedDateTime)} after you opened the profile. `
        + 'Your changes were not saved. Differences are marked.'),
      h('div', { class: 'grid-2 conflict-grid' },
        column(`Current version on the server (version ${current.version})`, mark(theirs, mineMap)),
        column('Your unsaved values', mark(minePairs, theirMap))),
      h('div', { class: 'toolbar' }, reload, mine ? overwrite : null)));
    conflictSlot.scrollIntoView({ block: 'start' });
    (mine ? overwrite : reload).focus();
  }

  return { save, remove };
}

export { dl };

/**
 * The form's draft, or `null` once the errors `localProblem` finds in it
 * (checks the browser can make before asking the server) are shown.
 */
function checkedDraft({ form, summary, draft, localProblem }) {
  const d = draft();
  const local = localProblem(d);
  if (local) {
    placeErrors(form, summary, local);
    return null;
  }
  return d;
}

/**
 * "Create profile" and "Cancel" for a new profile of `kind` ('scep' or
 * 'trusted'): POSTs the draft; a 422 goes beside its fields, another error
 * to the summary; on success, on to the new profile's page.
 */
export function wireCreateButtons(kind, parts) {
  const { form, summary } = parts;
  const create = h('button', { type: 'submit', class: 'primary' }, 'Create profile');
  form.append(h('div', { class: 'toolbar form-buttons' }, create, h('a', { href: `#/profiles?kind=${kind}` }, 'Cancel')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const d = checkedDraft(parts);
    if (!d) return;
    clearErrors(form, summary);
    create.disabled = true;
    try {
      const response = await call('POST', KINDS[kind].list, { body: d });
      setFlash('ok', `Created ${response.body.displayName}.`);
      location.hash = `#/profiles/${kind}/${encodeURIComponent(response.body.id)}`;
    } catch (error) {
      if (isStatus(error, 422) && error.problem) placeErrors(form, summary, error.problem);
      else { summary.replaceChildren(errorNotice(error)); summary.hidden = false; }
    } finally {
      create.disabled = false;
    }
  });
}

/** "Save" and "Delete profile" for an existing profile, through `controller` (its dry run, `If-Match`, 412 view). */
export function wireEditButtons(parts, controller, displayName) {
  const { form } = parts;
  const saveButton = h('button', { type: 'submit', class: 'primary' }, 'Save');
  const deleteButton = h('button', { type: 'button', class: 'danger' }, 'Delete profile');
  form.append(h('div', { class: 'toolbar form-buttons' }, saveButton, deleteButton));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const d = checkedDraft(parts);
    if (!d) return;
    saveButton.disabled = true;
    try { await controller.save(d); } finally { saveButton.disabled = false; }
  });
  deleteButton.addEventListener('click', () => controller.remove(displayName));
}
