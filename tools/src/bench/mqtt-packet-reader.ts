/**
 * Splits an MQTT 3.1.1 byte stream into control packets (fixed header: type/flags byte, then the
 * remaining length as a 1–4 byte varint, then that many bytes). Knows nothing about packet contents, so
 * it can be tested without a socket.
 */

export type PacketHandler = (type: number, flags: number, body: Buffer) => void;

/** Largest remaining length a 4-byte varint can say (MQTT 3.1.1 §2.2.3). */
export const MAX_REMAINING_LENGTH = 268_435_455;

export class MqttProtocolError extends Error {
  override name = 'MqttProtocolError';
}

const EMPTY = Buffer.alloc(0);

export class MqttPacketReader {
  /** First byte of the packet being read; -1 while waiting for one. */
  private first = -1;
  private remaining = 0;
  private lengthBytes = 0;
  /** The length varint is complete and `remaining` bytes of body are due. */
  private haveLength = false;
  /** Body of a packet that straddles chunks, filled up to `filled`. */
  private partial: Buffer | undefined;
  private filled = 0;
  private failed: Error | undefined;

  /**
   * @param onPacket called once per packet, in stream order. `body` may be a view into the pushed chunk
   *   (no copy), so it must not be written to; it stays valid after the callback returns.
   * @param maxPacketSize whole packets (fixed header included) larger than this are an error, detected
   *   from the length field before any of the body is buffered.
   */
  constructor(
    private readonly onPacket: PacketHandler,
    readonly maxPacketSize = 1 << 20,
  ) {}

  /**
   * Feeds the next bytes of the stream. Throws MqttProtocolError on a malformed length or an oversize
   * packet; after that the stream position is lost, so every later push throws the same error.
   */
  push(chunk: Buffer): void {
    if (this.failed) throw this.failed;
    const end = chunk.length;
    let pos = 0;
    while (pos < end) {
      if (this.partial) {
        const n = Math.min(this.remaining - this.filled, end - pos);
        chunk.copy(this.partial, this.filled, pos, pos + n);
        this.filled += n;
        pos += n;
        if (this.filled < this.remaining) return;
        const body = this.partial;
        this.partial = undefined;
        this.emit(body);
        continue;
      }
      if (this.first < 0) {
        this.first = chunk[pos++]!;
        continue;
      }
      if (!this.haveLength) {
        const byte = chunk[pos++]!;
        this.remaining += (byte & 0x7f) * 128 ** this.lengthBytes;
        this.lengthBytes++;
        if (byte & 0x80) {
          if (this.lengthBytes === 4) this.fail('remaining length longer than 4 bytes');
          continue;
        }
        const size = 1 + this.lengthBytes + this.remaining;
        if (size > this.maxPacketSize)
          this.fail(`packet of ${size} bytes exceeds the maximum of ${this.maxPacketSize}`);
        this.haveLength = true;
        if (this.remaining === 0) {
          this.emit(EMPTY);
          continue;
        }
      }
      // The whole body is in this chunk (the common case): hand out a view instead of copying.
      if (end - pos >= this.remaining) {
        const body = chunk.subarray(pos, pos + this.remaining);
        pos += this.remaining;
        this.emit(body);
        continue;
      }
      this.partial = Buffer.allocUnsafe(this.remaining);
      this.filled = 0;
    }
  }

  private emit(body: Buffer): void {
    const first = this.first;
    // Reset before the callback so that a handler which throws leaves the reader at a packet boundary.
    this.first = -1;
    this.remaining = 0;
    this.lengthBytes = 0;
    this.haveLength = false;
    this.onPacket(first >> 4, first & 0x0f, body);
  }

  private fail(message: string): never {
    this.failed = new MqttProtocolError(message);
    throw this.failed;
  }
}
