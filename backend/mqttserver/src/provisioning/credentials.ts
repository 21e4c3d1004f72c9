import { randomBytes } from 'node:crypto';
import { DEVICE_ID_PATTERN, DEVICE_ID_REGEX } from '@sensorfleet/shared';

/**
 * Broker accounts. A device's MQTT username is its device id, so the ACL's `pattern … devices/%u/…`
 * rules confine it to its own topics. Patterns apply to every user, service accounts included, so a
 * device id must never be a service account's name: the service's own rules would then be joined by the
 * device's, and whoever held the device password would act as the service.
 */
export const SERVICE_ACCOUNTS = ['receiver', 'webadmin', 'monitor'] as const;
export type ServiceAccount = (typeof SERVICE_ACCOUNTS)[number];

export function isServiceAccount(name: string): name is ServiceAccount {
  return (SERVICE_ACCOUNTS as readonly string[]).includes(name);
}

/** Why `id` cannot be a device's account, or undefined when it can. */
export function deviceIdProblem(id: string): string | undefined {
  if (!DEVICE_ID_REGEX.test(id)) {
    return `invalid device id ${JSON.stringify(id)}: must match ${DEVICE_ID_PATTERN} (letters, digits, . _ -; 1–64 chars)`;
  }
  // Case-insensitively: `Receiver` would be a distinct account to Mosquitto, but a confusing one.
  if (isServiceAccount(id.toLowerCase())) {
    return `${JSON.stringify(id)} is reserved for a service account (use \`service ${id.toLowerCase()}\`)`;
  }
  return undefined;
}

/** 24 random bytes as base64url: 32 characters, 192 bits, no characters that need quoting anywhere. */
export function generatePassword(): string {
  return randomBytes(24).toString('base64url');
}
