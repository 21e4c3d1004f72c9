import { describe, expect, it } from 'vitest';
import { MqttPacketReader, MqttProtocolError } from '../src/bench/mqtt-packet-reader.js';

interface Packet {
  type: number;
  flags: number;
  body: Buffer;
}

/** A packet as the spec lays it out, with the remaining length encoded independently of the reader. */
function frame(type: number, flags: number, body: Buffer): Buffer {
  const length: number[] = [];
  let n = body.length;
  do {
    const digit = n % 128;
    n = Math.floor(n / 128);
    length.push(n > 0 ? digit | 0x80 : digit);
  } while (n > 0);
  return Buffer.concat([Buffer.from([(type << 4) | flags, ...length]), body]);
}

function body(size: number, seed = size): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

function collect(maxPacketSize?: number): { reader: MqttPacketReader; packets: Packet[] } {
  const packets: Packet[] = [];
  const reader = new MqttPacketReader(
    (type, flags, b) => packets.push({ type, flags, body: Buffer.from(b) }),
    maxPacketSize,
  );
  return { reader, packets };
}

/** Packets as comparable text: deep equality of Buffers is slow over thousands of splits. */
function text(packets: Packet[]): string[] {
  return packets.map((p) => `${p.type}/${p.flags}/${p.body.toString('hex')}`);
}

const SAMPLE: Packet[] = [
  { type: 2, flags: 0, body: Buffer.from([0, 0]) }, // CONNACK
  { type: 3, flags: 2, body: body(40) }, // PUBLISH QoS 1
  { type: 13, flags: 0, body: Buffer.alloc(0) }, // PINGRESP: no body at all
  { type: 4, flags: 0, body: Buffer.from([0x12, 0x34]) }, // PUBACK
  { type: 9, flags: 0, body: Buffer.from([0, 1, 1, 0x80]) }, // SUBACK
  { type: 3, flags: 0, body: body(300) }, // 2-byte remaining length
];
const STREAM = Buffer.concat(SAMPLE.map((p) => frame(p.type, p.flags, p.body)));
const SAMPLE_TEXT = text(SAMPLE);

describe('MqttPacketReader', () => {
  it('reads several packets from one chunk', () => {
    const { reader, packets } = collect();
    reader.push(STREAM);
    expect(packets).toEqual(SAMPLE);
  });

  it('reads the same packets whatever byte the stream is split at', () => {
    for (let cut = 0; cut <= STREAM.length; cut++) {
      const { reader, packets } = collect();
      reader.push(STREAM.subarray(0, cut));
      reader.push(STREAM.subarray(cut));
      expect(text(packets), `split at ${cut}`).toEqual(SAMPLE_TEXT);
    }
  });

  it('reads the same packets from a stream split at two points', () => {
    for (let a = 0; a <= STREAM.length; a += 3) {
      for (let b = a; b <= STREAM.length; b += 5) {
        const { reader, packets } = collect();
        for (const part of [STREAM.subarray(0, a), STREAM.subarray(a, b), STREAM.subarray(b)])
          reader.push(part);
        expect(text(packets), `split at ${a} and ${b}`).toEqual(SAMPLE_TEXT);
      }
    }
  });

  it('reads a stream fed one byte at a time', () => {
    const { reader, packets } = collect();
    for (let i = 0; i < STREAM.length; i++) reader.push(STREAM.subarray(i, i + 1));
    expect(packets).toEqual(SAMPLE);
  });

  it('handles 1- to 4-byte remaining lengths at their boundaries', () => {
    const cases: [size: number, lengthBytes: number][] = [
      [0, 1],
      [127, 1],
      [128, 2],
      [16_383, 2],
      [16_384, 3],
      [2_097_151, 3],
      [2_097_152, 4],
    ];
    for (const [size, lengthBytes] of cases) {
      const b = body(size);
      const packet = frame(3, 0, b);
      expect(packet.length, `header of ${size}`).toBe(1 + lengthBytes + size);
      for (const chunk of [packet.length, 1000, 7]) {
        if (chunk === 7 && size > 20_000) continue; // byte-sized chunks of megabytes only cost time
        const { reader, packets } = collect(4 << 20);
        for (let i = 0; i < packet.length; i += chunk) reader.push(packet.subarray(i, i + chunk));
        expect(packets.length, `size ${size} in chunks of ${chunk}`).toBe(1);
        expect(packets[0]!.body.equals(b), `size ${size} in chunks of ${chunk}`).toBe(true);
      }
    }
  });

  it('hands out a view of the chunk when the body is complete in it', () => {
    const chunk = frame(4, 0, Buffer.from([0, 7]));
    let seen: Buffer | undefined;
    new MqttPacketReader((_t, _f, b) => (seen = b)).push(chunk);
    expect(seen?.buffer).toBe(chunk.buffer);
  });

  it('rejects a packet larger than the maximum before buffering its body', () => {
    const max = 1000;
    const { reader, packets } = collect(max);
    const fits = frame(3, 0, body(max - 3)); // 1 type byte + 2 length bytes + body = max
    reader.push(fits);
    expect(packets).toHaveLength(1);
    const tooBig = frame(3, 0, body(max - 2));
    // Only the fixed header: the length alone must be enough to refuse it.
    expect(() => reader.push(tooBig.subarray(0, 3))).toThrow(MqttProtocolError);
    expect(() => reader.push(tooBig.subarray(3))).toThrow(/exceeds the maximum of 1000/);
    expect(packets).toHaveLength(1);
  });

  it('rejects a remaining length of more than 4 bytes', () => {
    const { reader } = collect();
    expect(() => reader.push(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]))).toThrow(
      /longer than 4 bytes/,
    );
  });

  it('stays at a packet boundary when the handler throws', () => {
    let calls = 0;
    const reader = new MqttPacketReader(() => {
      if (++calls === 1) throw new Error('handler');
    });
    expect(() => reader.push(frame(4, 0, Buffer.from([0, 1])))).toThrow('handler');
    reader.push(frame(4, 0, Buffer.from([0, 2])));
    expect(calls).toBe(2);
  });
});
