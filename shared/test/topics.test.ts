import { describe, expect, it } from 'vitest';
import {
  DEVICE_ID_REGEX,
  parseReceiverOnline,
  parseTopic,
  receiverClientId,
  topicFilters,
  topics,
} from '../src/index.js';

describe('topics', () => {
  it('builds the topics of docs/design.md', () => {
    expect(topics.telemetry('pi-1')).toBe('devices/pi-1/telemetry');
    expect(topics.commandResult('pi-1')).toBe('devices/pi-1/commands/result');
    expect(topicFilters.sharedTelemetry('receivers')).toBe('$share/receivers/devices/+/telemetry');
  });
  it('parses topics back into device id and kind', () => {
    expect(parseTopic('devices/abc123/telemetry')).toEqual({ deviceId: 'abc123', kind: 'telemetry' });
    expect(parseTopic('devices/abc123/commands/result')).toEqual({
      deviceId: 'abc123',
      kind: 'commandResult',
    });
    expect(parseTopic('devices/abc123/data')).toEqual({ deviceId: 'abc123', kind: 'compatData' });
  });
  it('ignores foreign topics and unsafe ids', () => {
    expect(parseTopic('other/abc/telemetry')).toBeUndefined();
    expect(parseTopic('devices/abc/unknown')).toBeUndefined();
    expect(parseTopic('devices/+/telemetry')).toBeUndefined();
    expect(parseTopic('devices//telemetry')).toBeUndefined();
    expect(parseTopic('devices/abc')).toBeUndefined();
    expect(parseTopic('devices/abc/')).toBeUndefined();
    expect(parseTopic('devicesX/abc/telemetry')).toBeUndefined();
    expect(parseTopic('devices/abc/telemetry/extra')).toBeUndefined();
    // Object.prototype's members are not topic kinds.
    expect(parseTopic('devices/abc/constructor')).toBeUndefined();
    expect(parseTopic('devices/abc/__proto__')).toBeUndefined();
  });

  it('names receiver presence and client ids so that no device id can collide with them', () => {
    expect(topics.receiverOnline('receiver-0')).toBe('receivers/receiver-0/online');
    expect(parseReceiverOnline('receivers/receiver-0/online')).toBe('receiver-0');
    expect(parseReceiverOnline('devices/receiver-0/online')).toBeUndefined();
    expect(parseTopic(topics.receiverOnline('x'))).toBeUndefined();
    expect(receiverClientId('receiver-0')).toBe('receiver:receiver-0');
    expect(DEVICE_ID_REGEX.test(receiverClientId('receiver-0'))).toBe(false);
  });
});
