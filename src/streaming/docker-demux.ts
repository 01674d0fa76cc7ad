/**
 * Docker's multiplexed attach/exec stream (no TTY): frames of an 8-byte header — stream type
 * (0 stdin, 1 stdout, 2 stderr), three zero bytes, big-endian payload length — then the payload.
 * Pure and incremental: chunks may cut frames anywhere.
 */
export interface DemuxedChunk {
  stream: 'stdout' | 'stderr';
  data: Buffer;
}

export class DockerDemuxer {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): DemuxedChunk[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: DemuxedChunk[] = [];
    while (this.buf.length >= 8) {
      const size = this.buf.readUInt32BE(4);
      if (this.buf.length < 8 + size) break;
      const type = this.buf[0];
      const data = this.buf.subarray(8, 8 + size);
      this.buf = this.buf.subarray(8 + size);
      // Type 0 is stdin echoed back (TTY-less consoles never do); count it as stdout like the docker CLI.
      if (size > 0) out.push({ stream: type === 2 ? 'stderr' : 'stdout', data });
    }
    return out;
  }

  /** Bytes of an unfinished frame. */
  pending(): number {
    return this.buf.length;
  }
}
