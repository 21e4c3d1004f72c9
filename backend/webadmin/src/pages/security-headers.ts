/**
 * Headers of every page and asset. The CSP allows only our own files: no inline script or style, no
 * eval, nothing from other origins (so an escaping mistake still could not run injected markup's script).
 * `connect-src 'self'` covers fetch and the same-origin /ws WebSocket in current browsers.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export const PAGE_HEADERS: Record<string, string> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
};

/**
 * Headers of every other answer (JSON, CSV, plain-text errors): nothing in them is meant to run or to be
 * framed, so the policy allows nothing at all.
 */
export const NON_PAGE_HEADERS: Record<string, string> = {
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
};

/**
 * The API docs (Swagger UI, served by @fastify/swagger-ui) under the pages' policy, but for the one
 * `<style>` element swagger-ui-bundle.js inserts, allowed by its hash rather than with 'unsafe-inline'.
 * A new Swagger UI version may change it: test/security/service-browser.int.test.ts then reports the
 * CSP violation in Chromium with the new hash.
 */
export const DOCS_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace(
  "style-src 'self'",
  "style-src 'self' 'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='",
);
