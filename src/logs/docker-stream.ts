/**
 * Splits Docker's log stream (`GET /containers/{id}/logs?timestamps=1`) into messages. Pure: no I/O.
 *
 * Each message is `<RFC3339Nano timestamp> <content>[\n]`. Without a TTY the stream is multiplexed:
 * every message is one frame with an 8-byte header (stream byte, 3 zero bytes, big-endian length).
 * With a TTY it is raw bytes, and a message ends at its newline or after DOCKER_PARTIAL_BYTES of
 * content, the size at which Docker's log copier cuts a long line into partial messages.
 *
 * Messages are handed out as (buffer, start, end) ranges of the chunk they arrived in; only a message
 * that straddles two chunks is copied, so a busy container costs no allocation per line.
 */

/** Docker's log copier buffer: longer lines reach the log driver in pieces of exactly this size. */
export const DOCKER_PARTIAL_BYTES = 16 * 1024;

export const STDOUT = 1;
export const STDERR = 2;
export type StreamId = typeof STDOUT | typeof STDERR;

export type MessageSink = (stream: StreamId, buf: Buffer, start: number, end: number) => void;

const SPACE = 0x20;
const NL = 0x0a;
const HEADER = 8;
/** A timestamp is ~30 bytes; anything much longer means we are not looking at one. */
const MAX_TS = 64;

export class DockerLogParser {
  private carry: Buffer = Buffer.allocUnsafe(DOCKER_PARTIAL_BYTES + 2 * MAX_TS);
  private carryLen = 0;
  // multiplexed state
  // Its own memory, not a slice of Node's 8 KiB pool, which it would pin for the stream's life.
  private header = Buffer.alloc(HEADER);
  private headerLen = 0;
  private frameStream: StreamId = STDOUT;
  private frameLeft = 0;
  // raw (TTY) state
  private tsDone = false;
  private contentLen = 0;

  constructor(
    readonly tty: boolean,
    private sink: MessageSink = () => undefined,
  ) {}

  /** Parses `chunk`; complete messages go to `to` (or the sink given before). */
  push(chunk: Buffer, to?: MessageSink): void {
    if (to) this.sink = to;
    if (this.tty) this.pushRaw(chunk);
    else this.pushMux(chunk);
  }

  /**
   * The stream ended for good (the container's output is over): a raw message still being read is
   * complete as it is. A multiplexed frame cut short is dropped; it is read again on resume.
   */
  finish(to?: MessageSink): void {
    if (to) this.sink = to;
    if (this.tty && this.carryLen > 0) this.sink(STDOUT, this.carry, 0, this.carryLen);
    this.reset();
  }

  /** Bytes held back because their message is not complete yet. */
  pending(): number {
    return this.carryLen + this.headerLen;
  }

  private reset(): void {
    this.carryLen = 0;
    this.headerLen = 0;
    this.frameLeft = 0;
    this.tsDone = false;
    this.contentLen = 0;
  }

  private append(chunk: Buffer, start: number, end: number): void {
    const need = this.carryLen + (end - start);
    if (need > this.carry.length) {
      const bigger = Buffer.allocUnsafe(Math.max(need, this.carry.length * 2));
      this.carry.copy(bigger, 0, 0, this.carryLen);
      this.carry = bigger;
    }
    chunk.copy(this.carry, this.carryLen, start, end);
    this.carryLen += end - start;
  }

  private pushMux(chunk: Buffer): void {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.frameLeft > 0) {
        const take = Math.min(this.frameLeft, n - i);
        this.append(chunk, i, i + take);
        i += take;
        this.frameLeft -= take;
        if (this.frameLeft === 0) {
          this.sink(this.frameStream, this.carry, 0, this.carryLen);
          this.carryLen = 0;
        }
        continue;
      }
      let len: number;
      if (this.headerLen === 0 && n - i >= HEADER) {
        this.frameStream = chunk[i] === STDERR ? STDERR : STDOUT;
        len = chunk.readUInt32BE(i + 4);
        i += HEADER;
      } else {
        const take = Math.min(HEADER - this.headerLen, n - i);
        chunk.copy(this.header, this.headerLen, i, i + take);
        this.headerLen += take;
        i += take;
        if (this.headerLen < HEADER) return;
        this.headerLen = 0;
        this.frameStream = this.header[0] === STDERR ? STDERR : STDOUT;
        len = this.header.readUInt32BE(4);
      }
      if (len === 0) continue;
      if (n - i >= len) {
        this.sink(this.frameStream, chunk, i, i + len);
        i += len;
      } else {
        this.append(chunk, i, n);
        this.frameLeft = len - (n - i);
        i = n;
      }
    }
  }

  private pushRaw(chunk: Buffer): void {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      // A message that began in an earlier chunk lives in carry; one that begins here is a range of chunk.
      const start = i;
      if (!this.tsDone) {
        const sp = chunk.indexOf(SPACE, i);
        const limit = MAX_TS - (this.carryLen > 0 ? this.carryLen : 0);
        if (sp < 0 || sp - i > limit) {
          if (sp < 0 && n - i <= limit) {
            this.append(chunk, i, n);
            return;
          }
          // Not a timestamp: take the bytes up to here as content so the stream still moves.
          i = Math.min(n, i + limit);
        } else {
          i = sp + 1;
        }
        this.tsDone = true;
      }
      const room = DOCKER_PARTIAL_BYTES - this.contentLen;
      const nl = chunk.indexOf(NL, i);
      let end: number;
      if (nl >= 0 && nl - i < room) end = nl + 1;
      else if (n - i >= room) end = i + room;
      else {
        this.append(chunk, start, n);
        this.contentLen += n - i;
        return;
      }
      if (this.carryLen > 0) {
        this.append(chunk, start, end);
        this.sink(STDOUT, this.carry, 0, this.carryLen);
        this.carryLen = 0;
      } else {
        this.sink(STDOUT, chunk, start, end);
      }
      this.tsDone = false;
      this.contentLen = 0;
      i = end;
    }
  }
}
