import { useState } from 'preact/hooks';
import { api } from '../lib/api.js';
import { html } from '../lib/html.js';

/**
 * The admin token is posted once; the API answers with an HttpOnly session cookie. The token is
 * never kept by the page (not in localStorage, not in memory after the request).
 */
export function SignInPage({ reason, onSignedIn }) {
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);

  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.post('/api/v1/session', { token: token.trim() }, { quietUnauthorized: true });
      setToken('');
      onSignedIn();
    } catch (failure) {
      setError(failure.status === 401 ? 'That is not the admin token. Check it and try again.' : failure.message);
    } finally {
      setBusy(false);
    }
  };

  return html`<div class="signin">
    <form class="card signin-card" onSubmit=${submit}>
      <div class="brand brand-large"><img src="/console/icon.svg" alt="" width="36" height="36" /><span>hikhub</span></div>
      <h1>Sign in</h1>
      ${reason && html`<p class="notice notice-warn">${reason}</p>`}
      <input type="text" name="username" value="admin" autocomplete="username" hidden readOnly />
      <label class="field">
        <span>Admin token</span>
        <input type="password" name="token" autocomplete="current-password" required autofocus value=${token} onInput=${(e) => setToken(e.currentTarget.value)} />
      </label>
      <p class="hint">The admin token is <code>ADMIN_TOKEN</code>, or the file <code>DATA_DIR/secrets/admin-token</code> (e.g. <code>cat data/secrets/admin-token</code>).</p>
      ${error && html`<p class="form-error" role="alert">${error}</p>`}
      <button type="submit" class="button button-primary button-block" disabled=${busy || token.trim() === ''}>${busy ? 'Signing in…' : 'Sign in'}</button>
    </form>
  </div>`;
}
