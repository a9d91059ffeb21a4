// The console's shell: header with navigation and the signed-in user, the
// sign-in guard, token expiry, and the routes of every page module.

import * as session from './session.js';
import { h } from './dom.js';
import { register, start, navigate, current } from './router.js';
import { routes as signInRoutes, rememberReturn } from './pages/sign-in.js';
import { routes as dashboardRoutes } from './pages/dashboard.js';
import { routes as profileRoutes } from './pages/profiles.js';
import { routes as statusRoutes } from './pages/statuses.js';
import { routes as deviceRoutes } from './pages/devices.js';
import { routes as userRoutes } from './pages/users.js';
import { routes as groupRoutes } from './pages/groups.js';
import { routes as eventRoutes } from './pages/events.js';
import { routes as auditRoutes } from './pages/audit.js';

/** The navigation, in this order, with these exact names. */
const NAV = [
  ['Dashboard', '/'],
  ['Profiles', '/profiles'],
  ['Devices', '/devices'],
  ['Users', '/users'],
  ['Groups', '/groups'],
  ['Events', '/events'],
  ['Audit log', '/audit'],
];

function section(path) {
  const first = `/${path.split('/')[1] || ''}`;
  return first === '/dashboard' ? '/' : first;
}

function renderHeader(path) {
  const top = document.getElementById('top');
  const brand = h('a', { class: 'brand', href: '#/' }, 'Scepter');
  if (path === '/sign-in' || !session.role()) {
    top.replaceChildren(h('div', { class: 'top-inner' }, brand));
    return;
  }
  const active = section(path);
  const nav = h(
    'nav',
    { class: 'main-nav', 'aria-label': 'Main' },
    h(
      'ul',
      {},
      NAV.map(([name, href]) =>
        h('li', {}, h('a', { href: `#${href}`, 'aria-current': active === href ? 'page' : null }, name)),
      ),
    ),
  );
  const expires = session.expiresAt();
  const who = h(
    'div',
    { class: 'who' },
    h('span', { class: 'subject', title: expires ? `Token expires ${expires.toLocaleString()}` : null }, session.subject() || '(no subject)'),
    h('span', { class: `role role-${session.role()}` }, session.role()),
    h(
      'button',
      {
        type: 'button',
        class: 'sign-out',
        onclick: () => {
          session.signOut();
          session.flash('You signed out.');
          navigate('/sign-in');
        },
      },
      'Sign out',
    ),
  );
  top.replaceChildren(h('div', { class: 'top-inner' }, brand, nav, who));
}

/** Every page but sign-in needs a token that is still valid and has a console role. */
function guard(path) {
  if (path !== '/sign-in') {
    if (!session.token()) {
      rememberReturn(current());
      session.flash(session.takeFlash() || 'Sign in with a token to use the console.');
      navigate('/sign-in');
      return false;
    }
    if (session.expired()) {
      rememberReturn(current());
      session.signOut();
      session.flash('Your token has expired. Sign in again.');
      navigate('/sign-in');
      return false;
    }
  }
  renderHeader(path);
  document.title = path === '/sign-in' ? 'Sign in · Scepter console' : 'Scepter console';
  return true;
}

/** Sends the user back to sign in as soon as the token's `exp` passes, not only at the next call. */
function watchExpiry() {
  setInterval(() => {
    if (session.token() && session.expired()) {
      rememberReturn(current());
      session.signOut();
      session.flash('Your token has expired. Sign in again.');
      navigate('/sign-in');
    }
  }, 5000);
}

for (const { pattern, render } of [
  ...signInRoutes,
  ...dashboardRoutes,
  ...statusRoutes,
  ...profileRoutes,
  ...deviceRoutes,
  ...userRoutes,
  ...groupRoutes,
  ...eventRoutes,
  ...auditRoutes,
]) {
  register(pattern, render);
}

watchExpiry();
start(document.getElementById('main'), guard);
