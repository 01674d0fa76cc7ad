import { status } from '@grpc/grpc-js';
import type { CreateContainerRequest__Output } from '../../../src/generated/runtime/v1/CreateContainerRequest';
import { createContainer } from '../../../src/runtime/container-create';
import { isContainerLabels, LABEL_SANDBOX_ID } from '../../../src/translate/labels';
import { callContext, criRequest, failure, fakeDeps, type FakeWorld } from '../../support/fake-deps';
import { dockerError, dockerTimeout, dockerUnreachable } from '../../support/fake-engine';
import { containerConfig, runSandbox, sandboxConfig, withImages } from '../../support/cri-fixtures';

const create = (world: FakeWorld, fields: Record<string, unknown>) =>
  createContainer(world.deps)(
    criRequest<CreateContainerRequest__Output>('CreateContainerRequest', fields),
    callContext(),
  );

async function ready(): Promise<{ world: FakeWorld; sandboxId: string; req: Record<string, unknown> }> {
  const world = withImages(fakeDeps());
  const sandbox = sandboxConfig();
  const sandboxId = await runSandbox(world, sandbox);
  return {
    world,
    sandboxId,
    req: { pod_sandbox_id: sandboxId, config: containerConfig(), sandbox_config: sandbox },
  };
}

describe('CreateContainer', () => {
  it('creates (not starts) the container in the sandbox namespaces; the index has it at once', async () => {
    const { world, sandboxId, req } = await ready();
    const { container_id: id } = await create(world, req);
    const c = world.fake.containers.get(id!)!;
    expect(c.state.Status).toBe('created');
    expect(isContainerLabels(c.opts.Labels)).toBe(true);
    expect(c.opts.Labels?.[LABEL_SANDBOX_ID]).toBe(sandboxId);
    expect(c.opts.HostConfig?.NetworkMode).toBe(`container:${sandboxId}`);
    expect(c.opts.Entrypoint).toEqual(['sleep', '3600']); // CRI's command is Docker's entrypoint
    expect(world.index.get(id!)?.state).toBe('created');
  });

  it('accepts the sandbox by id prefix', async () => {
    const { world, sandboxId, req } = await ready();
    const { container_id: id } = await create(world, { ...req, pod_sandbox_id: sandboxId.slice(0, 8) });
    expect(world.fake.containers.get(id!)?.opts.Labels?.[LABEL_SANDBOX_ID]).toBe(sandboxId);
  });

  it('creates again when the name was held by a container gone meanwhile', async () => {
    const { world, req } = await ready();
    world.fake.fail(
      'container.create',
      dockerError(409, 'Conflict. The container name "/k8s_app" is already in use'),
    );
    const { container_id: id } = await create(world, req);
    expect(world.fake.count('container.create')).toBe(3); // the sandbox's, the refused one, the one that took
    expect(world.fake.containers.has(id!)).toBe(true);
  });

  const cfg = (extra: Record<string, unknown>) => ({ config: containerConfig('app', extra) });
  it.each([
    ['no pod_sandbox_id', { pod_sandbox_id: '' }, status.INVALID_ARGUMENT, 'pod_sandbox_id is empty'],
    ['no config', { config: null }, status.INVALID_ARGUMENT, 'config is required'],
    ['no name', cfg({ metadata: { name: '' } }), status.INVALID_ARGUMENT, 'config.metadata.name'],
    ['no image', cfg({ image: { image: '' } }), status.INVALID_ARGUMENT, 'config.image.image'],
    [
      'a bad image reference',
      cfg({ image: { image: 'Not A Ref' } }),
      status.INVALID_ARGUMENT,
      'config.image.image',
    ],
    [
      'an empty env key',
      cfg({ envs: [{ key: '', value: Buffer.from('x') }] }),
      status.INVALID_ARGUMENT,
      'config.envs[0].key',
    ],
    ['a relative working_dir', cfg({ working_dir: 'tmp' }), status.INVALID_ARGUMENT, 'config.working_dir'],
    [
      'a log_path leaving the pod',
      cfg({ log_path: '../../etc/x.log' }),
      status.INVALID_ARGUMENT,
      'config.log_path',
    ],
    [
      'an unknown sandbox',
      { pod_sandbox_id: 'c'.repeat(64) },
      status.NOT_FOUND,
      `pod sandbox "${'c'.repeat(64)}"`,
    ],
    [
      'an image not pulled',
      cfg({ image: { image: 'nginx:1.27' } }),
      status.NOT_FOUND,
      'image "nginx:1.27" not found',
    ],
    [
      // Both missing: the sandbox is named, as it would be if the two were read in turn.
      'an unknown sandbox and an image not pulled',
      { pod_sandbox_id: 'c'.repeat(64), ...cfg({ image: { image: 'nginx:1.27' } }) },
      status.NOT_FOUND,
      `pod sandbox "${'c'.repeat(64)}"`,
    ],
    [
      'an unknown pid target',
      cfg({
        linux: { security_context: { namespace_options: { pid: 'TARGET', target_id: 'd'.repeat(64) } } },
      }),
      status.NOT_FOUND,
      'target_id',
    ],
  ])('%s → its code, naming it, and nothing created', async (_what, override, code, message) => {
    const { world, req } = await ready();
    const before = world.fake.containers.size;
    const f = await failure(create(world, { ...req, ...override }));
    expect(f.code).toBe(code);
    expect(f.message).toContain(message);
    expect(world.fake.containers.size).toBe(before);
  });

  it.each([
    ['pulled', 'busybox:latest'],
    ['not pulled either (the sandbox is reported first)', 'nginx:1.27'],
  ])('refuses a sandbox that is not running, the image %s', async (_what, image) => {
    const { world, sandboxId, req } = await ready();
    world.fake.exitContainer(sandboxId, 0);
    const f = await failure(create(world, { ...req, ...cfg({ image: { image } }) }));
    expect(f.code).toBe(status.FAILED_PRECONDITION);
    expect(f.message).toContain(`pod sandbox "${sandboxId}" is not ready`);
  });

  it.each([
    ['create: engine error', 'container.create', dockerError(500, 'no space left'), status.INTERNAL],
    ['create: deadline', 'container.create', dockerTimeout(), status.DEADLINE_EXCEEDED],
    ['create: engine away', 'container.create', dockerUnreachable(), status.UNAVAILABLE],
    [
      'create: bad options',
      'container.create',
      dockerError(400, 'invalid mount config'),
      status.INVALID_ARGUMENT,
    ],
    ['image inspect: engine error', 'image.inspect', dockerError(500, 'boom'), status.INTERNAL],
    ['sandbox inspect: deadline', 'container.inspect', dockerTimeout(), status.DEADLINE_EXCEEDED],
  ])('%s → its gRPC code', async (_what, op, err, code) => {
    const { world, req } = await ready();
    world.fake.fail(op, err);
    const f = await failure(create(world, req));
    expect(f.code).toBe(code);
  });
});
