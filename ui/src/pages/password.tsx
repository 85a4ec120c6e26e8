/** Change your own password; forced on the first login while the password must be changed (set by an admin, generated, or reset); until then the server refuses everything else. */
import { useState } from 'preact/hooks';
import { api, describeError, setCsrfToken } from '../api.ts';
import { ErrorText, Notice, value } from '../components.tsx';
import type { Session, User } from '../types.ts';

export function PasswordPage(props: { user: User; onChanged: (u: User) => void; forced?: boolean }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [done, setDone] = useState<string | undefined>(undefined);
  const local = props.user.principalIds.some((p) => p.startsWith('local://'));

  const submit = (e: Event): void => {
    e.preventDefault();
    setDone(undefined);
    if (next !== again) { setError('The two new passwords differ.'); return; }
    setError(undefined);
    api('POST', '/v1/users/me/password', { currentPassword: current, newPassword: next })
      // The session's CSRF token was limited to this page until now: fetch the full one.
      .then(() => api<Session>('GET', '/v1/session'))
      .then((session) => {
        setCsrfToken(session.csrfToken);
        setCurrent(''); setNext(''); setAgain('');
        setDone('Password changed.');
        props.onChanged(session.user);
      })
      .catch((err: unknown) => setError(describeError(err)));
  };
  return (
    <section>
      <h1>{props.forced ? 'Choose a new password' : 'Account'}</h1>
      <p>Logged in as <strong>{props.user.username}</strong> ({props.user.displayName || props.user.username}), role {props.user.globalRole}.</p>
      {props.forced && <p class="notice">An admin asked you to change your password before you continue.</p>}
      {local ? (
        <form onSubmit={submit} class="card">
          <label>Current password<input type="password" autocomplete="current-password" required value={current} onInput={(e) => setCurrent(value(e))} /></label>
          <label>New password<input type="password" autocomplete="new-password" required minLength={12} value={next} onInput={(e) => setNext(value(e))} /></label>
          <label>New password again<input type="password" autocomplete="new-password" required minLength={12} value={again} onInput={(e) => setAgain(value(e))} /></label>
          <ErrorText error={error} />
          <Notice text={done} />
          <button type="submit">Change password</button>
        </form>
      ) : <p class="muted">Your password is managed by your identity provider.</p>}
    </section>
  );
}
