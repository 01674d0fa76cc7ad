import { PassThrough } from 'stream';
import { runExec } from '../../src/streaming/exec-session';
import type { SessionIO } from '../../src/streaming/session-io';
import type { TerminalSize } from '../../src/streaming/protocol';
import { FakeEngine } from '../support/fake-engine';

/** A client as the streaming server hands it to a session: stdout only, sizes sent when told. */
function client(sizeAfterMs: number | undefined): SessionIO {
  return {
    stdout: new PassThrough().resume(),
    onResize(listener: (size: TerminalSize) => void) {
      if (sizeAfterMs !== undefined) setTimeout(() => listener({ width: 91, height: 37 }), sizeAfterMs);
    },
    finish: async () => undefined,
    signal: new AbortController().signal,
  };
}

describe('runExec with a terminal', () => {
  const cases: Array<[string, number | undefined, boolean, { h: number; w: number } | undefined]> = [
    ['the size sent at once is the console size at start', 0, true, { h: 37, w: 91 }],
    ['a size sent a little later is still waited for', 50, true, { h: 37, w: 91 }],
    ['no size sent: the exec starts after the wait, without one', undefined, true, undefined],
    ['no terminal: no wait, no size', 0, false, undefined],
  ];
  it.each(cases)('%s', async (_name, sizeAfterMs, tty, want) => {
    const engine = new FakeEngine();
    const id = engine.addContainer({ Image: 'busybox', Labels: {} }, 'running');
    const target = {
      kind: 'exec' as const,
      containerId: id,
      cmd: ['stty', 'size'],
      tty,
      stdin: false,
      stdout: true,
      stderr: false,
    };
    await runExec(engine, target, client(sizeAfterMs));
    expect(engine.execStarts).toHaveLength(1);
    expect(engine.execStarts[0].consoleSize).toEqual(want);
  });
});

describe('runExec when the size changes while the exec starts', () => {
  it('starts with the first size and resizes to the later one once started', async () => {
    const engine = new FakeEngine();
    // Docker's start answers after the client has sent a second size: it is kept and applied after.
    engine.delay('exec.start', 100);
    const id = engine.addContainer({ Image: 'busybox', Labels: {} }, 'running');
    const sizes: Array<[number, TerminalSize]> = [
      [0, { width: 91, height: 37 }],
      [30, { width: 120, height: 40 }],
    ];
    const io: SessionIO = {
      stdout: new PassThrough().resume(),
      onResize(listener: (size: TerminalSize) => void) {
        for (const [ms, size] of sizes) setTimeout(() => listener(size), ms);
      },
      finish: async () => undefined,
      signal: new AbortController().signal,
    };
    await runExec(
      engine,
      {
        kind: 'exec' as const,
        containerId: id,
        cmd: ['stty', 'size'],
        tty: true,
        stdin: false,
        stdout: true,
        stderr: false,
      },
      io,
    );
    expect(engine.execStarts[0].consoleSize).toEqual({ h: 37, w: 91 });
    // One resize, after the start, to the size the client sent last.
    expect(engine.execResizes).toEqual([{ h: 40, w: 120 }]);
    const ops = engine.calls.map((c) => c.op);
    expect(ops.indexOf('exec.resize')).toBeGreaterThan(ops.indexOf('exec.start'));
  });
});
