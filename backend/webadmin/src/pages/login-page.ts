import { html, type SafeHtml } from './html.js';

/** /login: the only page without a header. The form is sent by web/login.ts as JSON to POST /api/session. */
export function loginBody(next: string): SafeHtml {
  return html`<div class="login-wrap">
    <form class="login-card" id="login-form" method="post" action="/login" novalidate>
      <div class="login-brand">
        <img src="/assets/favicon.svg" alt="" width="36" height="36" /><span>sensorfleet</span>
      </div>
      <h1>Sign in</h1>
      <p class="sub">Fleet administration</p>
      <div class="form-error" id="login-error" role="alert" hidden></div>
      <label class="field"
        ><span>User name</span>
        <input
          name="username"
          autocomplete="username"
          autocapitalize="none"
          spellcheck="false"
          required
          autofocus
      /></label>
      <label class="field"
        ><span>Password</span>
        <input name="password" type="password" autocomplete="current-password" required
      /></label>
      <input type="hidden" name="next" value="${next}" />
      <button class="btn btn-primary btn-block" type="submit">Sign in</button>
      <p class="hint">No account? An admin adds one with <code>npm run user -- add &lt;name&gt;</code>.</p>
    </form>
  </div>`;
}
