// Sections of a profile page shared by both kinds: assignments (with the dry
// run before each add/remove), payload preview with download, audit history.
import { call, listAll } from '../api.js';
import { h, field, fill, table, pager, notice, download, formatDate } from '../dom.js';
import { confirmWithDryRun } from './profile-dryrun.js';
import {
  label, select, input, radio, choice, group, errorNotice, isStatus, problemText,
  payloadExtension, safeName, text, platformLabel,
} from './profile-util.js';

export const KINDS = {
  scep: {
    kind: 'scep',
    title: 'SCEP certificate profile',
    collection: 'scep-certificate-profiles',
    list: '/api/v1/scep-certificate-profiles',
    item: '/api/v1/scep-certificate-profiles/{id}',
    assignments: '/api/v1/scep-certificate-profiles/{id}/assignments',
    assignment: '/api/v1/scep-certificate-profiles/{id}/assignments/{assignmentId}',
  },
  trusted: {
    kind: 'trusted',
    title: 'Trusted certificate profile',
    collection: 'trusted-certificate-profiles',
    list: '/api/v1/trusted-certificate-profiles',
    item: '/api/v1/trusted-certificate-profiles/{id}',
    assignments: '/api/v1/trusted-certificate-profiles/{id}/assignments',
    assignment: '/api/v1/trusted-certificate-profiles/{id}/assignments/{assignmentId}',
  },
};

// ------------------------------------------------------------ assignments

export function assignmentsSection(kind, profile, { writable }) {
  const k = KINDS[kind];
  const status = h('div', { class: 'section-status', role: 'status' });
  const listSlot = h('div', { class: 'assignment-list' }, h('p', { class: 'muted' }, 'Loading assignments…'));
  const section = h('section', { class: 'card profile-assignments', 'aria-labelledby': 'assignments-title' },
    h('h2', { id: 'assignments-title' }, 'Assignments'),
    status, listSlot);
  let groups = [];
  let groupNames = new Map();

  async function refresh() {
    try {
      const [assignments, allGroups] = await Promise.all([
        listAll(k.assignments, { params: { id: profile.id } }),
        listAll('/api/v1/groups', {}, 20),
      ]);
      groups = allGroups;
      groupNames = new Map(allGroups.map((g) => [g.id, g.displayName]));
      renderList(assignments);
      if (writable) renderPicker(assignments);
    } catch (error) {
      listSlot.replaceChildren(errorNotice(error));
    }
  }

  function renderList(assignments) {
    if (!assignments.length) {
      listSlot.replaceChildren(h('p', { class: 'muted', dataset: { empty: 'assignments' } }, 'Not assigned to any group.'));
      return;
    }
    const columns = [
      { title: 'Group', render: (a) => groupNames.get(a.groupId) || a.groupId },
      { title: 'Intent', render: (a) => label('intent', a.intent) },
      { title: 'Assigned', render: (a) => formatDate(a.createdDateTime) },
    ];
    if (writable) {
      columns.push({
        title: 'Actions',
        render: (a) => h('button', {
          type: 'button',
          class: 'danger',
          'aria-label': `Remove assignment to ${groupNames.get(a.groupId) || a.groupId}`,
          onclick: () => removeAssignment(a),
        }, 'Remove'),
      });
    }
    listSlot.replaceChildren(table(columns, assignments));
  }

  let pickerSlot = null;
  function renderPicker(assignments) {
    const assigned = new Set(assignments.map((a) => a.groupId));
    const search = input('groupSearch', '', { type: 'search', autocomplete: 'off' });
    const groupSelect = h('select', { name: 'groupId' });
    const fillOptions = () => {
      const needle = search.value.trim().toLowerCase();
      const matches = groups.filter((g) => !assigned.has(g.id)
        && (!needle || String(g.displayName).toLowerCase().includes(needle)));
      groupSelect.replaceChildren(...matches.map((g) => h('option', { value: g.id },
        `${g.displayName} (${g.groupType === 'device' ? 'device group' : 'user group'})`)));
      if (!matches.length) groupSelect.append(h('option', { value: '' }, needle ? 'No group matches' : 'No group left to assign'));
    };
    search.addEventListener('input', fillOptions);
    fillOptions();
    const include = radio('intent', 'include', true);
    const exclude = radio('intent', 'exclude', false);
    const form = h('form', { class: 'assign-form', 'aria-label': 'Assign to a group' },
      h('h3', {}, 'Assign to a group'),
      field('Search groups', search, { hint: 'Filters the list below in the browser: the API lists groups without a name filter.' }),
      field('Group', groupSelect),
      group('Intent', 'intent', choice(include, 'Include'), choice(exclude, 'Exclude')),
      h('div', { class: 'toolbar' }, h('button', { type: 'submit', class: 'primary' }, 'Assign')));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const groupId = groupSelect.value;
      if (!groupId) {
        status.replaceChildren(notice('error', 'Choose a group to assign.'));
        return;
      }
      const body = { groupId, intent: exclude.checked ? 'exclude' : 'include' };
      await runChange({
        title: `${body.intent === 'exclude' ? 'Exclude' : 'Assign to'} ${groupNames.get(groupId) || groupId}?`,
        dryRun: () => call('POST', k.assignments, { params: { id: profile.id }, query: { dryRun: true }, body }),
        apply: () => call('POST', k.assignments, { params: { id: profile.id }, body }),
        done: 'Assignment added.',
      });
    });
    const next = h('div', { class: 'assign-picker' }, form);
    if (pickerSlot) pickerSlot.replaceWith(next); else section.append(next);
    pickerSlot = next;
  }

  function removeAssignment(assignment) {
    const params = { id: profile.id, assignmentId: assignment.id };
    return runChange({
      title: `Remove the assignment to ${groupNames.get(assignment.groupId) || assignment.groupId}?`,
      dryRun: () => call('DELETE', k.assignment, { params, query: { dryRun: true } }),
      apply: () => call('DELETE', k.assignment, { params }),
      done: 'Assignment removed.',
    });
  }

  async function runChange({ title, dryRun, apply, done }) {
    status.replaceChildren();
    try {
      const applied = await confirmWithDryRun({ title, dryRun, apply });
      if (applied) {
        status.replaceChildren(notice('ok', done));
        await refresh();
      }
    } catch (error) {
      status.replaceChildren(isStatus(error, 409)
        ? notice('error', `Refused: ${problemText(error)}`)
        : errorNotice(error));
    }
  }

  refresh();
  return section;
}

// ------------------------------------------------------------ preview

export function previewSection(kind, profile) {
  const k = KINDS[kind];
  const search = input('deviceSearch', '', { type: 'search', autocomplete: 'off' });
  const deviceSelect = h('select', { name: 'deviceId' }, h('option', { value: '' }, 'Loading devices…'));
  const result = h('div', { class: 'preview-result', 'aria-live': 'polite' });
  let devices = [];
  let cursor = null;
  let loading = false;
  const fillOptions = () => {
    const needle = search.value.trim().toLowerCase();
    const matches = devices.filter((d) => !needle || String(d.deviceName).toLowerCase().includes(needle));
    deviceSelect.replaceChildren(...matches.slice(0, 500).map((d) => h('option', { value: d.id }, d.deviceName)));
    if (!matches.length) {
      deviceSelect.append(h('option', { value: '' },
        devices.length ? 'No device matches' : `No ${platformLabel(profile.platform)} device loaded`));
    }
  };
  search.addEventListener('input', fillOptions);
  // Devices come 500 at a time (the API lists them without a name or platform
  // filter): a large fleet is searched page by page, not loaded whole.
  const more = h('button', { type: 'button', hidden: true }, 'Load more devices');
  const loadedNote = h('span', { class: 'muted', role: 'status' });
  let scanned = 0;
  async function loadDevices() {
    if (loading) return;
    loading = true;
    more.disabled = true;
    try {
      const response = await call('GET', '/api/v1/devices', { query: { limit: 500, cursor: cursor || undefined } });
      const items = response.body.items || [];
      scanned += items.length;
      devices.push(...items.filter((d) => d.platform === profile.platform));
      cursor = response.body.nextCursor || null;
      more.hidden = !cursor;
      loadedNote.textContent = cursor
        ? `${devices.length} ${platformLabel(profile.platform)} devices among the first ${scanned} devices.`
        : '';
      fillOptions();
    } catch (error) {
      result.replaceChildren(errorNotice(error));
    } finally {
      loading = false;
      more.disabled = false;
    }
  }
  more.addEventListener('click', loadDevices);
  loadDevices();

  const form = h('form', { class: 'preview-form', 'aria-label': 'Preview the payload' },
    field('Search devices', search, {
      hint: `Devices of this profile's platform (${platformLabel(profile.platform)}), filtered by name in the browser.`,
    }),
    field('Device', deviceSelect),
    h('div', { class: 'toolbar' }, h('button', { type: 'submit' }, 'Preview'), more, loadedNote));

  const request = (deviceId, accept, raw) => (kind === 'scep'
    ? call('POST', `${k.item}/preview`, { params: { id: profile.id }, body: { deviceId }, headers: { Accept: accept }, raw })
    : call('GET', `${k.item}/preview`, { params: { id: profile.id }, query: { deviceId }, headers: { Accept: accept }, raw }));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const deviceId = deviceSelect.value;
    if (!deviceId) {
      result.replaceChildren(notice('error', 'Choose a device to preview for.'));
      return;
    }
    const device = devices.find((d) => d.id === deviceId);
    result.replaceChildren(h('p', { class: 'muted' }, 'Rendering…'));
    try {
      // `*/*`: the JSON envelope (an `Accept` naming the payload's own type gets the raw payload).
      const response = await request(deviceId, '*/*', false);
      const preview = response.body;
      const ext = payloadExtension(preview.contentType, profile.platform);
      const fileName = `${safeName(profile.displayName)}-${safeName(device ? device.deviceName : deviceId)}.${ext}`;
      const downloadButton = h('button', { type: 'button', class: 'primary' }, `Download ${fileName}`);
      const downloadStatus = h('span', { class: 'muted', role: 'status' });
      downloadButton.addEventListener('click', async () => {
        downloadStatus.textContent = '';
        try {
          const raw = await request(deviceId, preview.contentType, true);
          download(raw.body, fileName);
        } catch (error) {
          downloadStatus.textContent = problemText(error);
        }
      });
      const warnings = preview.warnings || [];
      result.replaceChildren(
        h('p', {}, `Payload for ${device ? device.deviceName : deviceId}: `, h('code', {}, preview.contentType)),
        warnings.length
          ? h('div', { class: 'notice-warning preview-warnings', role: 'note' },
            h('p', {}, 'Warnings: settings this platform cannot express, left out of the payload'),
            h('ul', {}, warnings.map((w) => h('li', {}, w))))
          : h('p', { class: 'muted' }, 'No warnings.'),
        h('div', { class: 'toolbar' }, downloadButton, downloadStatus),
        h('details', { class: 'payload-text' },
          h('summary', {}, 'Show the payload'),
          h('pre', { tabindex: '0' }, preview.payload)));
    } catch (error) {
      if (isStatus(error, 422) && error.problem && Array.isArray(error.problem.errors)) {
        const missing = error.problem.errors;
        result.replaceChildren(h('div', { class: 'notice-error preview-missing', role: 'alert' },
          h('p', {}, missing.every((e) => e.rule === 'missingValue')
            ? 'This device cannot get the payload: its records have no value for'
            : 'This device cannot get the payload:'),
          h('ul', {}, missing.map((e) => h('li', {}, e.message)))));
      } else {
        result.replaceChildren(errorNotice(error));
      }
    }
  });

  return h('section', { class: 'card profile-preview', 'aria-labelledby': 'preview-title' },
    h('h2', { id: 'preview-title' }, 'Preview'),
    h('p', { class: 'muted' }, kind === 'scep'
      ? 'The exact payload a device would get (with a placeholder challenge).'
      : 'The exact payload a device would get.'),
    form, result);
}

// ------------------------------------------------------------ history

export function historySection(kind, profile) {
  const k = KINDS[kind];
  const body = h('div', { class: 'history-body' });
  const details = h('details', { class: 'card profile-history' },
    h('summary', {}, h('h2', { class: 'inline' }, 'History')),
    body);
  let loaded = false;
  const events = [];
  async function load(cursor) {
    try {
      const response = await call('GET', '/api/v1/{collection}/{id}/history', {
        params: { collection: k.collection, id: profile.id },
        query: { cursor, limit: 50 },
      });
      events.push(...response.body.items);
      render(response.body.nextCursor);
    } catch (error) {
      body.replaceChildren(errorNotice(error));
    }
  }
  function render(nextCursor) {
    if (!events.length) {
      body.replaceChildren(h('p', { class: 'muted' }, 'No recorded changes.'));
      return;
    }
    fill(body,
      table([
        { title: 'When', render: (e) => formatDate(e.occurredDateTime) },
        { title: 'Who', render: (e) => `${e.actor} (${e.role})` },
        { title: 'Action', render: (e) => e.action },
        { title: 'Changes', render: (e) => changesTable(e.changes || []) },
      ], events),
      pager(nextCursor, () => load(nextCursor)));
  }
  details.addEventListener('toggle', () => {
    if (details.open && !loaded) {
      loaded = true;
      body.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
      load(undefined);
    }
  });
  return details;
}

function changesTable(changes) {
  if (!changes.length) return '—';
  return table([
    { title: 'Field', render: (c) => c.path },
    { title: 'Before', render: (c) => h('code', {}, 'before' in c ? text(c.before) : '(absent)') },
    { title: 'After', render: (c) => h('code', {}, 'after' in c ? text(c.after) : '(absent)') },
  ], changes);
}
