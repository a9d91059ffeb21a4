// Sign in: paste a token from `scepter token issue`; it is checked with one
// cheap documented read before the console opens.

import * as session from '../session.js';
import { call } from '../api.js';
import { h, field, notice, add, fill } from '../dom.js';
import { navigate } from '../router.js';

let returnTo = null;

/** Where to go after the next sign-in (the page the user was sent away from). */
export function rememberReturn({ path, query }) {
  if (path === '/sign-in') return;
  const search = new URLSearchParams(query).toString();
  returnTo = search ? `${path}?${search}` : path;
}

function render(main) {
  const message = session.takeFlash();
  const input = h('textarea', { name: 'token', rows: 4, autocomplete: 'off', spellcheck: 'false', required: true });
  const status = h('div', { class: 'sign-in-status', 'aria-live': 'polite' }, message ? notice('info', message) : null);
  const button = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const form = h(
    'form',
    {
      class: 'card sign-in',
      onsubmit: async (event) => {
        event.preventDefault();
        const value = input.value.trim();
        if (!value) {
          fill(status, notice('error', 'Paste a token first.'));
          return;
        }
        session.signIn(value);
        if (!session.role() || session.expired()) {
          const reason = session.expired() ? 'This token has expired or is not a Scepter token.' : 'This token has no console role: use one issued with --role admin or --role reader.';
          session.signOut();
          fill(status, notice('error', reason));
          return;
        }
        button.disabled = true;
        try {
          // Any admin-API read checks the token; this one costs one small query.
          await call('GET', '/api/v1/scep-certificate-profiles', { query: { limit: 1 } });
          const target = returnTo || '/';
          returnTo = null;
          navigate(target);
        } catch (error) {
          session.signOut();
          session.takeFlash();
          const text = error.status === 401 ? 'The server did not accept this token (wrong secret, expired or malformed).' : error.status === 403 ? 'This token may not read the admin API.' : `Could not check the token: ${error.message}`;
          fill(status, notice('error', text));
        } finally {
          button.disabled = false;
        }
      },
    },
    h('h1', {}, 'Sign in'),
    h('p', { class: 'muted' }, 'Paste the output of ', h('code', {}, 'scepter token issue --role admin --ttl 1h'), ' (or --role reader). The token stays in this tab only and is forgotten when you close it.'),
    status,
    field('Token', input),
    h('div', { class: 'toolbar' }, button),
  );
  add(main, form);
  input.focus();
}

export const routes = [{ pattern: '/sign-in', render }];
