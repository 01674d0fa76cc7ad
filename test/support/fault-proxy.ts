import fs from 'fs';
import net from 'net';

/**
 * A unix-socket proxy in front of the real dockerd that injects the faults a node sees over weeks:
 * an engine answer that fails, one that comes late, events Docker's fan-out dropped, a stream cut
 * mid-way, an engine that is not there. It follows HTTP/1.1 request framing per client connection
 * (node's http agent sends one request at a time on a socket, so a new request on a connection
 * means the previous answer is complete); a hijacked connection (attach, exec start, any Upgrade)
 * passes raw from its request on.
 */
export interface FaultRule {
  /** Tested against the request line, e.g. 'GET /v1.41/containers/abc/json HTTP/1.1'. */
  match: RegExp;
}

/** One line of the /events stream, as much of it as a drop filter needs. */
export interface ProxiedEvent {
  Action?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  id?: string;
  status?: string;
}

export interface FaultProxy {
  /** unix://… for docker-cri's --docker-endpoint / DockerClient. */
  endpoint: string;
  /**
   * The next `times` (default 1) requests matching `match` (after skipping `after` matching ones)
   * are answered here with this HTTP status and {"message": message} JSON; they never reach dockerd.
   */
  failNext(match: RegExp, opts: { status: number; message?: string; times?: number; after?: number }): void;
  /** Requests matching `match` are held `ms` before being passed on (answers are held with them); 0 ends it. */
  hold(match: RegExp, ms: number): void;
  /** Events whose JSON makes `drop` true are removed from every /events stream; returns the undo. */
  dropEvents(drop: (ev: ProxiedEvent) => boolean): () => void;
  /** Destroys the client connections whose current request matches `match` mid-stream; how many. */
  resetStreams(match: RegExp): number;
  /**
   * While on, every open connection is cut and new ones are cut as they arrive (dockerd gone);
   * off lets them through again.
   */
  refuse(on: boolean): void;
  /** How many requests matching `match` the proxy has seen (failed or passed on). */
  seen(match: RegExp): number;
  /** Ends every fail, hold and drop rule (connections and counts stay). */
  clearFaults(): void;
  close(): Promise<void>;
}

interface FailRule extends FaultRule {
  status: number;
  message: string;
  times: number;
  after: number;
}

interface HoldRule extends FaultRule {
  ms: number;
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  409: 'Conflict',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
};

/** The request whose answer the connection is carrying now. */
interface Current {
  line: string;
}

/** Reads an HTTP/1.1 chunked body incrementally; `onData` gets the payload, `onEnd` the end. */
class ChunkedDecoder {
  private buf: Buffer = Buffer.alloc(0);
  private remaining = -1; // payload bytes left in the current chunk; -1: expecting a size line
  private trailer = false;
  done = false;

  constructor(
    private readonly onData: (b: Buffer) => void,
    private readonly onEnd: (rest: Buffer) => void = () => undefined,
  ) {}

  /** Feeds bytes; once the body has ended, returns the bytes that follow it (else undefined). */
  push(data: Buffer): Buffer | undefined {
    this.buf = this.buf.length ? Buffer.concat([this.buf, data]) : data;
    while (!this.done) {
      if (this.trailer) {
        const eol = this.buf.indexOf('\r\n');
        if (eol < 0) return undefined;
        const empty = eol === 0;
        this.buf = this.buf.subarray(eol + 2);
        if (empty) {
          this.done = true;
          this.onEnd(this.buf);
          return this.buf;
        }
      } else if (this.remaining < 0) {
        const eol = this.buf.indexOf('\r\n');
        if (eol < 0) return undefined;
        const size = parseInt(this.buf.subarray(0, eol).toString('latin1').split(';')[0].trim(), 16);
        this.buf = this.buf.subarray(eol + 2);
        if (!Number.isFinite(size) || size === 0) this.trailer = true;
        else this.remaining = size;
      } else if (this.remaining > 0) {
        if (this.buf.length === 0) return undefined;
        const n = Math.min(this.remaining, this.buf.length);
        this.onData(this.buf.subarray(0, n));
        this.buf = this.buf.subarray(n);
        this.remaining -= n;
      } else {
        if (this.buf.length < 2) return undefined;
        this.buf = this.buf.subarray(2); // the CRLF after a chunk's payload
        this.remaining = -1;
      }
    }
    return undefined;
  }
}

function chunk(payload: Buffer | string): Buffer {
  const b = typeof payload === 'string' ? Buffer.from(payload) : payload;
  return Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from('\r\n')]);
}

function headerValue(head: string, name: string): string | undefined {
  const re = new RegExp(`^${name}:\\s*(.*)$`, 'im');
  return re.exec(head)?.[1]?.trim();
}

const EVENTS = /^GET \S*\/events(\?|\s)/;
const HIJACKS = /^POST \S*\/(containers\/[^/]+\/attach|exec\/[^/]+\/start)(\?|\s)/;

export async function startFaultProxy(engineSocket: string, proxySocket: string): Promise<FaultProxy> {
  fs.rmSync(proxySocket, { force: true });
  let fails: FailRule[] = [];
  let holds: HoldRule[] = [];
  let drops: Array<(ev: ProxiedEvent) => boolean> = [];
  let refusing = false;
  const seenLines = new Map<string, number>();
  const conns = new Map<net.Socket, { upstream: net.Socket; current?: Current }>();

  const dropped = (line: string): boolean => {
    if (drops.length === 0 || line.trim() === '') return false;
    let ev: ProxiedEvent;
    try {
      ev = JSON.parse(line) as ProxiedEvent;
    } catch {
      return false;
    }
    return drops.some((d) => d(ev));
  };

  /** The fail rule this request consumes, if any (each rule counts its own matches). */
  const failFor = (line: string): FailRule | undefined => {
    for (const r of fails) {
      if (!r.match.test(line) || r.times <= 0) continue;
      if (r.after > 0) {
        r.after--;
        continue;
      }
      r.times--;
      return r;
    }
    return undefined;
  };

  const handle = (client: net.Socket): void => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = net.connect(engineSocket);
    const conn: { upstream: net.Socket; current?: Current } = { upstream };
    conns.set(client, conn);
    let chain: Promise<void> = Promise.resolve();
    const toUpstream = (b: Buffer, delayMs = 0): void => {
      chain = chain
        .then(() => (delayMs > 0 ? new Promise<void>((r) => setTimeout(r, delayMs)) : undefined))
        .then(() => {
          if (!upstream.destroyed) upstream.write(b);
        });
    };
    const toClient = (b: Buffer): void => {
      chain = chain.then(() => {
        if (!client.destroyed) client.write(b);
      });
    };

    // Client → dockerd: request framing.
    let buf: Buffer = Buffer.alloc(0);
    let raw = false;
    let bodyLeft = 0; // Content-Length bytes left of the current request
    let chunked: ChunkedDecoder | undefined;
    let forward = true; // false while the current request is answered here
    let pendingAnswer: Buffer | undefined;

    const finishBody = (): void => {
      if (pendingAnswer) toClient(pendingAnswer);
      pendingAnswer = undefined;
    };

    const onClientData = (data: Buffer): void => {
      if (raw) {
        toUpstream(data);
        return;
      }
      buf = buf.length ? Buffer.concat([buf, data]) : data;
      while (buf.length > 0) {
        if (bodyLeft > 0) {
          const n = Math.min(bodyLeft, buf.length);
          if (forward) toUpstream(buf.subarray(0, n));
          buf = buf.subarray(n);
          bodyLeft -= n;
          if (bodyLeft === 0) finishBody();
          continue;
        }
        if (chunked) {
          const rest = chunked.push(buf);
          // Only the body's own bytes go on; what follows it is the next request.
          const body = rest === undefined ? buf : buf.subarray(0, buf.length - rest.length);
          if (forward) toUpstream(body);
          buf = rest ?? Buffer.alloc(0);
          if (rest !== undefined) {
            chunked = undefined;
            finishBody();
          }
          continue;
        }
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) {
          if (buf.length > 64 * 1024) {
            // Not HTTP as we know it: stop parsing and pass everything on.
            raw = true;
            toUpstream(buf);
            buf = Buffer.alloc(0);
          }
          return;
        }
        const headBuf = buf.subarray(0, end + 4);
        buf = buf.subarray(end + 4);
        const head = headBuf.toString('latin1');
        const line = head.slice(0, head.indexOf('\r\n'));
        seenLines.set(line, (seenLines.get(line) ?? 0) + 1);
        conn.current = { line };
        respond.reset(EVENTS.test(line));
        const fail = failFor(line);
        const hold = holds.find((h) => h.match.test(line));
        const length = Number(headerValue(head, 'content-length') ?? 0);
        const isChunked = /chunked/i.test(headerValue(head, 'transfer-encoding') ?? '');
        forward = !fail;
        if (fail) {
          const body = JSON.stringify({ message: fail.message });
          pendingAnswer = Buffer.from(
            `HTTP/1.1 ${fail.status} ${REASONS[fail.status] ?? 'Error'}\r\n` +
              'Content-Type: application/json\r\n' +
              `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
          );
        } else {
          toUpstream(headBuf, hold?.ms ?? 0);
        }
        if (!fail && (headerValue(head, 'upgrade') !== undefined || HIJACKS.test(line))) {
          // Hijacked: from here on the connection carries the stream, not requests.
          raw = true;
          if (buf.length) toUpstream(buf);
          buf = Buffer.alloc(0);
          return;
        }
        if (isChunked) {
          chunked = new ChunkedDecoder(() => undefined);
        } else if (length > 0) {
          bodyLeft = length;
        } else {
          finishBody();
        }
      }
    };

    // dockerd → client: raw, except an events answer whose lines the drop filters see.
    const respond = {
      events: false,
      head: Buffer.alloc(0) as Buffer,
      headDone: false,
      decoder: undefined as ChunkedDecoder | undefined,
      partial: '',
      reset(events: boolean): void {
        this.events = events;
        this.head = Buffer.alloc(0);
        this.headDone = false;
        this.decoder = undefined;
        this.partial = '';
      },
      data(d: Buffer): void {
        if (!this.events) {
          toClient(d);
          return;
        }
        if (!this.headDone) {
          this.head = Buffer.concat([this.head, d]);
          const end = this.head.indexOf('\r\n\r\n');
          if (end < 0) return;
          const head = this.head.subarray(0, end + 4);
          const rest = this.head.subarray(end + 4);
          this.headDone = true;
          toClient(head);
          if (!/chunked/i.test(headerValue(head.toString('latin1'), 'transfer-encoding') ?? '')) {
            this.events = false; // not chunked: nothing to re-frame
            if (rest.length) toClient(rest);
            return;
          }
          this.decoder = new ChunkedDecoder(
            (payload) => this.lines(payload.toString('utf8')),
            (after) => {
              if (this.partial && !dropped(this.partial)) toClient(chunk(this.partial));
              this.partial = '';
              toClient(Buffer.from('0\r\n\r\n'));
              this.events = false;
              if (after.length) toClient(after);
            },
          );
          if (rest.length) this.decoder.push(rest);
          return;
        }
        this.decoder?.push(d);
      },
      lines(text: string): void {
        const all = this.partial + text;
        const parts = all.split('\n');
        this.partial = parts.pop() ?? '';
        const kept = parts.filter((l) => !dropped(l));
        if (kept.length) toClient(chunk(kept.map((l) => `${l}\n`).join('')));
      },
    };

    client.on('data', onClientData);
    upstream.on('data', (d: Buffer) => respond.data(d));
    const end = (): void => {
      void chain.then(() => {
        client.destroy();
        upstream.destroy();
        conns.delete(client);
      });
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  };

  const server = net.createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(proxySocket, () => resolve());
  });

  const cut = (client: net.Socket): void => {
    const c = conns.get(client);
    client.destroy();
    c?.upstream.destroy();
    conns.delete(client);
  };

  return {
    endpoint: `unix://${proxySocket}`,
    failNext(match, opts) {
      fails.push({
        match,
        status: opts.status,
        message: opts.message ?? `fault proxy: injected ${opts.status}`,
        times: opts.times ?? 1,
        after: opts.after ?? 0,
      });
    },
    hold(match, ms) {
      holds = holds.filter((h) => h.match.source !== match.source || h.match.flags !== match.flags);
      if (ms > 0) holds.push({ match, ms });
    },
    dropEvents(drop) {
      drops.push(drop);
      return () => {
        drops = drops.filter((d) => d !== drop);
      };
    },
    resetStreams(match) {
      let n = 0;
      for (const [client, c] of [...conns]) {
        if (c.current && match.test(c.current.line)) {
          cut(client);
          n++;
        }
      }
      return n;
    },
    refuse(on) {
      refusing = on;
      if (on) for (const client of [...conns.keys()]) cut(client);
    },
    seen(match) {
      let n = 0;
      for (const [line, count] of seenLines) if (match.test(line)) n += count;
      return n;
    },
    clearFaults() {
      fails = [];
      holds = [];
      drops = [];
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of [...conns.keys()]) cut(client);
        server.close(() => resolve());
      }),
  };
}
