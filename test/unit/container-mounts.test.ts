import {
  LEGACY_BIND_CAPABILITIES,
  fromInspectMounts,
  toDockerBinds,
  type BindCapabilities,
} from '../../src/translate/container-mounts';
import { containerConfig } from './container-fixtures';

const DOCKER_28: BindCapabilities = { bindReadOnlyOptions: true, recursiveReadOnly: true };
const DOCKER_26_OLD_KERNEL: BindCapabilities = { bindReadOnlyOptions: true, recursiveReadOnly: false };

const mounts = (...m: object[]) => containerConfig({ mounts: m }).mounts;

describe('read-only mounts on engines old and new', () => {
  it('keeps everything in Binds on an engine without BindOptions (non-recursive there)', () => {
    expect(
      toDockerBinds(
        mounts({ host_path: '/h/a', container_path: '/a', readonly: true }),
        LEGACY_BIND_CAPABILITIES,
      ),
    ).toEqual({ Binds: ['/h/a:/a:ro'], Mounts: [] });
  });

  it.each([DOCKER_28, DOCKER_26_OLD_KERNEL])(
    'asks an engine with BindOptions for a non-recursive read-only bind (%j)',
    (caps) => {
      const out = toDockerBinds(
        mounts(
          { host_path: '/h/a', container_path: '/a', readonly: true },
          { host_path: '/h/b', container_path: '/b' },
          {
            host_path: '/h/c',
            container_path: '/c',
            readonly: true,
            propagation: 'PROPAGATION_HOST_TO_CONTAINER',
          },
        ),
        caps,
      );
      expect(out.Binds).toEqual(['/h/b:/b:rw']);
      expect(out.Mounts).toEqual([
        {
          Type: 'bind',
          Source: '/h/a',
          Target: '/a',
          ReadOnly: true,
          BindOptions: { Propagation: 'rprivate', CreateMountpoint: true, ReadOnlyNonRecursive: true },
        },
        {
          Type: 'bind',
          Source: '/h/c',
          Target: '/c',
          ReadOnly: true,
          BindOptions: { Propagation: 'rslave', CreateMountpoint: true, ReadOnlyNonRecursive: true },
        },
      ]);
    },
  );

  it('makes recursive_read_only a ReadOnlyForceRecursive bind where the engine can', () => {
    const out = toDockerBinds(
      mounts({ host_path: '/h/a', container_path: '/a', readonly: true, recursive_read_only: true }),
      DOCKER_28,
    );
    expect(out).toEqual({
      Binds: [],
      Mounts: [
        {
          Type: 'bind',
          Source: '/h/a',
          Target: '/a',
          ReadOnly: true,
          BindOptions: { Propagation: 'rprivate', CreateMountpoint: true, ReadOnlyForceRecursive: true },
        },
      ],
    });
  });

  it.each([
    [
      DOCKER_28,
      { host_path: '/h/a', container_path: '/a', recursive_read_only: true },
      /config\.mounts\[0\]\.recursive_read_only needs readonly.*"\/a"/,
    ],
    [
      DOCKER_28,
      {
        host_path: '/h/a',
        container_path: '/a',
        readonly: true,
        recursive_read_only: true,
        propagation: 'PROPAGATION_BIDIRECTIONAL',
      },
      /config\.mounts\[0\]\.recursive_read_only needs propagation PROPAGATION_PRIVATE.*"\/a"/,
    ],
    [
      DOCKER_28,
      {
        host_path: '/h/a',
        container_path: '/a',
        readonly: true,
        recursive_read_only: true,
        mount_options: ['rshared'],
      },
      /config\.mounts\[0\]\.mount_options: "rshared" conflicts with recursive_read_only.*"\/a"/,
    ],
    [
      DOCKER_26_OLD_KERNEL,
      { host_path: '/h/a', container_path: '/a', readonly: true, recursive_read_only: true },
      /config\.mounts\[0\]\.recursive_read_only: this Docker engine cannot.*"\/a"/,
    ],
    [
      LEGACY_BIND_CAPABILITIES,
      { host_path: '/h/a', container_path: '/a', readonly: true, recursive_read_only: true },
      /config\.mounts\[0\]\.recursive_read_only: this Docker engine cannot/,
    ],
  ])('refuses a recursive read-only mount it cannot honour (%#)', (caps, m, message) => {
    expect(() => toDockerBinds(mounts(m), caps)).toThrow(message);
  });

  it('reports recursive_read_only back from HostConfig.Mounts', () => {
    const back = fromInspectMounts(
      [
        { Type: 'bind', Source: '/h/a', Destination: '/a', Mode: '', RW: false, Propagation: 'rprivate' },
        { Type: 'bind', Source: '/h/b', Destination: '/b', Mode: '', RW: false, Propagation: 'rprivate' },
      ],
      toDockerBinds(
        mounts(
          { host_path: '/h/a', container_path: '/a', readonly: true, recursive_read_only: true },
          { host_path: '/h/b', container_path: '/b', readonly: true },
        ),
        DOCKER_28,
      ).Mounts,
    );
    expect(back.map((m) => [m.container_path, m.readonly, m.recursive_read_only ?? false])).toEqual([
      ['/a', true, true],
      ['/b', true, false],
    ]);
  });
});
