import type { FastifyRequest } from 'fastify';

export type Role = 'viewer' | 'operator' | 'admin';
const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** Who is looking at a page: enough for the header and for what the page offers. */
export interface PageUser {
  username: string;
  role: Role;
}

/** Resolves the signed-in user of a page request (the auth plugin's session), or undefined. */
export type UserResolver = (request: FastifyRequest) => Promise<PageUser | undefined>;

export function hasRole(user: PageUser, role: Role): boolean {
  return RANK[user.role] >= RANK[role];
}

/**
 * Where /login sends a user back to: only a path on this site. `//evil.example` and `/\evil` are
 * protocol-relative to browsers, so they are refused like absolute URLs.
 */
export function safeNext(next: unknown): string {
  if (typeof next !== 'string' || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) {
    return '/';
  }
  return next.startsWith('/login') ? '/' : next;
}
