import { ApiError, api } from './api.js';
import { byId } from './dom.js';

const form = byId<HTMLFormElement>('login-form');
const error = byId('login-error');

function fail(message: string): void {
  error.textContent = message;
  error.hidden = false;
}

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const data = new FormData(form);
  const username = String(data.get('username') ?? '').trim();
  const password = String(data.get('password') ?? '');
  if (!username || !password) return fail('Enter your user name and password.');
  const button = form.querySelector<HTMLButtonElement>('button[type=submit]');
  if (button) button.disabled = true;
  error.hidden = true;
  api
    .post('/api/session', { username, password })
    .then(() => location.replace(String(data.get('next') ?? '/')))
    .catch((err: unknown) => {
      if (err instanceof ApiError && err.status === 401) fail('Wrong user name or password.');
      else if (err instanceof ApiError && err.status === 429)
        fail('Too many attempts. Wait a minute and try again.');
      else if (err instanceof ApiError && err.status === 0)
        fail('The server is not answering. Try again shortly.');
      else fail(err instanceof Error ? err.message : String(err));
      if (button) button.disabled = false;
    });
});
