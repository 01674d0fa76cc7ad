import fs from 'fs';
import os from 'os';
import path from 'path';
import { PassThrough } from 'stream';
import { ApiLogSource } from '../../src/logs/api-log-source';
import { CriEncoder } from '../../src/logs/cri-format';
import { DOCKER_PARTIAL_BYTES, STDOUT } from '../../src/logs/docker-stream';
import { pumpBatches } from '../../src/logs/log-pump';
import { LogSink } from '../../src/logs/log-sink';
import {
  SourceSelector,
  type LogBatch,
  type LogSource,
  type LogEngine,
  type SourceContext,
  type SourceEnd,
} from '../../src/logs/log-source';

/** The pump loop and the parts around it, with in-memory sources and a fake engine (no Docker). */

let dir: string;
let log: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-unit-pump-'));
  log = path.join(dir, '0.log');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const TS = '2026-11-25T11:04:30.000000000Z';

/** A batch of whole stdout lines, as the decoders hand them on. */
function linesBatch(...lines: string[]): LogBatch {
  return {
    emit: (to) => {
      for (const l of lines) {
        const b = Buffer.from(`${TS} ${l}\n`);
        to.message(STDOUT, b, 0, b.length);
      }
    },
  };
}

/** An in-memory LogSource: its batches, then its end. */
class FakeSource implements LogSource {
  readonly via = 'api';
  end: SourceEnd = 'broken';
  stopped = false;
  constructor(
    private readonly batches: LogBatch[],
    private readonly ending: SourceEnd,
  ) {}
  stop(): void {
    this.stopped = true;
  }
  containerStopped(): void {}
  async *[Symbol.asyncIterator](): AsyncIterator<LogBatch> {
    for (const b of this.batches) {
      if (this.stopped) break;
      yield b;
    }
    this.end = this.stopped ? 'stopped' : this.ending;
  }
}

describe('pumpBatches', () => {
  it('appends every batch as CRI records and returns the source’s end', async () => {
    const sink = await LogSink.open(log, false);
    const end = await pumpBatches(
      new FakeSource([linesBatch('a', 'b'), linesBatch('c')], 'complete'),
      new CriEncoder(),
      sink,
    );
    await sink.close();
    expect(end).toBe('complete');
    expect(fs.readFileSync(log, 'utf8')).toBe(`${TS} stdout F a\n${TS} stdout F b\n${TS} stdout F c\n`);
  });

  it('leaves a line left open (P) as it is when the output ends, adding no empty F', async () => {
    const piece = (): LogBatch => ({
      emit: (to) => {
        // A piece of a long line: Docker's full partial buffer, no newline.
        const b = Buffer.concat([Buffer.from(`${TS} `), Buffer.alloc(DOCKER_PARTIAL_BYTES, 0x78)]);
        to.message(STDOUT, b, 0, b.length);
      },
    });
    for (const [ending, tail] of [
      ['complete', ''],
      ['broken', ''],
    ] as const) {
      const file = path.join(dir, `${ending}.log`);
      const sink = await LogSink.open(file, false);
      await pumpBatches(new FakeSource([piece()], ending), new CriEncoder(), sink);
      await sink.close();
      const text = fs.readFileSync(file, 'utf8');
      expect(text.startsWith(`${TS} stdout P xxx`)).toBe(true);
      expect(text.slice(text.indexOf('\n') + 1)).toBe(tail);
    }
  });

  it('settles an adopted file once the source has caught up: the link is replaced by everything so far', async () => {
    const dockers = path.join(dir, 'docker-json.log');
    fs.writeFileSync(dockers, '{}\n');
    fs.symlinkSync(dockers, log);
    const sink = await LogSink.open(log, true);
    const seen: string[] = [];
    const caughtUp: LogBatch = {
      caughtUp: true,
      emit: () => seen.push(fs.lstatSync(log).isSymbolicLink() ? 'link' : 'file'),
    };
    const after: LogBatch = {
      emit: (to) => {
        seen.push(fs.readFileSync(log, 'utf8'));
        linesBatch('c').emit(to);
      },
    };
    await pumpBatches(
      new FakeSource([linesBatch('a', 'b'), caughtUp, after], 'stopped'),
      new CriEncoder(),
      sink,
    );
    await sink.close();
    expect(seen).toEqual(['link', `${TS} stdout F a\n${TS} stdout F b\n`]);
    expect(fs.readFileSync(log, 'utf8')).toBe(`${TS} stdout F a\n${TS} stdout F b\n${TS} stdout F c\n`);
    expect(fs.readFileSync(dockers, 'utf8')).toBe('{}\n');
  });

  it('skips what a resume point says is written already', async () => {
    const encoder = new CriEncoder();
    encoder.resumeFrom({ ts: TS, units: 2, window: [[TS, 2]] });
    const sink = await LogSink.open(log, false);
    await pumpBatches(new FakeSource([linesBatch('a', 'b')], 'complete'), encoder, sink);
    await sink.close();
    expect(fs.readFileSync(log, 'utf8')).toBe(`${TS} stdout F b\n`);
  });
});

/** An engine over an in-memory container: inspect answers `state`, logs answers `stream`. */
function fakeDocker(
  state: { running: boolean; gone?: boolean; jsonFile?: string },
  stream?: PassThrough,
): LogEngine {
  const engine = {
    inspectContainer: async () => {
      if (state.gone) throw Object.assign(new Error('no such container'), { statusCode: 404 });
      return {
        State: { Running: state.running, Restarting: false },
        Config: { Tty: false },
        LogPath: state.jsonFile ?? '',
        HostConfig: { LogConfig: { Type: state.jsonFile ? 'json-file' : 'local', Config: {} } },
      };
    },
    containerLogs: async () => stream,
  };
  return engine as unknown as LogEngine;
}

function ctxOf(engine: LogEngine): SourceContext {
  return { id: 'c1', engine, signal: new AbortController().signal, retryMs: 10 };
}

/** Docker's multiplexed log frame for one stdout message. */
function frame(text: string): Buffer {
  const body = Buffer.from(`${TS} ${text}\n`);
  const head = Buffer.alloc(8);
  head[0] = 1;
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]);
}

describe('ApiLogSource', () => {
  it('yields what Docker streams, says when it has caught up, and ends complete once the container has stopped', async () => {
    const stream = new PassThrough();
    const state = { running: true };
    const source = new ApiLogSource(ctxOf(fakeDocker(state, stream)), false, undefined);
    const encoder = new CriEncoder();
    const kinds: string[] = [];
    stream.write(frame('one'));
    for await (const b of source) {
      const out = encoder.encode(b)?.toString() ?? '';
      kinds.push(b.caughtUp ? 'caught-up' : out);
      if (b.caughtUp && kinds.length > 1 && state.running) {
        state.running = false;
        stream.end(frame('two'));
      }
    }
    expect(kinds.filter((k) => k !== 'caught-up' && k !== '').join('')).toBe(
      `${TS} stdout F one\n${TS} stdout F two\n`,
    );
    expect(kinds).toContain('caught-up');
    expect(source.end).toBe('complete');
  });

  it('ends broken when the stream ends while the container still runs, gone when it was removed', async () => {
    for (const [state, want] of [
      [{ running: true }, 'broken'],
      [{ running: false, gone: true }, 'gone'],
    ] as const) {
      const stream = new PassThrough();
      const source = new ApiLogSource(ctxOf(fakeDocker({ ...state }, stream)), false, undefined);
      stream.end();
      for await (const b of source) b.emit(new CriEncoder());
      expect(source.end).toBe(want);
    }
  });

  it('ends stopped at stop()', async () => {
    const stream = new PassThrough();
    const source = new ApiLogSource(ctxOf(fakeDocker({ running: true }, stream)), false, undefined);
    for await (const b of source) {
      b.emit(new CriEncoder());
      source.stop();
    }
    expect(source.end).toBe('stopped');
  });
});

describe('SourceSelector', () => {
  const opened: string[] = [];
  const openers = {
    file: async (_c: SourceContext, file: string): Promise<LogSource> => {
      opened.push(`file:${file}`);
      if (file.includes('unreadable')) throw new Error('EACCES');
      return new FakeSource([], 'broken');
    },
    api: (): LogSource => {
      opened.push('api');
      return new FakeSource([], 'broken');
    },
  };
  beforeEach(() => (opened.length = 0));

  it('reads a json-file directly, falls back to the API when it cannot, and after a file source broke', async () => {
    const file = new SourceSelector(
      ctxOf(fakeDocker({ running: true, jsonFile: '/d/c1-json.log' })),
      'auto',
      openers,
    );
    const first = await file.next(undefined, undefined);
    expect(first).not.toBe('gone');
    await file.next(undefined, undefined);
    // A json-file source that ended broken: the API from then on.
    const broken = { via: 'json-file', end: 'broken', stop: () => undefined } as unknown as LogSource;
    await file.next(undefined, broken);
    await file.next(undefined, undefined);
    const unreadable = new SourceSelector(
      ctxOf(fakeDocker({ running: true, jsonFile: '/d/unreadable-json.log' })),
      'auto',
      openers,
    );
    await unreadable.next(undefined, undefined);
    const other = new SourceSelector(ctxOf(fakeDocker({ running: true })), 'auto', openers);
    await other.next(undefined, undefined);
    const apiOnly = new SourceSelector(
      ctxOf(fakeDocker({ running: true, jsonFile: '/d/c1-json.log' })),
      'api',
      openers,
    );
    await apiOnly.next(undefined, undefined);
    expect(opened).toEqual([
      'file:/d/c1-json.log',
      'file:/d/c1-json.log',
      'api',
      'api',
      'file:/d/unreadable-json.log',
      'api',
      'api',
      'api',
    ]);
  });

  it('says gone for a removed container', async () => {
    const gone = new SourceSelector(ctxOf(fakeDocker({ running: false, gone: true })), 'auto', openers);
    expect(await gone.next(undefined, undefined)).toBe('gone');
  });
});

describe('JsonFileLogSource when the engine fails at the end', () => {
  it('ends unsure (not broken) when the inspect after the file is read fails, and the file stays the source', async () => {
    const { JsonFileLogSource } = await import('../../src/logs/json-file-log-source');
    const jsonFile = path.join(dir, 'c1-json.log');
    fs.writeFileSync(jsonFile, `${JSON.stringify({ log: 'one\n', stream: 'stdout', time: TS })}\n`);
    const engine = {
      inspectContainer: async () => {
        throw Object.assign(new Error('fault: injected inspect failure'), { statusCode: 500 });
      },
    } as unknown as LogEngine;
    const source = await JsonFileLogSource.open(ctxOf(engine), jsonFile, undefined, false);
    const encoder = new CriEncoder();
    let out = '';
    for await (const b of source) out += encoder.encode(b)?.toString() ?? '';
    expect(out).toBe(`${TS} stdout F one\n`);
    // The engine failed, not the file: the pump tries again later, from the file.
    expect(source.end).toBe('unsure');

    const opened: string[] = [];
    const selector = new SourceSelector(ctxOf(fakeDocker({ running: false, jsonFile })), 'auto', {
      file: async () => {
        opened.push('file');
        return new FakeSource([], 'complete');
      },
      api: () => {
        opened.push('api');
        return new FakeSource([], 'complete');
      },
    });
    await selector.next(undefined, source);
    expect(opened).toEqual(['file']);
  });
});

describe('LogPump dozing while its container writes nothing', () => {
  const stamp = (i: number): string => `2026-12-07T08:00:${String(i).padStart(2, '0')}.000000000Z`;
  const jsonLine = (i: number): string =>
    `${JSON.stringify({ log: `line-${i}\n`, stream: 'stdout', time: stamp(i) })}\n`;
  const crLine = (i: number): string => `${stamp(i)} stdout F line-${i}\n`;
  const expected = (from: number, to: number): string =>
    Array.from({ length: to - from }, (_, k) => crLine(from + k)).join('');
  const waitFor = async (cond: () => boolean): Promise<void> => {
    const end = Date.now() + 10_000;
    while (!cond()) {
      if (Date.now() > end) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const openFds = (): number => fs.readdirSync('/proc/self/fd').length;

  /** A running container logging to a json-file, with its inspects counted. */
  async function dozingPump(lines: number): Promise<{
    pump: import('../../src/logs/log-pump').LogPump;
    state: { running: boolean; gone?: boolean; jsonFile?: string };
    jsonFile: string;
    inspects: () => number;
  }> {
    const { LogPump } = await import('../../src/logs/log-pump');
    const jsonFile = path.join(dir, 'c1-json.log');
    let body = '';
    for (let i = 0; i < lines; i++) body += jsonLine(i);
    fs.writeFileSync(jsonFile, body);
    const state = { running: true, jsonFile };
    const docker = fakeDocker(state);
    let n = 0;
    const engine = {
      inspectContainer: (id: string) => {
        n++;
        return docker.inspectContainer(id);
      },
      containerLogs: docker.containerLogs,
    } as unknown as LogEngine;
    const pump = new LogPump({
      id: 'c1',
      logPath: log,
      posFile: `${log}.pos`,
      engine,
      idleAfterMs: 100,
      idlePollMs: 60_000,
    });
    await waitFor(() => pump.dozing);
    return { pump, state, jsonFile, inspects: () => n };
  }

  it('lets go of both files once quiet, and goes on from the same offset with no Docker call when written to', async () => {
    // libuv opens its inotify descriptor at the first watch and keeps it: counted in `before`.
    fs.watch(dir).close();
    const before = openFds();
    const { pump, jsonFile, inspects } = await dozingPump(3);
    expect(fs.readFileSync(log, 'utf8')).toBe(expected(0, 3));
    // Neither Docker's file nor the kubelet's is open while dozing.
    await new Promise((r) => setImmediate(r));
    expect(openFds()).toBe(before);
    const asked = inspects();
    fs.appendFileSync(jsonFile, jsonLine(3) + jsonLine(4));
    await waitFor(() => fs.readFileSync(log, 'utf8').length === expected(0, 5).length);
    expect(fs.readFileSync(log, 'utf8')).toBe(expected(0, 5));
    expect(inspects()).toBe(asked);
    await waitFor(() => pump.dozing);
    expect(pump.dozes).toBe(2);
    expect(pump.via).toBe('json-file');
    expect(await pump.stop()).toBe('stopped');
  });

  it('a rotation while dozing: the engine is asked and the place found by time, nothing lost or doubled', async () => {
    const { pump, jsonFile, inspects } = await dozingPump(3);
    const asked = inspects();
    fs.appendFileSync(jsonFile, jsonLine(3));
    fs.renameSync(jsonFile, `${jsonFile}.1`);
    fs.writeFileSync(jsonFile, jsonLine(4));
    await waitFor(() => fs.readFileSync(log, 'utf8').length === expected(0, 5).length);
    await waitFor(() => pump.dozing);
    expect(fs.readFileSync(log, 'utf8')).toBe(expected(0, 5));
    expect(inspects()).toBeGreaterThan(asked);
    await pump.stop();
  });

  it('the container stopping while dozing ends the pump complete, with what it wrote last', async () => {
    const { pump, state, jsonFile } = await dozingPump(2);
    fs.appendFileSync(jsonFile, jsonLine(2));
    state.running = false;
    pump.containerStopped();
    expect(await pump.done).toBe('complete');
    expect(fs.readFileSync(log, 'utf8')).toBe(expected(0, 3));
  });

  it('stop() while dozing ends it at once, stopped', async () => {
    const { pump } = await dozingPump(1);
    const t0 = Date.now();
    expect(await pump.stop()).toBe('stopped');
    expect(Date.now() - t0).toBeLessThan(1_000);
  });

  it('ReopenContainerLog while dozing: the old file keeps its records, the new one is there at once and gets what follows', async () => {
    const { pump, jsonFile } = await dozingPump(2);
    fs.renameSync(log, `${log}.20261207-080000`);
    await pump.reopen();
    expect(fs.readFileSync(log, 'utf8')).toBe('');
    fs.appendFileSync(jsonFile, jsonLine(2));
    await waitFor(() => fs.readFileSync(log, 'utf8').length > 0);
    expect(fs.readFileSync(`${log}.20261207-080000`, 'utf8')).toBe(expected(0, 2));
    expect(fs.readFileSync(log, 'utf8')).toBe(expected(2, 3));
    await pump.stop();
  });
});
