import { describe, expect, it } from 'vitest';
import { logEntries, logLineTimes } from '../src/drill/service-log.js';

describe('service log times', () => {
  it('finds the times of matching pino lines and skips the rest', () => {
    const text = [
      '{"level":30,"time":"2026-12-03T07:00:00.000Z","msg":"connected to broker"}',
      'Error: not json',
      '{"level":40,"time":"2026-12-03T07:00:05.500Z","msg":"broker connection lost; reconnecting"}',
      '{"level":30,"time":1796281210000,"msg":"connected to broker"}',
      '{"level":30,"msg":"connected to broker"}',
      '{broken',
    ].join('\n');
    expect(logLineTimes(text, /connected to broker/)).toEqual([
      Date.parse('2026-12-03T07:00:00.000Z'),
      1796281210000,
    ]);
    expect(logLineTimes(text, /connection lost/)).toEqual([Date.parse('2026-12-03T07:00:05.500Z')]);
    expect(logEntries(text, /connection lost/)[0]?.fields).toMatchObject({ level: 40 });
  });
});
