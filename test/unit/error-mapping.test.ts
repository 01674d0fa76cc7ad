import fs from 'fs';
import os from 'os';
import path from 'path';
import { Readable } from 'stream';
import { status } from '@grpc/grpc-js';
import type { CheckpointContainerRequest__Output } from '../../src/generated/runtime/v1/CheckpointContainerRequest';
import type { PullImageRequest__Output } from '../../src/generated/runtime/v1/PullImageRequest';
import type { RemoveContainerRequest__Output } from '../../src/generated/runtime/v1/RemoveContainerRequest';
import type { RemovePodSandboxRequest__Output } from '../../src/generated/runtime/v1/RemovePodSandboxRequest';
import type { RemoveImageRequest__Output } from '../../src/generated/runtime/v1/RemoveImageRequest';
import type { ReopenContainerLogRequest__Output } from '../../src/generated/runtime/v1/ReopenContainerLogRequest';
import { DockerClient } from '../../src/docker/client';
import { EngineError, pullErrorCode, toCriError } from '../../src/docker/errors';
import { LocalFileError, PreconditionError, ProgramError, ValidationError } from '../../src/errors';
import { toStatus } from '../../src/grpc/status-error';
import { checkpointContainer } from '../../src/runtime/checkpoint';
import { removeContainer } from '../../src/runtime/container-remove';
import { removePodSandbox } from '../../src/runtime/sandbox-remove';
import { reopenContainerLog } from '../../src/runtime/container-reopen-log';
import { pullImage } from '../../src/image/pull-image';
import { removeImage } from '../../src/image/remove-image';
import { validateConfig } from '../../src/translate/container-config';
import { callContext, criRequest, failure, fakeDeps, type FakeWorld } from '../support/fake-deps';
import { dockerError } from '../support/fake-engine';
import { runningContainer, withImages } from '../support/cri-fixtures';

/** What Node puts on a failed system call, as fs, child_process and sockets raise it. */
function errno(code: string, message: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { code, ...extra });
}

/** One failure of an engine call, as DockerClient.call raises it (the only place that makes one). */
async function fromEngineCall(err: unknown): Promise<unknown> {
  const client = new DockerClient('unix:///nonexistent/docker.sock', 5000);
  return client.call('container.stop', 'container "abc"', () => Promise.reject(err)).catch((e: unknown) => e);
}

describe('the one mapping from a failure to a gRPC code', () => {
  // [where the failure arose, the failure, the code, words the message must hold]
  const rows: Array<[string, () => Promise<unknown> | unknown, status, string[]]> = [
    // Engine calls: the socket's errno means the engine is away; the HTTP status is the engine's word.
    [
      'engine call: socket reset',
      () => fromEngineCall(errno('ECONNRESET', 'socket hang up')),
      status.UNAVAILABLE,
      ['container "abc"', 'docker engine unreachable'],
    ],
    [
      'engine call: socket file gone',
      () => fromEngineCall(errno('ENOENT', 'connect ENOENT /x.sock')),
      status.UNAVAILABLE,
      ['docker engine unreachable'],
    ],
    [
      'engine call: deadline',
      () => fromEngineCall(errno('DOCKER_TIMEOUT', 'docker x took longer than 5 ms')),
      status.DEADLINE_EXCEEDED,
      ['timed out'],
    ],
    [
      'engine call: 404',
      () => fromEngineCall(dockerError(404, 'No such container: abc')),
      status.NOT_FOUND,
      ['No such container'],
    ],
    ['engine call: 500', () => fromEngineCall(dockerError(500, 'boom')), status.INTERNAL, ['boom']],
    [
      'engine call: 501',
      () => fromEngineCall(dockerError(501, 'checkpoint is only supported in experimental mode')),
      status.UNIMPLEMENTED,
      ['container "abc"', 'experimental mode'],
    ],
    [
      'engine call: 429',
      () => fromEngineCall(dockerError(429, 'toomanyrequests: slow down')),
      status.RESOURCE_EXHAUSTED,
      ['toomanyrequests: slow down'],
    ],
    // Local failures that used to be read as the engine's socket.
    [
      'an untyped ENOENT (a missing file, a missing program)',
      () => errno('ENOENT', 'spawn tar ENOENT'),
      status.INTERNAL,
      ['spawn tar ENOENT'],
    ],
    [
      'an untyped EPIPE (a child process)',
      () => errno('EPIPE', 'write EPIPE'),
      status.INTERNAL,
      ['write EPIPE'],
    ],
    [
      'an untyped ECONNRESET (not an engine call)',
      () => errno('ECONNRESET', 'read ECONNRESET'),
      status.INTERNAL,
      ['ECONNRESET'],
    ],
    [
      'local file: missing (the kubelet removed the log directory)',
      () => new LocalFileError('/var/log/pods/x/c/0.log', 'opening', errno('ENOENT', 'ENOENT: no such file')),
      status.NOT_FOUND,
      ['/var/log/pods/x/c/0.log', 'ENOENT'],
    ],
    [
      'local file: permission',
      () => new LocalFileError('/root/x', 'writing', errno('EACCES', 'EACCES: permission denied')),
      status.FAILED_PRECONDITION,
      ['/root/x', 'permission denied'],
    ],
    [
      'local file: disk full',
      () => new LocalFileError('/var/lib/x', 'writing', errno('ENOSPC', 'ENOSPC: no space left')),
      status.FAILED_PRECONDITION,
      ['/var/lib/x'],
    ],
    [
      'local file: I/O error',
      () => new LocalFileError('/var/lib/x', 'reading', errno('EIO', 'EIO: i/o error')),
      status.INTERNAL,
      ['/var/lib/x', 'i/o error'],
    ],
    [
      'local program: not installed',
      () => new ProgramError('tar', errno('ENOENT', 'spawn tar ENOENT')),
      status.FAILED_PRECONDITION,
      ['program "tar" is not installed'],
    ],
    [
      'local program: failed',
      () =>
        new ProgramError(
          'tar',
          Object.assign(new Error('Command failed'), { code: 2, stderr: 'tar: x: Cannot open' }),
        ),
      status.INTERNAL,
      ['program "tar" failed', 'Cannot open'],
    ],
    // Requests.
    [
      'translation: a bad field',
      () => new ValidationError('config.working_dir "x" must be absolute'),
      status.INVALID_ARGUMENT,
      ['config.working_dir'],
    ],
    [
      'a state that forbids the call',
      () => new PreconditionError('container "x" is not running'),
      status.FAILED_PRECONDITION,
      ['not running'],
    ],
    ['a bug of ours', () => new TypeError('x is undefined'), status.INTERNAL, ['x is undefined']],
  ];

  it.each(rows)('%s', async (_where, make, code, words) => {
    const s = toStatus(await make());
    expect(status[s.code]).toBe(status[code]);
    for (const w of words) expect(s.message).toContain(w);
  });

  it('only DockerClient makes engine errors; each keeps its HTTP status and errno', async () => {
    const e = (await fromEngineCall(dockerError(501, 'no'))) as EngineError;
    expect(e).toBeInstanceOf(EngineError);
    expect(e.dockerStatus).toBe(501);
    expect(((await fromEngineCall(errno('EPIPE', 'write EPIPE'))) as EngineError).errno).toBe('EPIPE');
    expect(toCriError(dockerError(404, 'gone'))).toBeInstanceOf(EngineError);
  });
});

describe('a registry’s rate limit', () => {
  it.each([
    ['toomanyrequests: You have reached your pull rate limit. You may increase the limit by authenticating'],
    ['Error response from daemon: toomanyrequests: Too Many Requests'],
    ['429 Too Many Requests'],
  ])('"%s" → RESOURCE_EXHAUSTED', (msg) => {
    expect(status[pullErrorCode(msg)]).toBe('RESOURCE_EXHAUSTED');
  });
});

describe('handlers: errors named where they arise', () => {
  const pull = (world: FakeWorld, image: string) =>
    pullImage(world.deps)(
      criRequest<PullImageRequest__Output>('PullImageRequest', { image: { image } }),
      callContext(),
    );

  it('PullImage: 429 in the engine’s HTTP answer → RESOURCE_EXHAUSTED with the registry’s words', async () => {
    const world = fakeDeps();
    world.fake.fail('image.pull', dockerError(429, 'toomanyrequests: You have reached your pull rate limit'));
    const f = await failure(pull(world, 'busybox:1.36'));
    expect(status[f.code]).toBe('RESOURCE_EXHAUSTED');
    expect(f.message).toContain(
      'pulling image "busybox:1.36": toomanyrequests: You have reached your pull rate limit',
    );
  });

  it('PullImage: 429 inside the progress stream → RESOURCE_EXHAUSTED with the registry’s words', async () => {
    const world = fakeDeps();
    const words = 'toomanyrequests: You have reached your pull rate limit. You may increase the limit';
    jest
      .spyOn(world.fake, 'pullImage')
      .mockResolvedValueOnce(
        Readable.from([`${JSON.stringify({ errorDetail: { message: words }, error: words })}\n`]),
      );
    const f = await failure(pull(world, 'busybox:1.36'));
    expect(status[f.code]).toBe('RESOURCE_EXHAUSTED');
    expect(f.message).toContain(words);
  });

  it('PullImage: 501 from the engine with words of no known kind → UNIMPLEMENTED', async () => {
    const world = fakeDeps();
    world.fake.fail('image.pull', dockerError(501, 'this engine cannot pull'));
    expect(status[(await failure(pull(world, 'busybox:1.36'))).code]).toBe('UNIMPLEMENTED');
  });

  it('RemoveImage: a 500 "unrecognized image ID" for an image another remove took is OK (Docker 20.10)', async () => {
    const world = fakeDeps();
    const img = world.fake.addImage('busybox:1.36');
    jest.spyOn(world.fake, 'removeImage').mockImplementation(async () => {
      world.fake.images.delete(img.Id);
      throw toCriError(dockerError(500, `unrecognized image ID ${img.Id}`), 'image "x"');
    });
    await expect(
      removeImage(world.deps)(
        criRequest<RemoveImageRequest__Output>('RemoveImageRequest', { image: { image: img.Id } }),
        callContext(),
      ),
    ).resolves.toEqual({});
  });

  it('RemoveContainer: any failure for a container that is gone by then is OK', async () => {
    const world = withImages(fakeDeps());
    const { id } = await runningContainer(world);
    const real = world.fake.removeContainer.bind(world.fake);
    jest.spyOn(world.fake, 'removeContainer').mockImplementationOnce(async (cid) => {
      await real(cid);
      throw toCriError(dockerError(500, 'driver "overlay2" failed to remove root filesystem'), 'container');
    });
    await expect(
      removeContainer(world.deps)(
        criRequest<RemoveContainerRequest__Output>('RemoveContainerRequest', { container_id: id }),
        callContext(),
      ),
    ).resolves.toEqual({});
  });

  it('RemovePodSandbox: any failure for a member container gone by then is OK', async () => {
    const world = withImages(fakeDeps());
    const { sandboxId, id } = await runningContainer(world);
    const real = world.fake.removeContainer.bind(world.fake);
    jest.spyOn(world.fake, 'removeContainer').mockImplementation(async (cid, o) => {
      await real(cid, o);
      if (cid === id)
        throw toCriError(dockerError(500, 'driver "overlay2" failed to remove root filesystem'), 'c');
    });
    await expect(
      removePodSandbox(world.deps)(
        criRequest<RemovePodSandboxRequest__Output>('RemovePodSandboxRequest', { pod_sandbox_id: sandboxId }),
        callContext(),
      ),
    ).resolves.toEqual({});
    expect(world.fake.containers.size).toBe(0);
  });

  it('RemoveContainer: a failure for a container still there keeps its code', async () => {
    const world = withImages(fakeDeps());
    const { id } = await runningContainer(world);
    world.fake.fail('container.remove', dockerError(500, 'device or resource busy'));
    const f = await failure(
      removeContainer(world.deps)(
        criRequest<RemoveContainerRequest__Output>('RemoveContainerRequest', { container_id: id }),
        callContext(),
      ),
    );
    expect(status[f.code]).toBe('INTERNAL');
    expect(f.message).toContain('device or resource busy');
  });

  it('ReopenContainerLog: a log directory the kubelet removed → NOT_FOUND naming the file', async () => {
    const world = withImages(fakeDeps());
    const { id } = await runningContainer(world);
    world.logs.reopen = async (_id, p) => {
      throw errno('ENOENT', `ENOENT: no such file or directory, open '${p}'`);
    };
    const f = await failure(
      reopenContainerLog(world.deps)(
        criRequest<ReopenContainerLogRequest__Output>('ReopenContainerLogRequest', { container_id: id }),
      ),
    );
    expect(status[f.code]).toBe('NOT_FOUND');
    expect(f.message).toMatch(/reopening the log file .*\/app\/0\.log/);
  });

  it('CheckpointContainer: tar missing on the node → FAILED_PRECONDITION naming tar', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-ckpt-notar-'));
    const world = withImages(fakeDeps({ rootDirectory: path.join(root, 'root') }));
    world.fake.engineInfo = { ...world.fake.engineInfo, ExperimentalBuild: true };
    const { id } = await runningContainer(world);
    // criu and nothing else on PATH: no tar.
    const bin = path.join(root, 'bin');
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, 'criu'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    const saved = process.env.PATH;
    process.env.PATH = bin;
    try {
      const f = await failure(
        checkpointContainer(world.deps)(
          criRequest<CheckpointContainerRequest__Output>('CheckpointContainerRequest', {
            container_id: id,
            location: path.join(root, 'out.tar'),
          }),
          callContext(),
        ),
      );
      expect(status[f.code]).toBe('FAILED_PRECONDITION');
      expect(f.message).toContain('program "tar" is not installed');
    } finally {
      process.env.PATH = saved;
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('translation', () => {
  it('throws ValidationError naming the field', () => {
    let thrown: unknown;
    try {
      validateConfig(null);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ValidationError);
    expect((thrown as ValidationError).field).toBe('config');
  });

  it('imports nothing from grpc/ or docker/', () => {
    const dir = path.join(__dirname, '../../src/translate');
    const offenders = fs
      .readdirSync(dir)
      .filter((f) => /from '\.\.\/(grpc|docker)\//.test(fs.readFileSync(path.join(dir, f), 'utf8')));
    expect(offenders).toEqual([]);
  });
});
