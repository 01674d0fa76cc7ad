import {
  dockerUser,
  normalizeCapabilities,
  seccompChoice,
  toDockerSecurity,
} from '../../src/translate/container-security';
import { decoded } from './container-fixtures';
import type { LinuxContainerSecurityContext__Output } from '../../src/generated/runtime/v1/LinuxContainerSecurityContext';

const sc = (obj: object) =>
  decoded<LinuxContainerSecurityContext__Output>('LinuxContainerSecurityContext', obj);

describe('security context → docker', () => {
  it('builds the user from uid, username and group', () => {
    expect(dockerUser(sc({}))).toBeUndefined();
    expect(dockerUser(sc({ run_as_user: { value: 1000 } }))).toBe('1000');
    expect(dockerUser(sc({ run_as_user: { value: 0 } }))).toBe('0');
    expect(dockerUser(sc({ run_as_user: { value: 1000 }, run_as_group: { value: 2000 } }))).toBe('1000:2000');
    expect(dockerUser(sc({ run_as_username: 'app' }))).toBe('app');
    expect(dockerUser(sc({ run_as_username: 'app', run_as_group: { value: 2000 } }))).toBe('app:2000');
    expect(() => dockerUser(sc({ run_as_group: { value: 2000 } }))).toThrow(/run_as_group needs run_as_user/);
    expect(() => dockerUser(sc({ run_as_user: { value: -1 } }))).toThrow(/run_as_user/);
    expect(() => dockerUser(sc({ run_as_username: 'a:b' }))).toThrow(/run_as_username/);
  });

  it('normalizes capability names', () => {
    expect(normalizeCapabilities(['net_admin', 'CAP_SYS_TIME', 'ALL', 'all'], 'f')).toEqual([
      'CAP_NET_ADMIN',
      'CAP_SYS_TIME',
      'ALL',
      'ALL',
    ]);
    expect(() => normalizeCapabilities(['no way'], 'f')).toThrow(/f\[0\]/);
  });

  it('maps privileged, caps, groups, read-only rootfs, paths and no_new_privs', () => {
    const out = toDockerSecurity(
      sc({
        privileged: true,
        capabilities: { add_capabilities: ['NET_ADMIN'], drop_capabilities: ['ALL'] },
        supplemental_groups: [2000, 3000],
        readonly_rootfs: true,
        no_new_privs: true,
        masked_paths: ['/proc/kcore'],
        readonly_paths: ['/proc/sys'],
        seccomp: { profile_type: 'RuntimeDefault' },
      }),
    );
    expect(out).toEqual({
      Privileged: true,
      CapAdd: ['CAP_NET_ADMIN'],
      CapDrop: ['ALL'],
      GroupAdd: ['2000', '3000'],
      ReadonlyRootfs: true,
      SecurityOpt: ['no-new-privileges'],
      MaskedPaths: ['/proc/kcore'],
      ReadonlyPaths: ['/proc/sys'],
    });
  });

  it('leaves masked and read-only paths to Docker when none are given', () => {
    const out = toDockerSecurity(sc({ seccomp: { profile_type: 'RuntimeDefault' } }));
    expect(out.MaskedPaths).toBeUndefined();
    expect(out.ReadonlyPaths).toBeUndefined();
  });

  it('chooses the seccomp profile from the new field, then the old path', () => {
    expect(seccompChoice(sc({}))).toEqual({ kind: 'unconfined' });
    expect(seccompChoice(null)).toEqual({ kind: 'unconfined' });
    expect(seccompChoice(sc({ seccomp: { profile_type: 'RuntimeDefault' } }))).toEqual({ kind: 'default' });
    expect(seccompChoice(sc({ seccomp: { profile_type: 'Unconfined' } }))).toEqual({ kind: 'unconfined' });
    expect(seccompChoice(sc({ seccomp: { profile_type: 'Localhost', localhost_ref: '/p.json' } }))).toEqual({
      kind: 'localhost',
      path: '/p.json',
    });
    expect(() =>
      seccompChoice(sc({ seccomp: { profile_type: 'Localhost', localhost_ref: 'p.json' } })),
    ).toThrow(/localhost_ref/);
    expect(seccompChoice(sc({ seccomp_profile_path: 'runtime/default' }))).toEqual({ kind: 'default' });
    expect(seccompChoice(sc({ seccomp_profile_path: 'docker/default' }))).toEqual({ kind: 'default' });
    expect(seccompChoice(sc({ seccomp_profile_path: 'unconfined' }))).toEqual({ kind: 'unconfined' });
    expect(seccompChoice(sc({ seccomp_profile_path: 'localhost//x/p.json' }))).toEqual({
      kind: 'localhost',
      path: '/x/p.json',
    });
    expect(() => seccompChoice(sc({ seccomp_profile_path: 'weird' }))).toThrow(/seccomp_profile_path/);
  });

  it('turns seccomp, AppArmor and SELinux choices into security options', () => {
    expect(toDockerSecurity(sc({})).SecurityOpt).toEqual(['seccomp=unconfined']);
    expect(toDockerSecurity(null).SecurityOpt).toEqual(['seccomp=unconfined']);
    const profile = '{"defaultAction":"SCMP_ACT_ALLOW"}';
    expect(
      toDockerSecurity(sc({ seccomp: { profile_type: 'Localhost', localhost_ref: '/p.json' } }), profile)
        .SecurityOpt,
    ).toEqual([`seccomp=${profile}`]);
    expect(
      toDockerSecurity(
        sc({
          seccomp: { profile_type: 'RuntimeDefault' },
          apparmor: { profile_type: 'Localhost', localhost_ref: 'localhost/my-prof' },
          selinux_options: { user: 'u', role: 'r', type: 't', level: 's0:c1,c2' },
        }),
      ).SecurityOpt,
    ).toEqual(['apparmor=my-prof', 'label=user:u', 'label=role:r', 'label=type:t', 'label=level:s0:c1,c2']);
    expect(
      toDockerSecurity(
        sc({ seccomp: { profile_type: 'RuntimeDefault' }, apparmor: { profile_type: 'Unconfined' } }),
      ).SecurityOpt,
    ).toEqual(['apparmor=unconfined']);
    expect(
      toDockerSecurity(sc({ seccomp: { profile_type: 'RuntimeDefault' }, apparmor_profile: 'localhost/p2' }))
        .SecurityOpt,
    ).toEqual(['apparmor=p2']);
    expect(
      toDockerSecurity(
        sc({ seccomp: { profile_type: 'RuntimeDefault' }, apparmor_profile: 'runtime/default' }),
      ).SecurityOpt,
    ).toBeUndefined();
  });

  it('refuses what Docker cannot do', () => {
    expect(() => toDockerSecurity(sc({ capabilities: { add_ambient_capabilities: ['NET_RAW'] } }))).toThrow(
      /ambient/,
    );
    expect(() => toDockerSecurity(sc({ supplemental_groups_policy: 'Strict' }))).toThrow(/Strict/);
  });
});
