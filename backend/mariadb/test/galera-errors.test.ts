import { describe, expect, it } from 'vitest';
import { isConflict, isNodeFailure } from '../src/galera-errors.js';
import { splitDatabaseUrls } from '../src/pool.js';

describe('isConflict', () => {
  it('is a deadlock (Galera certification failure) or a lock wait timeout, nothing else', () => {
    expect(isConflict({ errno: 1213 })).toBe(true);
    expect(isConflict({ errno: 1205 })).toBe(true);
    expect(isConflict({ errno: 1062 })).toBe(false);
    expect(isConflict(new Error('x'))).toBe(false);
    expect(isConflict(undefined)).toBe(false);
  });
});

describe('isNodeFailure', () => {
  it('takes a node out for network errors, lost connections, shutdown and a non-Primary node', () => {
    expect(isNodeFailure({ code: 'ECONNREFUSED' }, 0)).toBe(true);
    expect(isNodeFailure({ errno: 45009, fatal: true }, 3)).toBe(true);
    expect(isNodeFailure({ errno: 1047 }, 3)).toBe(true);
    expect(isNodeFailure({ errno: 1053 }, 3)).toBe(true);
    expect(isNodeFailure({ errno: 1927 }, 3)).toBe(true);
    expect(isNodeFailure({ errno: 45028, cause: { code: 'ECONNREFUSED' } }, 0)).toBe(true);
  });

  it('does not for a busy pool, a conflict or a bad statement', () => {
    expect(isNodeFailure({ errno: 45028 }, 5)).toBe(false);
    expect(isNodeFailure({ errno: 1213, fatal: false }, 0)).toBe(false);
    expect(isNodeFailure({ errno: 1064, fatal: false }, 0)).toBe(false);
    expect(isNodeFailure(undefined, 0)).toBe(false);
  });
});

describe('splitDatabaseUrls', () => {
  it('splits a comma-separated list, trimming blanks; one URL stays one', () => {
    expect(splitDatabaseUrls('mariadb://a/db')).toEqual(['mariadb://a/db']);
    expect(splitDatabaseUrls(' mariadb://a:1/db , mariadb://b:2/db,')).toEqual([
      'mariadb://a:1/db',
      'mariadb://b:2/db',
    ]);
    expect(() => splitDatabaseUrls(' , ')).toThrow(/empty/);
  });
});
