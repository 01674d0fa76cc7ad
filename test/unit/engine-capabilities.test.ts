import {
  capabilitiesOf,
  compareVersions,
  EngineCapabilityProbe,
  type EngineVersion,
} from '../../src/docker/capabilities';
import type { Engine } from '../../src/docker/engine';

describe('engine capabilities from the version answer', () => {
  it('compares dotted versions numerically, ignoring suffixes', () => {
    expect(compareVersions('1.41', '1.44')).toBe(-1);
    expect(compareVersions('1.44', '1.44')).toBe(0);
    expect(compareVersions('1.51', '1.44')).toBe(1);
    expect(compareVersions('5.4.0-1102-aws', '5.12')).toBe(-1);
    expect(compareVersions('6.18.44-fc-v669', '5.12')).toBe(1);
    expect(compareVersions('5.12', '5.12.0')).toBe(0);
  });

  it.each<[EngineVersion, boolean, boolean]>([
    // Debian 12's docker.io 20.10: no BindOptions, read-only binds are non-recursive.
    [{ Version: '20.10.24+dfsg1', ApiVersion: '1.41', KernelVersion: '6.1.0' }, false, false],
    // Docker 25+ on a kernel with mount_setattr.
    [{ Version: '28.5.2', ApiVersion: '1.51', KernelVersion: '6.18.44-fc-v669' }, true, true],
    // Docker 25+ on an old kernel: the options exist, recursion cannot be had.
    [{ Version: '26.1.5', ApiVersion: '1.45', KernelVersion: '5.10.0-30-amd64' }, true, false],
    [{ Version: '25.0.0', ApiVersion: '1.44', KernelVersion: '5.12.0' }, true, true],
    [{}, false, false],
  ])('%j → bind options %s, recursive read-only %s', (v, options, recursive) => {
    const caps = capabilitiesOf(v);
    expect(caps.bindReadOnlyOptions).toBe(options);
    expect(caps.recursiveReadOnly).toBe(recursive);
    expect(caps.apiVersion).toBe(v.ApiVersion ?? '');
  });

  it('asks the engine once, and again only after a failed try', async () => {
    const answers: Array<() => Promise<unknown>> = [
      () => Promise.reject(new Error('engine down')),
      () => Promise.resolve({ Version: '28.5.2', ApiVersion: '1.51', KernelVersion: '6.1.0' }),
    ];
    let calls = 0;
    const engine = {
      version: () => answers[Math.min(calls++, answers.length - 1)](),
      info: () => Promise.resolve({ SecurityOptions: ['name=seccomp,profile=builtin'] }),
    } as unknown as Pick<Engine, 'version' | 'info'>;
    const probe = new EngineCapabilityProbe(engine);
    await expect(probe.get()).rejects.toThrow(/engine down/);
    const [a, b] = await Promise.all([probe.get(), probe.get()]);
    expect(a).toBe(b);
    expect(a.recursiveReadOnly).toBe(true);
    expect(a.selinux).toBe(false);
    await probe.get();
    expect(calls).toBe(2);
    probe.forget();
    await probe.get();
    expect(calls).toBe(3);
  });

  it.each<[string[] | undefined, boolean]>([
    [['name=seccomp,profile=builtin'], false],
    [['name=apparmor', 'name=seccomp,profile=builtin', 'name=cgroupns'], false],
    [['name=seccomp,profile=builtin', 'name=selinux'], true],
    [['name=selinux,foo=bar'], true],
    [['name=selinuxish'], false],
    [undefined, false],
  ])('SecurityOptions %j → containers labelled for SELinux: %s', (options, selinux) => {
    expect(capabilitiesOf({ ApiVersion: '1.51' }, { SecurityOptions: options }).selinux).toBe(selinux);
  });
});
