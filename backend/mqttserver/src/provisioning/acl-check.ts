/**
 * A light reading of the broker's ACL file, to warn when an account would be able to connect but not to
 * do its job (an old or hand-edited ACL). Mosquitto remains the judge; this only reads `pattern` lines and
 * the `topic` lines of `user` sections.
 */
export interface AclSummary {
  patterns: string[];
  users: Map<string, string[]>;
}

export function parseAcl(text: string): AclSummary {
  const patterns: string[] = [];
  const users = new Map<string, string[]>();
  let rules: string[] | undefined; // topic lines before any `user` line are for anonymous clients
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim().replace(/\s+/g, ' ');
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('user ')) {
      const name = line.slice(5);
      rules = users.get(name) ?? [];
      users.set(name, rules);
    } else if (line.startsWith('pattern ')) {
      patterns.push(line.slice(8));
    } else if (line.startsWith('topic ')) {
      rules?.push(line.slice(6));
    }
  }
  return { patterns, users };
}

/** What a device needs at least (DESIGN.md topics); the rest of its rules are for optional features. */
const DEVICE_NEEDS = [
  ['write', 'devices/%u/telemetry'],
  ['read', 'devices/%u/ack'],
  ['read', 'devices/%u/commands'],
] as const;

/** True when a rule (`[access] topic`; no access means readwrite) grants exactly this topic. */
function grants(rules: string[], access: 'read' | 'write', topic: string): boolean {
  return rules.some((rule) => {
    const m = /^(?:(read|write|readwrite|deny) )?(.+)$/.exec(rule);
    const granted = m?.[1] ?? 'readwrite';
    return m?.[2] === topic && (granted === access || granted === 'readwrite');
  });
}

/** Problems of the ACL for this account (empty when it looks right). */
export function aclWarnings(acl: AclSummary, account: { service?: string }): string[] {
  if (account.service !== undefined) {
    return acl.users.has(account.service)
      ? []
      : [`the ACL has no \`user ${account.service}\` section: the account can connect but not read or write`];
  }
  const missing = DEVICE_NEEDS.filter(([access, topic]) => !grants(acl.patterns, access, topic));
  return missing.length
    ? [
        `the ACL lacks ${missing.map(([a, t]) => `\`pattern ${a} ${t}\``).join(', ')}: the device cannot do its job`,
      ]
    : [];
}
