// Create and edit forms for the directory resources (devices, users, groups):
// built from a field list, sent as the resource's draft, with the server's
// answers shown where they belong — 422 errors beside their fields, a 412
// (someone saved in between) as a conflict the user resolves by reloading.

import { h, field, showFieldErrors, clearFieldErrors, notice, fill } from './dom.js';

/** The values of the platforms the API knows (openapi Platform). */
export const PLATFORMS = ['android', 'ios', 'macos', 'windows10', 'windows81', 'windowsPhone81'];

function control(spec, value) {
  const common = { name: spec.name, required: spec.required };
  if (spec.type === 'select') {
    return h(
      'select',
      common,
      spec.required ? null : h('option', { value: '' }, spec.emptyLabel || '(none)'),
      spec.options.map((option) => {
        const [optionValue, text] = Array.isArray(option) ? option : [option, option];
        return h('option', { value: optionValue, selected: value === optionValue }, text);
      }),
    );
  }
  if (spec.type === 'textarea') {
    return h('textarea', { ...common, rows: 3, value: value ?? '' });
  }
  return h('input', { ...common, type: spec.type || 'text', value: value ?? '', autocomplete: 'off' });
}

/** The draft the form describes: blank optional fields are sent as null. */
function collect(form, fields) {
  const body = {};
  for (const spec of fields) {
    const input = form.elements.namedItem(spec.name);
    const value = input.value.trim();
    body[spec.name] = value === '' && !spec.required ? null : value;
  }
  return body;
}

/** Words for an API error that is not a field error. */
export function describeError(error) {
  if (error?.status === 412) {
    return 'Someone else changed this since you opened it, so your change was not saved. Reload to see their version, then make your change again.';
  }
  if (error?.status === 403) return 'Your token may not make this change (it needs the admin role).';
  if (error?.status === 404) return 'It no longer exists (deleted in the meantime?).';
  if (error?.status === 409) return error.problem?.detail || 'This conflicts with an existing resource.';
  return error?.problem?.detail || error?.message || String(error);
}

/**
 * A form for `fields` ([{ name, label, type, options, required, hint }]) filled
 * from `initial`. `onSubmit(draft)` sends it; its ApiError is shown in place.
 * `onConflict` (optional) adds a "Reload" action to the 412 view.
 */
export function resourceForm({ fields, initial = {}, submitLabel, onSubmit, onCancel, onConflict }) {
  const status = h('div', { class: 'form-status', 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', class: 'primary' }, submitLabel);
  const form = h(
    'form',
    {
      class: 'card resource-form',
      novalidate: true,
      onsubmit: async (event) => {
        event.preventDefault();
        clearFieldErrors(form);
        fill(status);
        submit.disabled = true;
        try {
          await onSubmit(collect(form, fields));
        } catch (error) {
          if (error?.status === 401) return;
          if (error?.status === 422) {
            const unplaced = showFieldErrors(form, error.problem);
            fill(status, 
              notice('error', 'The server did not accept these values: see the messages at the fields.'),
              unplaced.length ? h('ul', { class: 'field-error' }, unplaced.map((e) => h('li', {}, `${e.field}: ${e.message}`))) : null,
            );
          } else if (error?.status === 412) {
            fill(status, 
              h(
                'div',
                { class: 'notice notice-error conflict', role: 'alert' },
                h('strong', {}, 'Conflict: '),
                describeError(error),
                onConflict ? h('div', { class: 'toolbar' }, h('button', { type: 'button', onclick: onConflict }, 'Reload')) : null,
              ),
            );
          } else {
            fill(status, notice('error', describeError(error)));
          }
        } finally {
          submit.disabled = false;
        }
      },
    },
    status,
    h(
      'div',
      { class: 'form-grid' },
      fields.map((spec) => field(spec.label, control(spec, initial[spec.name]), { hint: spec.hint })),
    ),
    h('div', { class: 'toolbar' }, submit, onCancel ? h('button', { type: 'button', onclick: onCancel }, 'Cancel') : null),
  );
  return form;
}
