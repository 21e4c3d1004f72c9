import type { Role } from '@sensorfleet/shared/schemas/webadmin-api';

export { ROLES, type Role } from '@sensorfleet/shared/schemas/webadmin-api';

const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

/** viewer < operator < admin: a role has every right of the roles below it. */
export function hasRole(actual: Role, needed: Role): boolean {
  return RANK[actual] >= RANK[needed];
}

export function isRole(v: unknown): v is Role {
  return v === 'viewer' || v === 'operator' || v === 'admin';
}
