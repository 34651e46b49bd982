import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, onUnauthorized } from './lib/api.js';
import { html } from './lib/html.js';
import { match, navigate, useLocation } from './lib/router.js';
import { TopBar } from './components/layout.js';
import { ErrorNotice, Loading } from './components/states.js';
import { SignInPage } from './pages/sign-in.js';
import { LivePage } from './pages/live.js';
import { EventPage } from './pages/event.js';
import { PeoplePage } from './pages/people.js';
import { PersonPage } from './pages/person.js';
import { DevicesPage } from './pages/devices.js';
import { QuarantinePage } from './pages/quarantine.js';
import { NotFoundPage } from './pages/not-found.js';

/** Which page a path shows. */
function route(path, search) {
  if (path === '/') return html`<${LivePage} search=${search} />`;
  let params = match('/events/:id', path);
  if (params) return html`<${EventPage} id=${params.id} />`;
  if (path === '/people') return html`<${PeoplePage} />`;
  if (path === '/people/new') return html`<${PersonPage} />`;
  params = match('/people/:employeeNo', path);
  if (params) return html`<${PersonPage} employeeNo=${params.employeeNo} />`;
  if (path === '/devices') return html`<${DevicesPage} />`;
  if (path === '/quarantine') return html`<${QuarantinePage} />`;
  return html`<${NotFoundPage} />`;
}

function App() {
  const { path, search } = useLocation();
  // unknown → checking the cookie; signed-in; signed-out (with why, when the session ended under us).
  const [session, setSession] = useState({ state: 'unknown' });

  const check = async () => {
    try {
      const answer = await api.get('/api/v1/session', { quietUnauthorized: true });
      setSession({ state: 'signed-in', expiresAt: answer?.expiresAt ?? null });
    } catch (error) {
      setSession(error.status === 401 ? { state: 'signed-out' } : { state: 'error', error });
    }
  };

  useEffect(() => {
    void check();
    return onUnauthorized(() => setSession({ state: 'signed-out', reason: 'Your session has ended (it lasts 12 hours, and changing the admin token ends it). Sign in again.' }));
  }, []);

  const signOut = async () => {
    try {
      await api.delete('/api/v1/session', { quietUnauthorized: true });
    } catch {
      // Signed out either way: the cookie is HttpOnly, only the server can clear it.
    }
    setSession({ state: 'signed-out' });
  };

  if (session.state === 'unknown') return html`<div class="center"><${Loading} label="Checking your session…" /></div>`;
  if (session.state === 'error') {
    return html`<div class="center narrow"><${ErrorNotice} title="hikhub is not answering" error=${session.error} onRetry=${check} /></div>`;
  }
  if (session.state === 'signed-out') {
    return html`<${SignInPage} reason=${session.reason} onSignedIn=${() => {
      setSession({ state: 'signed-in' });
      if (path === '/sign-in') navigate('/', { replace: true });
    }} />`;
  }
  return html`<div class="shell">
    <${TopBar} path=${path} onSignOut=${signOut} />
    ${path === '/sign-in' ? route('/', '') : route(path, search)}
  </div>`;
}

const root = document.getElementById('app');
// The static "Loading…" placeholder goes; Preact renders into an empty container.
root.textContent = '';
render(html`<${App} />`, root);
