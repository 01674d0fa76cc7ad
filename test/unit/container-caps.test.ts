import { KNOWN_CAPABILITIES, boundingSetOf, capabilitiesInMask } from '../../src/translate/container-caps';
import { toDockerSecurity } from '../../src/translate/container-security';
import { decoded } from './container-fixtures';
import type { LinuxContainerSecurityContext__Output } from '../../src/generated/runtime/v1/LinuxContainerSecurityContext';

const sc = (obj: object) =>
  decoded<LinuxContainerSecurityContext__Output>('LinuxContainerSecurityContext', obj);
/** This build machine's bounding set: everything but CAP_SYS_RESOURCE (bit 24). */
const LIMITED = capabilitiesInMask('000001fffeffffff');

describe('hosts lacking capabilities', () => {
  it('reads the bounding set', () => {
    expect(boundingSetOf('Name:\tx\nCapBnd:\t000001fffeffffff\n')).toBe('000001fffeffffff');
    expect(capabilitiesInMask('000001ffffffffff')).toEqual([...KNOWN_CAPABILITIES]);
    expect(LIMITED).not.toContain('CAP_SYS_RESOURCE');
    expect(LIMITED).toHaveLength(KNOWN_CAPABILITIES.length - 1);
    expect(capabilitiesInMask('3000')).toEqual(['CAP_NET_ADMIN', 'CAP_NET_RAW']);
  });

  it('keeps Docker privileged where the host has every capability', () => {
    expect(toDockerSecurity(sc({ privileged: true, seccomp: { profile_type: 'RuntimeDefault' } }))).toEqual({
      Privileged: true,
    });
  });

  it('gives privileged containers all the host has, unconfined, when it lacks some', () => {
    const out = toDockerSecurity(
      sc({
        privileged: true,
        capabilities: { drop_capabilities: ['NET_RAW'] },
        masked_paths: ['/proc/kcore'],
      }),
      undefined,
      LIMITED,
    );
    expect(out.Privileged).toBeUndefined();
    expect(out.CapAdd).toEqual(LIMITED);
    expect(out.CapDrop).toBeUndefined();
    expect(out.MaskedPaths).toEqual([]);
    expect(out.ReadonlyPaths).toEqual([]);
    expect(out.DeviceCgroupRules).toEqual(['a *:* rwm']);
    expect(out.SecurityOpt).toEqual(['seccomp=unconfined', 'apparmor=unconfined', 'label=disable']);
  });

  it('turns ALL into what the host has and refuses a capability it lacks', () => {
    const sec = (caps: object) =>
      toDockerSecurity(
        sc({ capabilities: caps, seccomp: { profile_type: 'RuntimeDefault' } }),
        undefined,
        LIMITED,
      );
    expect(sec({ add_capabilities: ['ALL'] }).CapAdd).toEqual(LIMITED);
    expect(() => sec({ add_capabilities: ['SYS_RESOURCE'] })).toThrow(
      /add_capabilities\[0\]: CAP_SYS_RESOURCE/,
    );
    expect(sec({ add_capabilities: ['NET_ADMIN'] }).CapAdd).toEqual(['CAP_NET_ADMIN']);
  });
});
