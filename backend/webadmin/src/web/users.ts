import { html, path, type SafeHtml } from '../pages/html.js';
import { ApiError, api, getSession } from './api.js';
import { byId, setHtml } from './dom.js';
import { bootShell } from './shell.js';
import { agoHtml, timeHtml } from './time.js';

bootShell();

interface User {
  username: string;
  role: 'viewer' | 'operator' | 'admin';
  createdAt?: string | null;
  lastLoginAt?: string | null;
  sessions?: number;
  tokens?: number;
}

const ROLES = ['viewer', 'operator', 'admin'] as const;
const rows = byId('user-rows');
const error = byId('users-error');
const secret = byId('users-secret');
const addForm = byId<HTMLFormElement>('user-add');
let me = '';

function fail(err: unknown): void {
  error.textContent = err instanceof Error ? err.message : String(err);
  error.hidden = false;
}

/** A password shown once, as the CLI does: copy it now, it is not stored anywhere readable. */
function showSecret(username: string, password: string): void {
  setHtml(
    secret,
    html`New password for <strong>${username}</strong>: <code class="secret">${password}</code>
      <span class="muted">— shown once; hand it over safely.</span>`,
  );
  secret.hidden = false;
}

/** POST /api/users and PATCH /api/users/{name}: the saved user, and a password the server generated. */
interface Saved {
  user: User;
  generatedPassword?: string;
}

function notice(message: SafeHtml): void {
  setHtml(secret, message);
  secret.hidden = false;
}

function rowHtml(u: User): SafeHtml {
  const self = u.username === me;
  return html`<td data-label="User" class="c-title nowrap">
      <span class="strong">${u.username}</span>${self ? html` <span class="muted">(you)</span>` : ''}
    </td>
    <td data-label="Role" class="c-end">
      <select
        class="role-select"
        data-user="${u.username}"
        aria-label="Role of ${u.username}"
        ${self ? html` disabled title="You cannot change your own role"` : ''}
      >
        ${ROLES.map((r) => html`<option value="${r}" ${r === u.role ? html` selected` : ''}>${r}</option>`)}
      </select>
    </td>
    <td data-label="Created">${timeHtml(u.createdAt)}</td>
    <td data-label="Last sign-in">${agoHtml(u.lastLoginAt)}</td>
    <td data-label="Access" class="muted nowrap">${u.sessions ?? 0} session${u.sessions === 1 ? '' : 's'} · ${u.tokens ?? 0} token${u.tokens === 1 ? '' : 's'}</td>
    <td data-label="Actions" class="actions c-wide">
      <button type="button" class="btn btn-sm" data-action="reset" data-user="${u.username}">
        Reset password</button
      >${
        self
          ? ''
          : html` <button
              type="button"
              class="btn btn-sm btn-danger-ghost"
              data-action="remove"
              data-user="${u.username}"
            >
              Remove
            </button>`
      }
    </td>`;
}

async function load(): Promise<void> {
  try {
    const [session, res] = await Promise.all([
      getSession(),
      api.get<{ users: User[] } | User[]>('/api/users'),
    ]);
    me = session.username;
    const users = Array.isArray(res) ? res : res.users;
    const frag = document.createDocumentFragment();
    for (const u of [...users].sort((a, b) => a.username.localeCompare(b.username))) {
      const tr = document.createElement('tr');
      tr.dataset.user = u.username;
      setHtml(tr, rowHtml(u));
      frag.append(tr);
    }
    rows.replaceChildren(frag);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 0)) fail(err);
  }
}

rows.addEventListener('change', (ev) => {
  const select = ev.target as HTMLSelectElement;
  if (!select.classList.contains('role-select')) return;
  error.hidden = true;
  api
    .patch(path`/api/users/${select.dataset.user ?? ''}`, { role: select.value })
    .then(load, (err: unknown) => {
      fail(err);
      void load();
    });
});

// Removing is two clicks on the same button (it turns into "Confirm"): no modal, no accident.
rows.addEventListener('click', (ev) => {
  const button = (ev.target as HTMLElement).closest<HTMLButtonElement>('button[data-action]');
  const user = button?.dataset.user;
  if (!button || !user) return;
  error.hidden = true;
  if (button.dataset.action === 'reset') {
    button.disabled = true;
    // The server generates it (and ends the user's sessions): the password never exists in this page's code.
    api
      .patch<Saved>(path`/api/users/${user}`, { password: 'generate' })
      .then((res) => res.generatedPassword && showSecret(user, res.generatedPassword), fail)
      .finally(() => (button.disabled = false));
  } else if (button.dataset.action === 'remove') {
    if (button.dataset.armed !== 'yes') {
      button.dataset.armed = 'yes';
      button.textContent = `Confirm removing ${user}`;
      setTimeout(() => {
        button.dataset.armed = '';
        button.textContent = 'Remove';
      }, 4000);
      return;
    }
    api.delete(path`/api/users/${user}`).then(load, fail);
  }
});

addForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  error.hidden = true;
  const data = new FormData(addForm);
  const username = String(data.get('username') ?? '').trim();
  const role = String(data.get('role') ?? 'viewer');
  const password = String(data.get('password') ?? '');
  api
    .post<Saved>('/api/users', { username, role, ...(password ? { password } : {}) })
    .then((res) => {
      addForm.reset();
      if (res.generatedPassword) showSecret(username, res.generatedPassword);
      else notice(html`Added <strong>${username}</strong> as ${role}.`);
      return load();
    })
    .catch(fail);
});

void load();
