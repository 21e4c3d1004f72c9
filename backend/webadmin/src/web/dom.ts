import type { SafeHtml } from '../pages/html.js';

/** The element with this id; a missing one is a bug in the page's frame, so it throws. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing from the page`);
  return el as T;
}

/** The only way markup enters the DOM: `SafeHtml` from the escaping `html` template. */
export function setHtml(el: Element, markup: SafeHtml): void {
  el.innerHTML = markup.value;
}

export function show(el: HTMLElement, visible: boolean): void {
  el.hidden = !visible;
}

/** Page values handed over by the server as data-* attributes of <body>. */
export function pageData(key: string): string {
  return document.body.dataset[key] ?? '';
}
