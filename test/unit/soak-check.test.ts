import {
  compareWithDocker,
  criLogLines,
  demuxDockerLog,
  logCaughtUp,
  logComplete,
  numberedLog,
  type CriView,
  type DockerTruth,
} from '../../bench/soak-check';

/** The chaos soak's verdicts (bench/soak-faults.ts): a wrong check would pass a broken shim. */
describe('chaos soak checks', () => {
  const cri = (lines: string[]): string =>
    lines.map((l, i) => `2026-12-06T08:00:0${i % 10}.000000000Z stdout F ${l}\n`).join('');

  it('a numbered log with every line once, in order, is complete', () => {
    const { lines, garbage } = criLogLines(cri(['1', '2', '3']));
    const log = numberedLog(lines, garbage);
    expect(log).toEqual({ lines: 3, last: 3, duplicates: 0, missing: 0, outOfOrder: 0, garbage: 0 });
    expect(logComplete(log, 3)).toBe(true);
    expect(logComplete(log, 4)).toBe(false); // Docker has a line the file lacks
  });

  it('a running writer is caught up when the file holds what Docker had before it was read', () => {
    const numbered = (n: number) => {
      const { lines, garbage } = criLogLines(cri(Array.from({ length: n }, (_, i) => String(i + 1))));
      return numberedLog(lines, garbage);
    };
    // Docker counted 20 lines, then the file was read with 22: the writer went on meanwhile.
    expect(logCaughtUp(numbered(22), 20)).toBe(true);
    expect(logCaughtUp(numbered(20), 20)).toBe(true);
    // The file lacks lines Docker had before it was read.
    expect(logCaughtUp(numbered(19), 20)).toBe(false);
    const { lines, garbage } = criLogLines(cri(['1', '2', '2', '3']));
    expect(logCaughtUp(numberedLog(lines, garbage), 3)).toBe(false);
  });

  it('counts doubled, missing, reordered and foreign lines', () => {
    const { lines, garbage } = criLogLines(cri(['1', '2', '2', '5', '4', 'x']) + 'not cri\n');
    const log = numberedLog(lines, garbage);
    expect(log).toEqual({ lines: 5, last: 5, duplicates: 1, missing: 1, outOfOrder: 2, garbage: 2 });
    expect(logComplete(log, 5)).toBe(false);
  });

  it('joins partial records into one line', () => {
    const text = '2026-12-06T08:00:00Z stdout P 12\n2026-12-06T08:00:00Z stdout F 3\n';
    expect(criLogLines(text).lines).toEqual(['123']);
  });

  it("reads Docker's multiplexed log stream as lines", () => {
    const frame = (stream: number, text: string): Buffer => {
      const head = Buffer.alloc(8);
      head[0] = stream;
      head.writeUInt32BE(Buffer.byteLength(text), 4);
      return Buffer.concat([head, Buffer.from(text)]);
    };
    const buf = Buffer.concat([frame(1, '1\n2'), frame(1, '\n3\n'), frame(2, '4\n')]);
    expect(demuxDockerLog(buf)).toEqual(['1', '2', '3', '4']);
    expect(demuxDockerLog(Buffer.alloc(0))).toEqual([]);
  });

  const truth = (over: Partial<DockerTruth>): DockerTruth => ({
    id: 'c1',
    sandbox: false,
    status: 'exited',
    exitCode: 3,
    startedAt: '2026-12-06T08:00:00.123456789Z',
    finishedAt: '2026-12-06T08:00:01.5Z',
    ...over,
  });
  const agreeing = (): CriView => ({
    listed: new Map([
      ['c1', 'CONTAINER_EXITED'],
      ['s1', 'SANDBOX_READY'],
    ]),
    statuses: new Map([
      [
        'c1',
        {
          state: 'CONTAINER_EXITED',
          exit_code: 3,
          started_at: '1796544000123456789',
          finished_at: '1796544001500000000',
        },
      ],
    ]),
  });

  it('finds nothing when docker-cri says what Docker says', () => {
    expect(
      compareWithDocker([truth({}), truth({ id: 's1', sandbox: true, status: 'running' })], agreeing()),
    ).toEqual([]);
  });

  it('names every difference: state, exit code, times, absent and extra entries', () => {
    const view = agreeing();
    view.listed.set('c1', 'CONTAINER_RUNNING');
    view.listed.set('gone', 'CONTAINER_EXITED');
    view.statuses!.set('c1', {
      state: 'CONTAINER_RUNNING',
      exit_code: 0,
      started_at: '1796544000123456789',
      finished_at: '0',
    });
    const found = compareWithDocker([truth({}), truth({ id: 's1', sandbox: true, status: 'exited' })], view);
    expect(found.map((m) => `${m.id} ${m.what}`).sort()).toEqual([
      'c1 ContainerStatus exit_code',
      'c1 ContainerStatus finished_at',
      'c1 ContainerStatus state',
      'c1 ListContainers state',
      'gone listed but not in Docker',
      's1 ListPodSandbox state',
    ]);
    view.listed.delete('c1');
    view.statuses!.set('c1', { error: 'code 14' });
    expect(compareWithDocker([truth({})], view).map((m) => m.what)).toEqual(
      expect.arrayContaining(['ListContainers', 'ContainerStatus']),
    );
  });
});
