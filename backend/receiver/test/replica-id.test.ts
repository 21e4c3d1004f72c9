import { describe, expect, it } from 'vitest';
import { replicaIdFromHostname } from '../src/config.js';

describe('replicaIdFromHostname', () => {
  it('keeps the stable host names orchestrators give replicas', () => {
    expect(replicaIdFromHostname('receiver-0')).toBe('receiver-0');
    expect(replicaIdFromHostname('sensorfleet-receiver-1.receivers.default.svc')).toBe(
      'sensorfleet-receiver-1.receivers.default.svc',
    );
  });

  it('turns any other host name into a valid id', () => {
    expect(replicaIdFromHostname('-weird host!')).toBe('weird-host-');
    expect(replicaIdFromHostname('x'.repeat(100))).toHaveLength(64);
    expect(replicaIdFromHostname('')).toBe('receiver');
  });
});
