import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/*
 * Where a webhook may go. A webhook URL is typed by an admin but fetched by the server, so without a
 * policy it would reach whatever the server can: the database, the metrics port, a cloud metadata
 * address. Only https to public addresses is allowed, unless the host is listed in ALERT_WEBHOOK_ALLOW
 * (host names or CIDRs; a listed host may also use http). The check runs when a rule is saved and again
 * before each send, on the addresses DNS gives then; the sender connects to exactly the address checked,
 * so a DNS answer that changes between check and connect (rebinding) cannot redirect it.
 */

export class WebhookRefused extends Error {}

export interface WebhookAllowList {
  hosts: ReadonlySet<string>;
  cidrs: BlockList;
  empty: boolean;
}

export interface CheckedAddress {
  url: URL;
  /** The address to connect to (checked), and its family. */
  address: string;
  family: 4 | 6;
}

export type Resolver = (host: string) => Promise<{ address: string; family: number }[]>;

const defaultResolver: Resolver = (host) => dnsLookup(host, { all: true, verbatim: true });

/** Addresses no webhook may reach unless allowed: private, loopback, link-local, CGNAT, multicast, … */
const NOT_PUBLIC = (() => {
  const b = new BlockList();
  for (const [net, bits] of [
    ['0.0.0.0', 8], // "this network", incl. the unspecified address
    ['10.0.0.0', 8],
    ['100.64.0.0', 10], // carrier-grade NAT
    ['127.0.0.0', 8],
    ['169.254.0.0', 16], // link-local, cloud metadata
    ['172.16.0.0', 12],
    ['192.0.0.0', 24],
    ['192.0.2.0', 24],
    ['192.168.0.0', 16],
    ['198.18.0.0', 15],
    ['198.51.100.0', 24],
    ['203.0.113.0', 24],
    ['224.0.0.0', 4], // multicast
    ['240.0.0.0', 4], // reserved, incl. broadcast
  ] as const)
    b.addSubnet(net, bits, 'ipv4');
  for (const [net, bits] of [
    ['::', 128], // unspecified
    ['::1', 128],
    ['fe80::', 10], // link-local
    ['fec0::', 10], // old site-local
    ['fc00::', 7], // unique local
    ['ff00::', 8], // multicast
    ['100::', 64], // discard
    ['2001:db8::', 32], // documentation
  ] as const)
    b.addSubnet(net, bits, 'ipv6');
  // IPv4-mapped IPv6 (::ffff:a.b.c.d) is checked against the IPv4 rules by BlockList itself.
  return b;
})();

const familyOf = (address: string): 4 | 6 => (isIP(address) === 6 ? 6 : 4);
const bare = (hostname: string) => hostname.replace(/^\[|\]$/g, '').toLowerCase();

/** `ALERT_WEBHOOK_ALLOW`: comma-separated host names and CIDRs (a bare address counts as /32 or /128). */
export function parseWebhookAllowList(raw: string | undefined): WebhookAllowList {
  const hosts = new Set<string>();
  const cidrs = new BlockList();
  let empty = true;
  for (const item of (raw ?? '').split(',').map((x) => x.trim().toLowerCase())) {
    if (!item) continue;
    empty = false;
    const [net, bitsText] = item.split('/');
    const ip = bare(net!);
    const family = isIP(ip);
    if (family) {
      const max = family === 4 ? 32 : 128;
      const bits = bitsText === undefined ? max : Number(bitsText);
      if (!Number.isInteger(bits) || bits < 0 || bits > max) throw new Error(`bad CIDR ${item}`);
      cidrs.addSubnet(ip, bits, family === 4 ? 'ipv4' : 'ipv6');
    } else if (bitsText === undefined && /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(item)) {
      hosts.add(item.replace(/\.$/, ''));
    } else throw new Error(`not a host name or CIDR: ${item}`);
  }
  return { hosts, cidrs, empty };
}

export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (!family) return false;
  return !NOT_PUBLIC.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

function inAllowedCidr(allow: WebhookAllowList, address: string): boolean {
  return allow.cidrs.check(address, familyOf(address) === 4 ? 'ipv4' : 'ipv6');
}

/** The checks that need no DNS: a URL, http(s), no credentials, http only for hosts that may be listed. */
export function checkWebhookUrl(raw: string, allow: WebhookAllowList): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookRefused('is not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new WebhookRefused('must be https');
  if (url.username || url.password) throw new WebhookRefused('must not carry credentials');
  const host = bare(url.hostname);
  if (url.protocol === 'http:') {
    // A name may still resolve into an allowed CIDR: checkWebhookTarget decides that one.
    const listed = allow.hosts.has(host) || (isIP(host) !== 0 ? inAllowedCidr(allow, host) : !allow.empty);
    if (!listed) throw new WebhookRefused('must be https (http only for hosts in ALERT_WEBHOOK_ALLOW)');
  }
  return url;
}

/**
 * Resolves the URL's host and checks every address; returns the one to connect to. A host listed by
 * name may resolve to anything; otherwise each address must be public or in an allowed CIDR.
 */
export async function checkWebhookTarget(
  raw: string,
  allow: WebhookAllowList,
  resolve: Resolver = defaultResolver,
): Promise<CheckedAddress> {
  const url = checkWebhookUrl(raw, allow);
  const host = bare(url.hostname);
  let addresses: { address: string; family: number }[];
  if (isIP(host)) addresses = [{ address: host, family: isIP(host) }];
  else {
    try {
      addresses = await resolve(host);
    } catch {
      throw new WebhookRefused(`host ${host} does not resolve`);
    }
    if (!addresses.length) throw new WebhookRefused(`host ${host} does not resolve`);
  }
  const byName = allow.hosts.has(host);
  for (const a of addresses) {
    if (byName || isPublicAddress(a.address) || inAllowedCidr(allow, a.address)) continue;
    throw new WebhookRefused(
      `${host === a.address ? host : `${host} (${a.address})`} is not a public address; list it in ALERT_WEBHOOK_ALLOW to allow it`,
    );
  }
  if (url.protocol === 'http:' && !byName && !addresses.every((a) => inAllowedCidr(allow, a.address)))
    throw new WebhookRefused('must be https (http only for hosts in ALERT_WEBHOOK_ALLOW)');
  const chosen = addresses[0]!;
  return { url, address: chosen.address, family: familyOf(chosen.address) };
}
