import zlib from 'zlib';
import { SPDY3_DICTIONARY } from './spdy-dictionary';
import { decodeHeaderBlock, encodeHeaderBlock, type HeaderMap } from './spdy-frames';

/**
 * One zlib context that lives as long as the connection: SPDY/3 compresses every header block of a
 * direction as one continuing deflate stream, each block ending on a sync flush. Node's zlib
 * streams are asynchronous, so calls are chained: block N+1 is only fed after block N came out.
 */
class ZlibChain {
  private tail: Promise<unknown> = Promise.resolve();
  private collected: Buffer[] = [];
  private failure: Error | undefined;

  constructor(private readonly z: zlib.Deflate | zlib.Inflate) {
    z.on('data', (chunk: Buffer) => this.collected.push(chunk));
    z.on('error', (err: Error) => {
      this.failure = err;
    });
  }

  run(input: Buffer): Promise<Buffer> {
    const step = (): Promise<Buffer> =>
      new Promise<Buffer>((resolve, reject) => {
        if (this.failure) return reject(this.failure);
        this.collected = [];
        const onError = (err: Error): void => reject(err);
        this.z.once('error', onError);
        this.z.write(input);
        this.z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
          this.z.off('error', onError);
          if (this.failure) return reject(this.failure);
          const out = Buffer.concat(this.collected);
          this.collected = [];
          resolve(out);
        });
      });
    const result = this.tail.then(step, step);
    this.tail = result.catch(() => undefined);
    return result;
  }

  close(): void {
    this.z.close();
  }
}

/** Compresses the header blocks this side sends. */
export class HeaderCompressor {
  private readonly chain = new ZlibChain(
    zlib.createDeflate({ dictionary: SPDY3_DICTIONARY, level: zlib.constants.Z_DEFAULT_COMPRESSION }),
  );

  compress(headers: HeaderMap): Promise<Buffer> {
    return this.chain.run(encodeHeaderBlock(headers));
  }

  close(): void {
    this.chain.close();
  }
}

/** Decompresses the header blocks the peer sends; every block must pass through, in order. */
export class HeaderDecompressor {
  // Node's inflater supplies the dictionary itself when the stream asks for it (Z_NEED_DICT).
  private readonly chain = new ZlibChain(zlib.createInflate({ dictionary: SPDY3_DICTIONARY }));

  async decompress(block: Buffer): Promise<HeaderMap> {
    if (block.length === 0) return {};
    const raw = await this.chain.run(block);
    return decodeHeaderBlock(raw);
  }

  close(): void {
    this.chain.close();
  }
}
