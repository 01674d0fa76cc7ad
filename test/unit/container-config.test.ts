import {
  entrypointAndCmd,
  logPathOf,
  toCreateOptions,
  validateConfig,
  type CreateInput,
} from '../../src/translate/container-config';
import { containerMeta } from '../../src/translate/container-labels';
import {
  LEGACY_BIND_CAPABILITIES,
  toBinds,
  toDevices,
  fromInspectMounts,
} from '../../src/translate/container-mounts';
import { containerConfig, sandboxConfig } from './container-fixtures';

const SANDBOX_ID = 'a'.repeat(64);
const IMAGE = { id: 'sha256:' + 'b'.repeat(64), repoDigests: ['busybox@sha256:' + 'c'.repeat(64)] };
const JOIN = {
  NetworkMode: `container:${SANDBOX_ID}`,
  IpcMode: `container:${SANDBOX_ID}`,
  PidMode: '',
  UTSMode: '',
};

function input(obj: object, extra: Partial<CreateInput> = {}): CreateInput {
  return {
    config: validateConfig(containerConfig(obj)),
    sandbox: {
      id: SANDBOX_ID,
      podName: 'pod',
      podNamespace: 'ns',
      podUid: 'uid1',
      cgroupParent: '/kubepods/poduid1',
    },
    sandboxConfig: sandboxConfig(),
    image: IMAGE,
    engine: LEGACY_BIND_CAPABILITIES,
    namespaces: JOIN,
    ...extra,
  };
}

describe('ContainerConfig → docker create options', () => {
  it('names, labels and records everything a later answer needs', () => {
    const opts = toCreateOptions(
      input({
        labels: { app: 'web', 'io.kubernetes.container.name': 'app' },
        annotations: { 'io.kubernetes.container.terminationMessagePath': '/dev/termination-log' },
        image: { image: 'sha256:' + 'b'.repeat(64), user_specified_image: 'busybox:latest' },
        log_path: 'app/1.log',
      }),
    );
    expect(opts.name).toBe('k8s_app_pod_ns_uid1_1');
    expect(opts.Image).toBe(IMAGE.id);
    expect(opts.Labels).toMatchObject({
      app: 'web',
      'io.kubernetes.container.name': 'app',
      'annotation.io.kubernetes.container.terminationMessagePath': '/dev/termination-log',
      'io.kubernetes.docker.type': 'container',
      'io.kubernetes.sandbox.id': SANDBOX_ID,
      'io.kubernetes.container.logpath': '/var/log/pods/ns_pod_uid1/app/1.log',
      'io.docker-cri.image': 'sha256:' + 'b'.repeat(64),
      'io.docker-cri.image.user-specified': 'busybox:latest',
      'io.docker-cri.image.ref': IMAGE.repoDigests[0],
      'io.docker-cri.container.name': 'app',
      'io.docker-cri.container.attempt': '1',
    });
    expect(containerMeta(opts.Labels!, opts.name!)).toEqual({ name: 'app', attempt: 1 });
    expect(opts.HostConfig).toMatchObject({
      NetworkMode: `container:${SANDBOX_ID}`,
      IpcMode: `container:${SANDBOX_ID}`,
      PidMode: '',
      CgroupParent: '/kubepods/poduid1',
      RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
    });
    expect(opts.HostConfig!.UTSMode).toBeUndefined();
  });

  it('maps env, working dir and the stdin/tty flags', () => {
    const opts = toCreateOptions(
      input({
        envs: [
          { key: 'A', value: Buffer.from('1') },
          { key: 'B', value: Buffer.from('x=y') },
        ],
        working_dir: '/tmp',
        stdin: true,
        stdin_once: true,
        tty: true,
      }),
    );
    expect(opts.Env).toEqual(['A=1', 'B=x=y']);
    expect(opts.WorkingDir).toBe('/tmp');
    expect([opts.OpenStdin, opts.StdinOnce, opts.Tty]).toEqual([true, true, true]);
  });

  it('follows Kubernetes command/args semantics', () => {
    expect(entrypointAndCmd(['/bin/sh'], ['-c', 'x'])).toEqual({ Entrypoint: ['/bin/sh'], Cmd: ['-c', 'x'] });
    expect(entrypointAndCmd(['/bin/true'], [])).toEqual({ Entrypoint: ['/bin/true'] });
    expect(entrypointAndCmd([], ['echo', 'hi'])).toEqual({ Cmd: ['echo', 'hi'] });
    expect(entrypointAndCmd([], [])).toEqual({});
  });

  it('joins the log directory and refuses escaping log paths', () => {
    expect(logPathOf('/logs', 'c/0.log')).toBe('/logs/c/0.log');
    expect(logPathOf('/logs', '')).toBe('');
    expect(logPathOf('', 'c/0.log')).toBe('');
    expect(() => logPathOf('/logs', '/etc/passwd')).toThrow(/config.log_path/);
    expect(() => logPathOf('/logs', '../x.log')).toThrow(/must not leave/);
    expect(() => logPathOf('/logs', 'a/../../x.log')).toThrow(/must not leave/);
    expect(logPathOf('/logs', 'a/../b.log')).toBe('/logs/b.log');
    expect(() => toCreateOptions(input({ log_path: '../../etc/x' }))).toThrow(/config.log_path/);
    // Without sandbox_config, the log directory recorded on the sandbox is used.
    const bare = input({ log_path: 'c/0.log' }, { sandboxConfig: null });
    bare.sandbox.logDirectory = '/recorded';
    expect(toCreateOptions(bare).Labels!['io.kubernetes.container.logpath']).toBe('/recorded/c/0.log');
  });

  it('validates the config naming the field', () => {
    expect(() => validateConfig(null)).toThrow(/config is required/);
    expect(() => validateConfig(containerConfig({ metadata: { name: '' } }))).toThrow(/config.metadata.name/);
    expect(() => validateConfig(containerConfig({ metadata: { name: 'a_b' } }))).toThrow(
      /config.metadata.name/,
    );
    expect(() => validateConfig(containerConfig({ image: { image: '' } }))).toThrow(/config.image.image/);
    expect(() => validateConfig(containerConfig({ envs: [{ key: 'A=B', value: Buffer.alloc(0) }] }))).toThrow(
      /config.envs\[0\].key/,
    );
    expect(() => validateConfig(containerConfig({ working_dir: 'rel' }))).toThrow(/config.working_dir/);
  });

  it('passes the join modes through, UTS only when given', () => {
    const opts = toCreateOptions(input({}, { namespaces: { ...JOIN, PidMode: 'host', UTSMode: 'host' } }));
    expect(opts.HostConfig).toMatchObject({ PidMode: 'host', UTSMode: 'host' });
  });

  it('refuses per-pod user namespaces', () => {
    expect(() =>
      toCreateOptions(
        input({ linux: { security_context: { namespace_options: { userns_options: { mode: 'POD' } } } } }),
      ),
    ).toThrow(/userns_options/);
    expect(() =>
      toCreateOptions(
        input({ linux: { security_context: { namespace_options: { userns_options: { mode: 'NODE' } } } } }),
      ),
    ).not.toThrow();
  });
});

describe('mounts and devices', () => {
  it('builds binds with read-only, relabel and propagation', () => {
    const cfg = containerConfig({
      mounts: [
        { host_path: '/h/a', container_path: '/a' },
        { host_path: '/h/b', container_path: '/b', readonly: true, selinux_relabel: true },
        { host_path: '/h/c', container_path: '/c', propagation: 'PROPAGATION_HOST_TO_CONTAINER' },
        { host_path: '/h/d', container_path: '/d', propagation: 'PROPAGATION_BIDIRECTIONAL' },
      ],
    });
    expect(toBinds(cfg.mounts)).toEqual([
      '/h/a:/a:rw',
      '/h/b:/b:ro,Z',
      '/h/c:/c:rw,rslave',
      '/h/d:/d:rw,rshared',
    ]);
  });

  it('refuses relative paths, colons and what Docker cannot do', () => {
    const bad = (m: object) => () => toBinds(containerConfig({ mounts: [m] }).mounts);
    expect(bad({ host_path: 'rel', container_path: '/a' })).toThrow(/config.mounts\[0\].host_path/);
    expect(bad({ host_path: '/a', container_path: '' })).toThrow(/config.mounts\[0\].container_path/);
    expect(bad({ host_path: '/a:b', container_path: '/a' })).toThrow(/':'/);
    expect(bad({ host_path: '/a', container_path: '/a', recursive_read_only: true })).toThrow(/recursive/);
    expect(bad({ host_path: '/a', container_path: '/a', image: { image: 'x' } })).toThrow(/image volumes/);
  });

  it('maps devices with default path and permissions', () => {
    const cfg = containerConfig({
      devices: [
        { host_path: '/dev/null' },
        { host_path: '/dev/zero', container_path: '/dev/z', permissions: 'r' },
      ],
    });
    expect(toDevices(cfg.devices)).toEqual([
      { PathOnHost: '/dev/null', PathInContainer: '/dev/null', CgroupPermissions: 'rwm' },
      { PathOnHost: '/dev/zero', PathInContainer: '/dev/z', CgroupPermissions: 'r' },
    ]);
    expect(() =>
      toDevices(containerConfig({ devices: [{ host_path: '/dev/null', permissions: 'x' }] }).devices),
    ).toThrow(/config.devices\[0\].permissions/);
  });

  it('reads inspect mounts back as CRI mounts', () => {
    expect(
      fromInspectMounts([
        { Type: 'bind', Source: '/h/a', Destination: '/a', Mode: 'ro,Z', RW: false, Propagation: 'rslave' },
        { Type: 'bind', Source: '/h/b', Destination: '/b', Mode: '', RW: true, Propagation: 'rprivate' },
        { Type: 'volume', Source: '/v', Destination: '/data', Mode: '', RW: true, Propagation: '' },
      ]),
    ).toEqual([
      {
        host_path: '/h/a',
        container_path: '/a',
        readonly: true,
        selinux_relabel: true,
        propagation: 'PROPAGATION_HOST_TO_CONTAINER',
      },
      {
        host_path: '/h/b',
        container_path: '/b',
        readonly: false,
        selinux_relabel: false,
        propagation: 'PROPAGATION_PRIVATE',
      },
    ]);
  });
});
