import fs from 'fs';
import { status } from '@grpc/grpc-js';
import { startShim, type TestShim } from '../support/shim';
import { grpcError } from '../support/cri-client';
import {
  completeRecords,
  engine,
  lines,
  loggedContainer,
  Made,
  outputDone,
  records,
  waitFor,
} from './logs-support';

jest.setTimeout(180_000);
const docker = engine();
const made = new Made();
let shim: TestShim;

beforeAll(async () => {
  shim = await startShim();
});
afterAll(async () => {
  await shim?.stop();
  await made.cleanup(docker);
});

const done = (id: string) => () => outputDone(shim.config.rootDirectory, id);

describe('container logs in CRI format', () => {
  it('records stdout and stderr lines with their streams', async () => {
    const c = await loggedContainer(docker, made, 'echo out-1; echo err-1 >&2; echo out-2; echo err-2 >&2');
    await waitFor('output written', done(c.id));
    const recs = records(c.logPath);
    expect(lines(recs, 'stdout')).toEqual(['out-1', 'out-2']);
    expect(lines(recs, 'stderr')).toEqual(['err-1', 'err-2']);
    expect(recs.every((r) => r.tag === 'F')).toBe(true);
  });

  it('splits a 100 KiB line into P records ended by F that join back exactly', async () => {
    const c = await loggedContainer(docker, made, "seq 1 23000 | tr -d '\\n'; echo; echo after");
    await waitFor('output written', done(c.id));
    const recs = records(c.logPath);
    let expected = '';
    for (let i = 1; i <= 23000; i++) expected += i;
    expect(expected.length).toBeGreaterThan(100 * 1024);
    const tags = recs.map((r) => r.tag).join('');
    expect(tags).toBe('PPPPPPFF');
    expect(recs.every((r) => r.msg.length <= 16 * 1024)).toBe(true);
    expect(lines(recs)).toEqual([expected, 'after']);
  });

  it('records a TTY container as stdout', async () => {
    const c = await loggedContainer(docker, made, 'echo hello; echo oops >&2', { tty: true });
    await waitFor('output written', done(c.id));
    const recs = records(c.logPath);
    expect(recs.map((r) => r.stream)).toEqual(['stdout', 'stdout']);
    // A terminal ends lines with CR LF; the bytes are kept as the container wrote them.
    expect(lines(recs)).toEqual(['hello\r', 'oops\r']);
  });

  const mixed =
    "printf 'a\\n\\n'; printf '\\000\\001\\377\\376\\033[0m\\n'; echo 'héllo wörld ✓ 日本語 🚀'; printf 'no newline at the end'";

  it('keeps binary and UTF-8 bytes and empty lines, and writes all output of a container that exits at once', async () => {
    // Docker's `local` log driver keeps bytes as they are; json-file (below) stores JSON strings.
    const c = await loggedContainer(docker, made, mixed, { logDriver: 'local' });
    await waitFor('output written', done(c.id));
    const recs = records(c.logPath);
    expect(recs.map((r) => r.msg)).toEqual([
      Buffer.from('a'),
      Buffer.from(''),
      Buffer.from([0, 1, 0xff, 0xfe, 0x1b, 0x5b, 0x30, 0x6d]),
      Buffer.from('héllo wörld ✓ 日本語 🚀'),
      Buffer.from('no newline at the end'),
    ]);
    // The last line has no newline and stays open (P), as containerd writes it: no newline added.
    // Docker 20.10's `local` driver itself hands that line back with a newline (F then); newer
    // engines keep it as written.
    const raw = (await docker
      .getContainer(c.id)
      .logs({ stdout: true, stderr: true, follow: false })) as Buffer;
    const open = raw[raw.length - 1] !== 0x0a;
    expect(recs.map((r) => r.tag).join('')).toBe(open ? 'FFFFP' : 'FFFFF');
    expect(recs.every((r) => r.stream === 'stdout')).toBe(true);
    // Docker's own timestamps, in order.
    expect([...recs.map((r) => r.ts)].sort()).toEqual(recs.map((r) => r.ts));
  });

  it('with json-file, gets invalid UTF-8 as Docker stored it (replacement characters), all else exact', async () => {
    const c = await loggedContainer(docker, made, mixed);
    await waitFor('output written', done(c.id));
    expect(records(c.logPath).map((r) => r.msg.toString())).toEqual([
      'a',
      '',
      '\u0000\u0001\ufffd\ufffd\u001b[0m',
      'héllo wörld ✓ 日本語 🚀',
      'no newline at the end',
    ]);
  });

  it('creates the file when the container starts, before it writes anything', async () => {
    const c = await loggedContainer(docker, made, 'sleep 2; echo late');
    await waitFor('log file', () => fs.existsSync(c.logPath));
    await waitFor('output written', done(c.id));
    expect(lines(records(c.logPath))).toEqual(['late']);
  });
});

describe('ReopenContainerLog', () => {
  it('continues in a new file after the kubelet renamed the old one, losing no line', async () => {
    const c = await loggedContainer(
      docker,
      made,
      'i=0; while true; do echo line-$i; i=$((i+1)); usleep 5000; done',
    );
    await waitFor('some lines', () => completeRecords(c.logPath).length >= 50);
    const rotated = `${c.logPath}.20261125-110000`;
    fs.renameSync(c.logPath, rotated);
    await shim.client.rt('ReopenContainerLog', { container_id: c.id.slice(0, 12) });
    expect(fs.existsSync(c.logPath)).toBe(true);
    const oldSize = fs.statSync(rotated).size;
    await waitFor('lines in the new file', () => completeRecords(c.logPath).length >= 50);
    // The old file is closed: nothing more lands in it.
    expect(fs.statSync(rotated).size).toBe(oldSize);
    await docker.getContainer(c.id).kill();
    await waitFor('output written', done(c.id));
    const all = [...lines(records(rotated)), ...lines(records(c.logPath))];
    expect(all.length).toBeGreaterThan(100);
    expect(all).toEqual(all.map((_, i) => `line-${i}`));

    const err = await grpcError(shim.client.rt('ReopenContainerLog', { container_id: c.id }));
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.details).toContain(c.id);
  });

  it('answers NOT_FOUND for an unknown container and INVALID_ARGUMENT for no id', async () => {
    const missing = 'f'.repeat(64);
    const err = await grpcError(shim.client.rt('ReopenContainerLog', { container_id: missing }));
    expect(err.code).toBe(status.NOT_FOUND);
    expect(err.details).toContain(missing);
    const empty = await grpcError(shim.client.rt('ReopenContainerLog', { container_id: '' }));
    expect(empty.code).toBe(status.INVALID_ARGUMENT);
    expect(empty.details).toContain('container_id');
  });

  it('refuses a container that was created but never started', async () => {
    const c = await loggedContainer(docker, made, 'echo never', { start: false });
    const err = await grpcError(shim.client.rt('ReopenContainerLog', { container_id: c.id }));
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(fs.existsSync(c.logPath)).toBe(false);
  });
});

describe('a shim restart', () => {
  it('stops gracefully with every line written, and the next shim resumes without doubling', async () => {
    const c = await loggedContainer(
      docker,
      made,
      'i=0; while [ $i -lt 3000 ]; do echo n-$i; i=$((i+1)); usleep 1000; done',
    );
    await waitFor('some lines', () => completeRecords(c.logPath).length >= 100);
    await shim.stop();
    const afterStop = records(c.logPath).length;
    shim = await startShim();
    await waitFor('output written', done(c.id), 120_000);
    const all = lines(records(c.logPath));
    expect(afterStop).toBeGreaterThanOrEqual(100);
    expect(all).toEqual(Array.from({ length: 3000 }, (_, i) => `n-${i}`));
  });

  it('a new shim with no position files leaves finished logs as they are (stdout and stderr interleaved)', async () => {
    const c = await loggedContainer(
      docker,
      made,
      'i=0; while [ $i -lt 300 ]; do echo out-$i; echo err-$i >&2; i=$((i+1)); done',
    );
    await waitFor('output written', done(c.id));
    const recs = records(c.logPath);
    expect(lines(recs, 'stdout')).toEqual(Array.from({ length: 300 }, (_, i) => `out-${i}`));
    expect(lines(recs, 'stderr')).toEqual(Array.from({ length: 300 }, (_, i) => `err-${i}`));
    const files = made.dirs.map((d) => `${d}/c/0.log`).filter((f) => fs.existsSync(f));
    const before = files.map((f) => fs.readFileSync(f));
    await shim.stop();
    // A fresh root: every exited container is read again from Docker and compared with its file.
    shim = await startShim();
    for (const id of made.containers) {
      const info = await docker.getContainer(id).inspect();
      if (info.State.Status === 'exited') await waitFor('output checked', done(id));
    }
    expect(files.map((f) => fs.readFileSync(f))).toEqual(before);
  });
});
