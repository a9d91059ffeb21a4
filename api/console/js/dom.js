// Building the page. Everything from the API reaches the document as text
// nodes or attribute values through `h`; nothing here parses markup
// (no innerHTML), so a device called `<img src=x onerror=...>` stays text.

const EVENTS = new Set(['onclick', 'oninput', 'onsubmit', 'onchange', 'onkeydown', 'onclose', 'ontoggle']);
const PROPERTIES = new Set(['value', 'checked', 'selected']);

let nextId = 0;
/** A fresh element id, for labels bound to generated inputs. */
export function uniqueId(prefix = 'f') {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

function append(element, child) {
  if (child === null || child === undefined || child === false || child === true) return;
  if (Array.isArray(child)) {
    for (const item of child) append(element, item);
  } else if (child instanceof Node) {
    element.append(child);
  } else {
    element.append(document.createTextNode(String(child)));
  }
}

/** Appends `children` to `element` like `h` does: arrays flattened, null/false skipped, strings as text. */
export function add(element, ...children) {
  append(element, children);
  return element;
}

/** Replaces the content of `element` with `children` (as `add`). */
export function fill(element, ...children) {
  element.replaceChildren();
  return add(element, ...children);
}

/** `<tag>` with `attrs` (see the contract) and `children` (strings become text nodes). */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (EVENTS.has(key)) {
      element.addEventListener(key.slice(2), value);
    } else if (key === 'class') {
      element.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : value;
    } else if (key === 'for') {
      element.htmlFor = value;
    } else if (key === 'dataset') {
      Object.assign(element.dataset, value);
    } else if (key === 'hidden' || key === 'disabled' || key === 'required' || key === 'multiple') {
      element[key] = Boolean(value);
    } else if (PROPERTIES.has(key)) {
      element[key] = value;
    } else {
      element.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(element, children);
  return element;
}

/**
 * A labelled form field: `<div class="field">` with a `<label for>` bound to
 * `input`, an optional hint, and an error slot that showFieldErrors fills.
 */
export function field(labelText, input, { hint, error } = {}) {
  if (!input.id) input.id = uniqueId('field');
  const errorSlot = h('p', { class: 'field-error', id: `${input.id}-error`, role: 'alert', hidden: !error }, error || '');
  const describedBy = [errorSlot.id];
  let hintNode = null;
  if (hint) {
    hintNode = h('p', { class: 'hint muted', id: `${input.id}-hint` }, hint);
    describedBy.push(hintNode.id);
  }
  input.setAttribute('aria-describedby', describedBy.join(' '));
  return h('div', { class: 'field' }, h('label', { for: input.id }, labelText), input, hintNode, errorSlot);
}

/** The input names an error's `field` may address: `a.b[2]` → `a.b[2]`, `a.b`, `a`. */
function candidates(fieldName) {
  const names = [fieldName];
  let rest = fieldName;
  while (/[.[]/.test(rest)) {
    rest = rest.replace(/(\[[^\]]*\]|\.[^.[]*)$/, '');
    if (!rest || names.includes(rest)) break;
    names.push(rest);
  }
  const pointer = fieldName.startsWith('/') ? fieldName.slice(1).split('/')[0] : null;
  if (pointer) names.push(pointer);
  return names;
}

/** Clears what showFieldErrors wrote. */
export function clearFieldErrors(form) {
  for (const slot of form.querySelectorAll('.field-error')) {
    slot.textContent = '';
    slot.hidden = true;
  }
  for (const input of form.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
}

/**
 * Shows each of a 422 problem's `errors[]` (`{field, rule, message}`) beside the
 * input whose `name` matches the field (or its parent: `scepServerUrls[1]` →
 * `scepServerUrls`). Returns the errors that matched no input.
 */
export function showFieldErrors(form, problem) {
  clearFieldErrors(form);
  const unplaced = [];
  for (const error of problem?.errors || []) {
    const name = String(error.field ?? '');
    let input = null;
    for (const candidate of candidates(name)) {
      input = [...form.elements].find((element) => element.name === candidate);
      if (input) break;
    }
    const slot = input && form.querySelector(`#${CSS.escape(input.id)}-error`);
    if (!slot) {
      unplaced.push(error);
      continue;
    }
    input.setAttribute('aria-invalid', 'true');
    const text = error.message || error.rule || 'invalid';
    slot.textContent = slot.textContent ? `${slot.textContent} ${text}` : text;
    slot.hidden = false;
  }
  return unplaced;
}

/** A table: `columns` = [{ title, render(row) → node | string }]. */
export function table(columns, rows, { empty = 'Nothing to show.', caption } = {}) {
  if (!rows.length) return h('p', { class: 'muted empty' }, empty);
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      {},
      caption ? h('caption', {}, caption) : null,
      h('thead', {}, h('tr', {}, columns.map((column) => h('th', { scope: 'col' }, column.title)))),
      h(
        'tbody',
        {},
        rows.map((row) => h('tr', {}, columns.map((column) => h('td', { dataset: { label: column.title } }, column.render(row))))),
      ),
    ),
  );
}

/** Keyset paging: a "Next page" button when there is a `nextCursor` (and "First page" when given `onFirst`). */
export function pager(nextCursor, onNext, { onFirst } = {}) {
  return h(
    'nav',
    { class: 'pager', 'aria-label': 'Pages' },
    onFirst ? h('button', { type: 'button', onclick: onFirst }, 'First page') : null,
    nextCursor ? h('button', { type: 'button', onclick: () => onNext(nextCursor) }, 'Next page') : null,
  );
}

/** A message box: kind 'error' | 'ok' | 'info'. */
export function notice(kind, text) {
  return h('div', { class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}

/** Saves `blob` as `filename` through a temporary object URL. */
export function download(blob, filename) {
  const url = URL.createObjectURL(blob);
  const anchor = h('a', { href: url, download: filename, hidden: true });
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** An ISO timestamp as local date and time ('' when absent). */
export function formatDate(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return date.toLocaleString(undefined, { year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/**
 * Asks before something destructive: a modal `<dialog>` with the message and
 * two buttons. Resolves true only when the user confirms.
 */
export function confirmDialog(message, { confirmLabel = 'Delete', title = 'Are you sure?' } = {}) {
  return new Promise((resolve) => {
    const titleId = uniqueId('dialog-title');
    const dialog = h(
      'dialog',
      { class: 'confirm', 'aria-labelledby': titleId },
      h('h2', { id: titleId }, title),
      h('p', {}, message),
      h(
        'div',
        { class: 'toolbar' },
        h('button', { type: 'button', class: 'danger', onclick: () => dialog.close('confirm') }, confirmLabel),
        h('button', { type: 'button', onclick: () => dialog.close('cancel') }, 'Cancel'),
      ),
    );
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(dialog.returnValue === 'confirm');
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** A JSON value as text (strings unquoted), for diffs and details. */
export function jsonText(value) {
  if (value === undefined) return '';
  if (typeof value === 'string') return value;
  return JSON.stringify(value, null, 1);
}
