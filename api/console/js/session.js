// The signed-in user's token and what the console reads from it.
//
// The token lives ONLY in sessionStorage: it is gone when the tab closes, is never
// sent anywhere but the Authorization header of API calls, and is never put in a
// URL or a cookie. The JWT payload is decoded (not verified: the server does that
// on every call) only to show who is signed in and to hide write controls from readers.

const KEY = 'scepter.token';

/** A message for the sign-in page (why the user was sent back to it). Kept in memory only. */
let flashMessage = null;

export function token() {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

/** Stores `value` (a JWT, optionally prefixed with "Bearer ") as the session's token. */
export function signIn(value) {
  const cleaned = String(value).trim().replace(/^bearer\s+/i, '');
  sessionStorage.setItem(KEY, cleaned);
}

export function signOut() {
  try {
    sessionStorage.removeItem(KEY);
  } catch {
    // Storage disabled: nothing to remove.
  }
}

/** The token's payload, or null when there is none or it is not a JWT. */
export function claims() {
  const value = token();
  if (!value) return null;
  const parts = value.split('.');
  if (parts.length !== 3) return null;
  try {
    const base64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const padded = base64 + '='.repeat((4 - (base64.length % 4)) % 4);
    const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
    const payload = JSON.parse(new TextDecoder().decode(bytes));
    return payload && typeof payload === 'object' ? payload : null;
  } catch {
    return null;
  }
}

/** 'admin' | 'reader' | null (any other role cannot use the admin API). */
export function role() {
  const value = claims()?.role;
  return value === 'admin' || value === 'reader' ? value : null;
}

/** Whether write controls are shown at all. */
export function canWrite() {
  return role() === 'admin';
}

/** The token's subject (`sub`), for the header. */
export function subject() {
  const value = claims()?.sub;
  return typeof value === 'string' ? value : '';
}

/** When the token stops working (its `exp`), or null when unknown. */
export function expiresAt() {
  const exp = claims()?.exp;
  return typeof exp === 'number' ? new Date(exp * 1000) : null;
}

/** True when there is no usable token: none, unreadable, or past `exp`. */
export function expired(now = new Date()) {
  const at = expiresAt();
  return !token() || !at || at <= now;
}

/** Leaves a message for the next sign-in page render. */
export function flash(message) {
  flashMessage = message;
}

/** The pending sign-in message, once. */
export function takeFlash() {
  const message = flashMessage;
  flashMessage = null;
  return message;
}
