/**
 * The one way markup is made, on the server and in the browser: a tagged template that escapes every
 * interpolated value unless it is already `SafeHtml` (the result of another `html` template, or `raw`).
 * Device ids, sensor names, payloads, user names and error messages all come from outside, so the safe
 * thing has to be the default: forgetting to escape is impossible, opting out is visible (`raw`).
 *
 * Templates must quote attribute values with double quotes (`href="${url}"`); `"` is escaped, so a value
 * cannot leave its attribute. No DOM or Node APIs here: this file is bundled into the browser code too.
 */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ESCAPES[c] ?? c);
}

/** Markup the caller vouches for (constants, output of trusted formatting). Never for outside data. */
export function raw(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

/** null, undefined and false render nothing (so `${cond && html`…`}` works); arrays render each item. */
function render(value: unknown): string {
  if (value instanceof SafeHtml) return value.value;
  if (value === null || value === undefined || value === false) return '';
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return new SafeHtml(out);
}

/** A URL path with each segment value percent-encoded: `path`/devices/${id}`` can't be bent by an id. */
export function path(strings: TemplateStringsArray, ...values: (string | number)[]): string {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++)
    out += encodeURIComponent(String(values[i])) + (strings[i + 1] ?? '');
  return out;
}
