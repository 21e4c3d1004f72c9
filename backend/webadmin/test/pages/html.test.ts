import { describe, expect, it } from 'vitest';
import { escapeHtml, html, path, raw, SafeHtml } from '../../src/pages/html.js';
import { safeNext } from '../../src/pages/page-user.js';

describe('html (escaping tagged template)', () => {
  it('escapes every interpolated value so device data stays text', () => {
    const payload = '<img src=x onerror="alert(1)">';
    expect(html`<td>${payload}</td>`.value).toBe('<td>&lt;img src=x onerror=&quot;alert(1)&quot;&gt;</td>');
  });

  it('keeps a value inside its quoted attribute', () => {
    const name = `x" onmouseover="steal()`;
    expect(html`<a title="${name}">`.value).toBe('<a title="x&quot; onmouseover=&quot;steal()">');
    expect(html`<a title="${"it's"}">`.value).toBe('<a title="it&#39;s">');
  });

  it('does not escape nested templates twice, and renders arrays item by item', () => {
    const rows = ['a<b', 'c&d'].map((t) => html`<li>${t}</li>`);
    expect(html`<ul>${rows}</ul>`.value).toBe('<ul><li>a&lt;b</li><li>c&amp;d</li></ul>');
  });

  it('renders nothing for null, undefined and false, and numbers as text', () => {
    expect(html`[${null}${undefined}${false}${0}${12.5}]`.value).toBe('[012.5]');
  });

  it('lets markup through only when the caller says so with raw()', () => {
    expect(html`${raw('<b>ok</b>')}`.value).toBe('<b>ok</b>');
    expect(html`x`).toBeInstanceOf(SafeHtml);
    expect(String(html`<i>${'&'}</i>`)).toBe('<i>&amp;</i>');
  });

  it('escapes all five characters that matter and the backtick', () => {
    expect(escapeHtml(`&<>"'\``)).toBe('&amp;&lt;&gt;&quot;&#39;&#96;');
  });
});

describe('path (URL segments)', () => {
  it('percent-encodes values so an id cannot change the path', () => {
    expect(path`/devices/${'a/../../users'}`).toBe('/devices/a%2F..%2F..%2Fusers');
    expect(path`/messages?device=${'x&y=1'}`).toBe('/messages?device=x%26y%3D1');
  });
});

describe('safeNext (where /login sends a user back to)', () => {
  it('accepts paths on this site', () => {
    expect(safeNext('/devices/sim-001?range=7d')).toBe('/devices/sim-001?range=7d');
  });

  it('refuses other sites, protocol-relative URLs and missing values', () => {
    for (const bad of [
      'https://evil.example/',
      '//evil.example',
      '/\\evil.example',
      'javascript:alert(1)',
      '',
      undefined,
      42,
    ]) {
      expect(safeNext(bad)).toBe('/');
    }
  });

  it('does not loop back to the login page', () => {
    expect(safeNext('/login?next=/x')).toBe('/');
  });
});
