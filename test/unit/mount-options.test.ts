import { toBind } from '../../src/translate/container-mounts';
import { withMountOptions } from '../../src/translate/mount-options';
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

describe('Mount.mount_options', () => {
  it('applies what a Docker bind can say: ro/rw, propagation, z/Z, rbind', () => {
    expect(toBind(mount({ mount_options: ['ro'] }), 'm')).toBe('/srv/data:/data:ro');
    expect(toBind(mount({ mount_options: ['rslave', 'z', 'rbind'] }), 'm')).toBe(
      '/srv/data:/data:rw,rslave,z',
    );
    expect(toBind(mount({ readonly: true, mount_options: ['ro'] }), 'm')).toBe('/srv/data:/data:ro');
    expect(toBind(mount({ propagation: 'PROPAGATION_BIDIRECTIONAL', mount_options: ['rshared'] }), 'm')).toBe(
      '/srv/data:/data:rw,rshared',
    );
    expect(toBind(mount({}), 'm')).toBe('/srv/data:/data:rw');
  });

  it('refuses what Docker cannot apply, naming the option and the mount', () => {
    for (const opt of ['noexec', 'nodev', 'nosuid', 'bind', 'relatime']) {
      expect(() => toBind(mount({ mount_options: [opt] }), 'config.mounts[2]')).toThrow(
        `config.mounts[2].mount_options: "${opt}" cannot be applied by Docker's bind mounts`,
      );
    }
    expect(() => withMountOptions(['ro'], ['rw'], 'm')).toThrow(/"rw" conflicts with readonly/);
    expect(() => withMountOptions(['rw', 'rslave'], ['rshared'], 'm')).toThrow(
      /conflicts with propagation "rslave"/,
    );
  });
});
