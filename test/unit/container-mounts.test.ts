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

  // selinux_relabel on a read-only mount: the relabel needs a Bind (`:Z`), which Docker ≥ 25 makes
  // recursively read-only. Without SELinux labels the relabel is a no-op and read-only stays
  // non-recursive; on an SELinux engine the relabel wins.
  it.each<[string, BindCapabilities, { Binds: string[]; mounts: Array<Record<string, unknown>> }]>([
    ['Docker 20.10', LEGACY_BIND_CAPABILITIES, { Binds: ['/h/a:/a:ro,Z', '/h/b:/b:ro,z'], mounts: [] }],
    [
      'Docker 28, no SELinux',
      DOCKER_28,
      {
        Binds: [],
        mounts: [
          {
            Target: '/a',
            BindOptions: { Propagation: 'rprivate', CreateMountpoint: true, ReadOnlyNonRecursive: true },
          },
          {
            Target: '/b',
            BindOptions: { Propagation: 'rprivate', CreateMountpoint: true, ReadOnlyNonRecursive: true },
          },
        ],
      },
    ],
    [
      'Docker 26 on an old kernel, no SELinux',
      DOCKER_26_OLD_KERNEL,
      {
        Binds: [],
        mounts: [
          {
            Target: '/a',
            BindOptions: { Propagation: 'rprivate', CreateMountpoint: true, ReadOnlyNonRecursive: true },
          },
          {
            Target: '/b',
            BindOptions: { Propagation: 'rprivate', CreateMountpoint: true, ReadOnlyNonRecursive: true },
          },
        ],
      },
    ],
    [
      'Docker 28 labelling for SELinux',
      { ...DOCKER_28, selinux: true },
      { Binds: ['/h/a:/a:ro,Z', '/h/b:/b:ro,z'], mounts: [] },
    ],
    [
      'Docker 20.10 labelling for SELinux',
      { ...LEGACY_BIND_CAPABILITIES, selinux: true },
      { Binds: ['/h/a:/a:ro,Z', '/h/b:/b:ro,z'], mounts: [] },
    ],
  ])('a read-only mount with selinux_relabel on %s', (_engine, caps, want) => {
    const out = toDockerBinds(
      mounts(
        { host_path: '/h/a', container_path: '/a', readonly: true, selinux_relabel: true },
        { host_path: '/h/b', container_path: '/b', mount_options: ['ro', 'z'] },
      ),
      caps,
    );
    expect(out.Binds).toEqual(want.Binds);
    expect(out.Mounts).toEqual(
      want.mounts.map((m) => ({ Type: 'bind', Source: `/h${String(m.Target)}`, ReadOnly: true, ...m })),
    );
  });

  it('keeps a writable relabelled mount a Bind with its relabel on every engine', () => {
    for (const caps of [LEGACY_BIND_CAPABILITIES, DOCKER_28, { ...DOCKER_28, selinux: true }]) {
      expect(
        toDockerBinds(mounts({ host_path: '/h/a', container_path: '/a', selinux_relabel: true }), caps),
      ).toEqual({ Binds: ['/h/a:/a:rw,Z'], Mounts: [] });
    }
  });
});
