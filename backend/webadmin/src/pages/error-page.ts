import { html, type SafeHtml } from './html.js';

export function errorBody(title: string, message: string): SafeHtml {
  return html`<div class="empty empty-page">
    <h1>${title}</h1>
    <p>${message}</p>
    <p><a class="btn" href="/">Back to the fleet</a></p>
  </div>`;
}
