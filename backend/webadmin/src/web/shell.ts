import { startAlertCount } from './alert-count.js';
import { api } from './api.js';
import { startAgoTicker } from './time.js';

/** What every page with the header does: the phone menu, log out, relative-time ticker, alert badge. */
export function bootShell(): void {
  const toggle = document.querySelector<HTMLButtonElement>('.nav-toggle');
  const nav = document.getElementById('site-nav');
  if (toggle && nav) {
    toggle.addEventListener('click', () => {
      const open = toggle.getAttribute('aria-expanded') !== 'true';
      toggle.setAttribute('aria-expanded', String(open));
      nav.classList.toggle('open', open);
    });
  }
  document.getElementById('logout')?.addEventListener('click', () => {
    api
      .delete('/api/session')
      .catch(() => undefined)
      .finally(() => location.assign('/login'));
  });
  startAgoTicker();
  // The alerts page paints the badge from its own live list.
  if (document.body.dataset.page !== 'alerts') startAlertCount();
}

// The entry of pages that need nothing else (e.g. "admins only").
if (document.body.dataset.page === 'shell') bootShell();
