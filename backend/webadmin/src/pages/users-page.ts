import { html, type SafeHtml } from './html.js';

/** /users (admin): accounts and roles through the users API; web/users.ts does the rest. */
export function usersBody(): SafeHtml {
  return html`<div class="page-head">
      <div>
        <h1>Users</h1>
        <p class="sub">Viewers read, operators also send commands, admins also manage users.</p>
      </div>
    </div>
    <div class="two-col two-col-wide">
      <section class="card table-card" aria-labelledby="users-h">
        <div class="section-head"><h2 id="users-h">Accounts</h2></div>
        <div class="form-error" id="users-error" role="alert" hidden></div>
        <div class="notice notice-ok" id="users-secret" hidden></div>
        <table class="table table-cards" id="users-table">
          <thead>
            <tr>
              <th>User</th>
              <th>Role</th>
              <th>Created</th>
              <th>Last sign-in</th>
              <th>Access</th>
              <th class="actions">Actions</th>
            </tr>
          </thead>
          <tbody id="user-rows">
            <tr class="row-placeholder">
              <td colspan="6"><span class="spinner"></span> Loading…</td>
            </tr>
          </tbody>
        </table>
      </section>
      <section class="card" aria-labelledby="add-h">
        <div class="section-head"><h2 id="add-h">Add a user</h2></div>
        <form class="stack" id="user-add">
          <label class="field"
            ><span>User name</span
            ><input
              name="username"
              required
              maxlength="64"
              autocomplete="off"
              autocapitalize="none"
              spellcheck="false"
          /></label>
          <label class="field"
            ><span>Role</span
            ><select name="role">
              <option value="viewer">viewer</option>
              <option value="operator">operator</option>
              <option value="admin">admin</option>
            </select></label
          >
          <label class="field"
            ><span>Password</span
            ><input
              name="password"
              type="password"
              minlength="8"
              autocomplete="new-password"
              placeholder="leave empty to generate one"
          /></label>
          <button class="btn btn-primary" type="submit">Add user</button>
        </form>
      </section>
    </div>`;
}
