import {
  LEGACY_BIND_CAPABILITIES,
  toDockerBinds,
  type BindCapabilities,
} from '../../src/translate/container-mounts';
import type { Mount__Output } from '../../src/generated/runtime/v1/Mount';

const mount = (extra: Partial<Mount__Output>): Mount__Output =>
  ({
    container_path: '/data',
    host_path: '/srv/data',
    readonly: false,
    selinux_relabel: false,
    propagation: 'PROPAGATION_PRIVATE',
    uidMappings: [],
    gidMappings: [],
    recursive_read_only: false,
    image: null,
    image_sub_path: '',
    mount_options: [],
    ...extra,
  }) as Mount__Output;

const DOCKER_28: BindCapabilities = { bindReadOnlyOptions: true, recursiveReadOnly: true, selinux: false };

/**
 * The one mount as the create options carry it, through the production path (toDockerBinds, which
 * container-config.ts calls) on Docker 20.10: a Bind string there.
 */
const toBind = (m: Mount__Output): string => {
  const out = toDockerBinds([m], LEGACY_BIND_CAPABILITIES);
  expect(out.Mounts).toEqual([]);
  return out.Binds[0];
};

describe('Mount.mount_options', () => {
  it('applies what a Docker bind can say: ro/rw, propagation, z/Z, rbind', () => {
    expect(toBind(mount({ mount_options: ['ro'] }))).toBe('/srv/data:/data:ro');
    expect(toBind(mount({ mount_options: ['rslave', 'z', 'rbind'] }))).toBe('/srv/data:/data:rw,rslave,z');
    expect(toBind(mount({ readonly: true, mount_options: ['ro'] }))).toBe('/srv/data:/data:ro');
    expect(toBind(mount({ propagation: 'PROPAGATION_BIDIRECTIONAL', mount_options: ['rshared'] }))).toBe(
      '/srv/data:/data:rw,rshared',
    );
    expect(toBind(mount({}))).toBe('/srv/data:/data:rw');
  });

  it('makes a mount that mount_options make read-only a non-recursive Mount on Docker ≥ 25, keeping its propagation', () => {
    expect(toDockerBinds([mount({ mount_options: ['ro', 'rslave'] })], DOCKER_28)).toEqual({
      Binds: [],
      Mounts: [
        {
          Type: 'bind',
          Source: '/srv/data',
          Target: '/data',
          ReadOnly: true,
          BindOptions: { Propagation: 'rslave', CreateMountpoint: true, ReadOnlyNonRecursive: true },
        },
      ],
    });
  });

  it.each([LEGACY_BIND_CAPABILITIES, DOCKER_28])(
    'refuses what Docker cannot apply, naming the option and the mount (%j)',
    (caps) => {
      const plain = mount({ container_path: '/other' });
      for (const opt of ['noexec', 'nodev', 'nosuid', 'bind', 'relatime']) {
        expect(() =>
          toDockerBinds([plain, plain, mount({ readonly: true, mount_options: [opt] })], caps),
        ).toThrow(`config.mounts[2].mount_options: "${opt}" cannot be applied by Docker's bind mounts`);
      }
      expect(() => toDockerBinds([mount({ readonly: true, mount_options: ['rw'] })], caps)).toThrow(
        /config\.mounts\[0\]\.mount_options: "rw" conflicts with readonly=true/,
      );
      expect(() =>
        toDockerBinds(
          [mount({ propagation: 'PROPAGATION_HOST_TO_CONTAINER', mount_options: ['rshared'] })],
          caps,
        ),
      ).toThrow(/config\.mounts\[0\]\.mount_options: "rshared" conflicts with propagation "rslave"/);
    },
  );
});
