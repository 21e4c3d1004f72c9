import { byId } from './dom.js';

/**
 * The banner under the header: one message per source ('api', 'live'), the most recent shown. A source
 * clears its own message when it recovers, so "server unreachable" disappears by itself.
 */
const messages = new Map<string, string>();

function paint(): void {
  const el = document.getElementById('banner');
  if (!el) return;
  const last = [...messages.values()].pop();
  el.textContent = last ?? '';
  el.hidden = last === undefined;
}

export const banner = {
  set(source: string, message: string): void {
    messages.delete(source);
    messages.set(source, message);
    paint();
  },
  clear(source: string): void {
    if (messages.delete(source)) paint();
  },
};

export function bannerElement(): HTMLElement {
  return byId('banner');
}
