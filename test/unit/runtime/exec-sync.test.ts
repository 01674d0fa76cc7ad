import { status } from '@grpc/grpc-js';
import type { ExecSyncRequest__Output } from '../../../src/generated/runtime/v1/ExecSyncRequest';
import { execSync } from '../../../src/runtime/exec-sync';
import { callContext, criRequest, failure, fakeDeps, type FakeWorld } from '../../support/fake-deps';
import { dockerError, dockerTimeout } from '../../support/fake-engine';
import { createIn, runningContainer, runSandbox, withImages } from '../../support/cri-fixtures';

const exec = (world: FakeWorld, fields: Record<string, unknown>, ctx = callContext()) =>
  execSync(world.deps)(criRequest<ExecSyncRequest__Output>('ExecSyncRequest', fields), ctx);

describe('ExecSync', () => {
  it('answers stdout and stderr apart, with the exit code', async () => {
    const world = withImages(fakeDeps());
    const { id } = await runningContainer(world);
    world.fake.execScript = (cmd) => ({ stdout: `ran ${cmd.join(' ')}\n`, stderr: 'warning\n', exitCode: 3 });
    const res = await exec(world, { container_id: id, cmd: ['sh', '-c', 'exit 3'] });
    expect(Buffer.from(res.stdout as Buffer).toString()).toBe('ran sh -c exit 3\n');
    expect(Buffer.from(res.stderr as Buffer).toString()).toBe('warning\n');
    expect(res.exit_code).toBe(3);
    const [e] = world.fake.execs.values();
    expect(e.spec).toMatchObject({ Cmd: ['sh', '-c', 'exit 3'], AttachStdin: false, Tty: false });
  });

  it('fails DEADLINE_EXCEEDED when the command outlives its timeout', async () => {
    const world = withImages(fakeDeps());
    const { id } = await runningContainer(world);
    world.fake.execScript = () => ({ stdout: 'late\n', durationMs: 1500 });
    const f = await failure(exec(world, { container_id: id, cmd: ['sleep', '5'], timeout: 1 }));
    expect(f.code).toBe(status.DEADLINE_EXCEEDED);
    expect(f.message).toContain('timed out after 1s');
  });

  it('fails DEADLINE_EXCEEDED when the client gives up', async () => {
    const world = withImages(fakeDeps());
    const { id } = await runningContainer(world);
    world.fake.execScript = () => ({ durationMs: 300 });
    const ctx = callContext();
    const p = exec(world, { container_id: id, cmd: ['sleep', '5'] }, ctx);
    setTimeout(() => ctx.abort.abort(), 50);
    const f = await failure(p);
    expect(f.code).toBe(status.DEADLINE_EXCEEDED);
    expect(f.message).toContain('the call was cancelled');
  });

  it.each([
    ['an empty command', { cmd: [] }, status.INVALID_ARGUMENT, 'cmd is empty'],
    ['a negative timeout', { cmd: ['true'], timeout: -1 }, status.INVALID_ARGUMENT, 'timeout "-1"'],
    ['an empty container id', { cmd: ['true'], container_id: '' }, status.INVALID_ARGUMENT, 'container_id'],
    ['an unknown container', { cmd: ['true'], container_id: '6'.repeat(64) }, status.NOT_FOUND, 'not found'],
  ])('%s → its code, naming it', async (_what, fields, code, message) => {
    const world = withImages(fakeDeps());
    const { id } = await runningContainer(world);
    const f = await failure(exec(world, { container_id: id, ...fields }));
    expect(f.code).toBe(code);
    expect(f.message).toContain(message);
    expect(world.fake.count('exec.create')).toBe(0);
  });

  it('refuses a container that is not running', async () => {
    const world = withImages(fakeDeps());
    const id = await createIn(world, await runSandbox(world));
    const f = await failure(exec(world, { container_id: id, cmd: ['true'] }));
    expect(f.code).toBe(status.FAILED_PRECONDITION);
  });

  it.each([
    [
      'create: stopped meanwhile',
      'exec.create',
      dockerError(409, 'Container x is not running'),
      status.FAILED_PRECONDITION,
    ],
    ['create: engine error', 'exec.create', dockerError(500, 'boom'), status.INTERNAL],
    ['start: deadline', 'exec.start', dockerTimeout(), status.DEADLINE_EXCEEDED],
    ['inspect: gone', 'exec.inspect', dockerError(404, 'No such exec instance'), status.NOT_FOUND],
  ])('%s → its gRPC code', async (_what, op, err, code) => {
    const world = withImages(fakeDeps());
    const { id } = await runningContainer(world);
    world.fake.fail(op, err);
    expect((await failure(exec(world, { container_id: id, cmd: ['true'] }))).code).toBe(code);
  });
});
