import { status } from '@grpc/grpc-js';
import type { ExecRequest__Output } from '../../../src/generated/runtime/v1/ExecRequest';
import type { AttachRequest__Output } from '../../../src/generated/runtime/v1/AttachRequest';
import type { PortForwardRequest__Output } from '../../../src/generated/runtime/v1/PortForwardRequest';
import { exec } from '../../../src/runtime/exec';
import { attach } from '../../../src/runtime/attach';
import { portForward } from '../../../src/runtime/port-forward';
import { callContext, criRequest, failure, fakeDeps } from '../../support/fake-deps';
import {
  createIn,
  runningContainer,
  runSandbox,
  withImages,
  withStreaming,
} from '../../support/cri-fixtures';

const execReq = (fields: Record<string, unknown>) => criRequest<ExecRequest__Output>('ExecRequest', fields);

describe('Exec (and the URL that Attach and PortForward share)', () => {
  it('hand out a URL for a running container or a ready pod', async () => {
    const world = withImages(fakeDeps());
    const targets = withStreaming(world);
    const { sandboxId, id } = await runningContainer(world);
    const e = await exec(world.deps)(execReq({ container_id: id, cmd: ['sh'], stdout: true }), callContext());
    const a = await attach(world.deps)(
      criRequest<AttachRequest__Output>('AttachRequest', { container_id: id.slice(0, 12), stdout: true }),
      callContext(),
    );
    const p = await portForward(world.deps)(
      criRequest<PortForwardRequest__Output>('PortForwardRequest', { pod_sandbox_id: sandboxId, port: [80] }),
      callContext(),
    );
    expect([e.url, a.url, p.url]).toEqual([
      'http://127.0.0.1:1/1',
      'http://127.0.0.1:1/2',
      'http://127.0.0.1:1/3',
    ]);
    expect(targets).toEqual([
      expect.objectContaining({ kind: 'exec', containerId: id, cmd: ['sh'] }),
      expect.objectContaining({ kind: 'attach', containerId: id }),
      { kind: 'portforward', sandboxId, ports: [80] },
    ]);
  });

  it.each([
    ['an empty command', { cmd: [] }, status.INVALID_ARGUMENT],
    ['no stream', { cmd: ['sh'], stdout: false }, status.INVALID_ARGUMENT],
    ['tty with stderr', { cmd: ['sh'], tty: true, stderr: true }, status.INVALID_ARGUMENT],
    ['an unknown container', { cmd: ['sh'], container_id: '2'.repeat(64) }, status.NOT_FOUND],
  ])('Exec with %s → its code', async (_what, fields, code) => {
    const world = withImages(fakeDeps());
    withStreaming(world);
    const { id } = await runningContainer(world);
    const f = await failure(
      exec(world.deps)(execReq({ container_id: id, stdout: true, ...fields }), callContext()),
    );
    expect(f.code).toBe(code);
  });

  it('Exec of a container that is not running is FAILED_PRECONDITION', async () => {
    const world = withImages(fakeDeps());
    withStreaming(world);
    const id = await createIn(world, await runSandbox(world));
    const f = await failure(
      exec(world.deps)(execReq({ container_id: id, cmd: ['sh'], stdout: true }), callContext()),
    );
    expect(f.code).toBe(status.FAILED_PRECONDITION);
  });

  it('a full token cache is RESOURCE_EXHAUSTED, no streaming server UNAVAILABLE', async () => {
    const world = withImages(fakeDeps());
    const { id } = await runningContainer(world);
    const req = execReq({ container_id: id, cmd: ['sh'], stdout: true });
    expect((await failure(exec(world.deps)(req, callContext()))).code).toBe(status.UNAVAILABLE);
    withStreaming(world, 0);
    expect((await failure(exec(world.deps)(req, callContext()))).code).toBe(status.RESOURCE_EXHAUSTED);
  });
});
