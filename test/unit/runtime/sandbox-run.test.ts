import { status } from '@grpc/grpc-js';
import type { RunPodSandboxRequest__Output } from '../../../src/generated/runtime/v1/RunPodSandboxRequest';
import { runPodSandbox } from '../../../src/runtime/sandbox-run';
import { isSandboxLabels } from '../../../src/translate/labels';
import { callContext, criRequest, failure, fakeDeps, type FakeWorld } from '../../support/fake-deps';
import { dockerError, dockerTimeout, dockerUnreachable } from '../../support/fake-engine';
import { PAUSE_IMAGE, sandboxConfig, withImages } from '../../support/cri-fixtures';

const run = (world: FakeWorld, fields: Record<string, unknown>) =>
  runPodSandbox(world.deps)(
    criRequest<RunPodSandboxRequest__Output>('RunPodSandboxRequest', fields),
    callContext(),
  );

describe('RunPodSandbox', () => {
  it('creates and starts the pause container, and the index has it running when the call returns', async () => {
    const world = withImages(fakeDeps());
    const res = await run(world, { config: sandboxConfig('web') });
    const id = res.pod_sandbox_id!;
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const c = world.fake.containers.get(id)!;
    expect(c.state.Running).toBe(true);
    expect(c.opts.Image).toBe(PAUSE_IMAGE);
    expect(isSandboxLabels(c.opts.Labels)).toBe(true);
    expect(world.index.get(id)?.state).toBe('running');
    expect(world.fake.count('image.pull')).toBe(0);
  });

  it('pulls an absent pause image first', async () => {
    const world = fakeDeps();
    world.fake.registry.set(PAUSE_IMAGE, {
      Id: `sha256:${'a'.repeat(64)}`,
      RepoDigests: [],
      Size: 1,
      Created: '',
      Config: {},
    });
    await run(world, { config: sandboxConfig() });
    expect(world.fake.count('image.pull')).toBe(1);
    expect(world.fake.containers.size).toBe(1);
  });

  it('builds the pause image offline when it cannot be pulled, and says why when that fails too', async () => {
    const world = fakeDeps();
    const f = await failure(run(world, { config: sandboxConfig() }));
    expect(f.code).toBe(status.FAILED_PRECONDITION);
    expect(f.message).toContain(`pause image "${PAUSE_IMAGE}" is absent`);
    expect(world.fake.containers.size).toBe(0);
  });

  it('creates again when the name was held by a container gone meanwhile', async () => {
    const world = withImages(fakeDeps());
    world.fake.fail(
      'container.create',
      dockerError(409, 'Conflict. The container name "/k8s_POD_x" is already in use by container "abc"'),
    );
    const res = await run(world, { config: sandboxConfig() });
    expect(world.fake.count('container.create')).toBe(2);
    expect(world.fake.containers.get(res.pod_sandbox_id!)?.state.Running).toBe(true);
  });

  it('accepts a runtime handler the engine has, asking the engine again before refusing', async () => {
    const world = withImages(fakeDeps());
    world.fake.engineInfo.Runtimes = { runc: {} };
    await run(world, { config: sandboxConfig(), runtime_handler: 'runc' });
    world.fake.engineInfo.Runtimes = { runc: {}, kata: {} };
    await run(world, { config: sandboxConfig(), runtime_handler: 'kata' });
    expect(world.fake.containers.size).toBe(2);
  });

  const invalid: Array<[string, Record<string, unknown>, string]> = [
    ['no config', {}, 'config'],
    ['no metadata', { config: { ...sandboxConfig(), metadata: null } }, 'config.metadata'],
    ['empty name', { config: sandboxConfig('') }, 'config.metadata.name'],
    [
      'empty namespace',
      { config: { ...sandboxConfig(), metadata: { name: 'p', namespace: '', uid: 'u' } } },
      'config.metadata.namespace',
    ],
    [
      'empty uid',
      { config: { ...sandboxConfig(), metadata: { name: 'p', namespace: 'n', uid: '' } } },
      'config.metadata.uid',
    ],
    ['bad hostname', { config: { ...sandboxConfig(), hostname: 'not a host!' } }, 'config.hostname'],
    [
      'host port out of range',
      { config: { ...sandboxConfig(), port_mappings: [{ container_port: 80, host_port: 70000 }] } },
      'host_port',
    ],
    [
      'unknown runtime handler',
      { config: sandboxConfig(), runtime_handler: 'nope' },
      'runtime_handler "nope"',
    ],
    [
      'relative seccomp profile',
      {
        config: {
          ...sandboxConfig(),
          linux: {
            security_context: { seccomp: { profile_type: 'Localhost', localhost_ref: 'rel/profile.json' } },
          },
        },
      },
      'localhost_ref',
    ],
  ];
  it.each(invalid)(
    'INVALID_ARGUMENT for %s, naming the field, with nothing created',
    async (_what, fields, named) => {
      const world = withImages(fakeDeps());
      const f = await failure(run(world, fields));
      expect(f.code).toBe(status.INVALID_ARGUMENT);
      expect(f.message).toContain(named);
      expect(world.fake.containers.size).toBe(0);
    },
  );

  const dockerFailures: Array<[string, string, Error, status]> = [
    ['create: engine error', 'container.create', dockerError(500, 'driver failed'), status.INTERNAL],
    ['create: deadline', 'container.create', dockerTimeout('container.create'), status.DEADLINE_EXCEEDED],
    ['create: engine away', 'container.create', dockerUnreachable(), status.UNAVAILABLE],
    [
      'start: engine error',
      'container.start',
      dockerError(500, 'cannot start: OCI runtime error'),
      status.INTERNAL,
    ],
    ['start: deadline', 'container.start', dockerTimeout('container.start'), status.DEADLINE_EXCEEDED],
    [
      'inspect after start: gone',
      'container.inspect',
      dockerError(404, 'No such container: x'),
      status.NOT_FOUND,
    ],
    ['engine info: engine error', 'info', dockerError(500, 'info failed'), status.INTERNAL],
  ];
  it.each(dockerFailures)(
    '%s → its gRPC code, and no half-made sandbox is left',
    async (_what, op, err, code) => {
      const world = withImages(fakeDeps());
      world.fake.fail(op, err);
      // Info is asked only for a runtime handler or a cgroup parent.
      const f = await failure(
        run(world, { config: sandboxConfig(), runtime_handler: op === 'info' ? 'runc' : '' }),
      );
      expect(f.code).toBe(code);
      expect(world.fake.containers.size).toBe(0);
      expect(world.index.list()).toEqual([]);
    },
  );

  it('names the sandbox in a Docker failure', async () => {
    const world = withImages(fakeDeps());
    world.fake.fail('container.start', dockerError(500, 'cannot start'));
    const f = await failure(run(world, { config: sandboxConfig() }));
    expect(f.message).toMatch(/^pod sandbox "[0-9a-f]{64}": cannot start/);
  });
});
