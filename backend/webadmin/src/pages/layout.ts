import type { Assets } from './assets.js';
import { html, type SafeHtml } from './html.js';
import { hasRole, type PageUser } from './page-user.js';

export type NavKey = 'fleet' | 'alerts' | 'stats' | 'messages' | 'users' | 'none';

export interface PageSpec {
  title: string;
  /** The browser module of the page (src/web/<script>.ts). */
  script: string;
  nav: NavKey;
  body: SafeHtml;
  user?: PageUser;
  /** data-* attributes on <body>: how a page hands values (device id, role) to its module. */
  data?: Record<string, string>;
}

const NAV: { key: NavKey; href: string; label: string; admin?: boolean }[] = [
  { key: 'fleet', href: '/', label: 'Fleet' },
  { key: 'alerts', href: '/alerts', label: 'Alerts' },
  { key: 'stats', href: '/stats', label: 'Ingest' },
  { key: 'messages', href: '/messages', label: 'Message log' },
  { key: 'users', href: '/users', label: 'Users', admin: true },
];

function header(spec: PageSpec): SafeHtml {
  const user = spec.user;
  if (!user) return html``;
  const links = NAV.filter((n) => !n.admin || hasRole(user, 'admin')).map(
    (n) =>
      html`<a
        href="${n.href}"
        class="nav-link${n.key === spec.nav ? ' active' : ''}"
        ${n.key === spec.nav ? html` aria-current="page"` : ''}
        >${n.label}${
          n.key === 'alerts' ? html`<span class="nav-count" id="nav-alert-count" hidden></span>` : ''
        }</a
      >`,
  );
  return html`<header class="topbar">
    <a class="brand" href="/"
      ><img src="/assets/favicon.svg" alt="" width="22" height="22" /><span>sensorfleet</span></a
    >
    <button type="button" class="nav-toggle" aria-expanded="false" aria-controls="site-nav" aria-label="Menu">
      <span></span><span></span><span></span>
    </button>
    <nav id="site-nav" class="site-nav">
      <div class="nav-links">${links}</div>
      <div class="nav-end">
        <span id="live" class="live" data-state="idle" hidden
          ><span class="dot"></span><span class="live-text">connecting</span></span
        >
        <span class="who" title="Signed in as ${user.username} (${user.role})"
          ><span class="who-name">${user.username}</span
          ><span class="role role-${user.role}">${user.role}</span></span
        >
        <button type="button" id="logout" class="btn btn-ghost btn-sm">Log out</button>
      </div>
    </nav>
  </header>`;
}

/** A whole page: strict CSP friendly (external module and stylesheet only, no inline anything). */
export function renderPage(assets: Assets, spec: PageSpec): string {
  const data = Object.entries({
    page: spec.script,
    ...(spec.user ? { role: spec.user.role } : {}),
    ...spec.data,
  });
  const attrs = data.map(([k, v]) => html` data-${k.replace(/[^a-z-]/g, '')}="${v}"`);
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>${spec.title} · sensorfleet</title>
<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="${assets.url('app.css')}">
<script type="module" src="${assets.url(`${spec.script}.js`)}"></script>
</head>
<body${attrs}>
${header(spec)}
<div id="banner" class="banner" role="alert" hidden></div>
<main class="page page-${spec.script}">
${spec.body}
</main>
</body>
</html>
`.value;
}
