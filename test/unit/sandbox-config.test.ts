import type { PodSandboxConfig__Output } from '../../src/generated/runtime/v1/PodSandboxConfig';
import {
  cgroupParentFor,
  portBindings,
  sandboxCreateOptions,
  SandboxConfigError,
  seccompProfilePath,
  validateSandboxConfig,
  type SandboxCreateInput,
} from '../../src/translate/sandbox-config';

/** A config as grpc-js hands it to us (every field present, defaults filled). */
function cfg(over: Partial<PodSandboxConfig__Output> = {}): PodSandboxConfig__Output {
  return {
    metadata: { name: 'web', namespace: 'prod', uid: 'u-1', attempt: 2 },
    hostname: '',
    log_directory: '/var/log/pods/prod_web_u-1',
    dns_config: null,
    port_mappings: [],
    labels: { app: 'web' },
    annotations: { 'k/a': 'v' },
    linux: null,
    windows: null,
    ...over,
  };
}

function secCtx(over: Record<string, unknown> = {}) {
  return {
    cgroup_parent: '',
    sysctls: {},
    overhead: null,
    resources: null,
    security_context: {
      namespace_options: null,
      selinux_options: null,
      run_as_user: null,
      readonly_rootfs: false,
      supplemental_groups: [],
      privileged: false,
      seccomp_profile_path: '',
      run_as_group: null,
      seccomp: null,
      apparmor: null,
      supplemental_groups_policy: 'Merge',
      ...over,
    },
  } as unknown as NonNullable<PodSandboxConfig__Output['linux']>;
}

function opts(config: PodSandboxConfig__Output, over: Partial<SandboxCreateInput> = {}) {
  return sandboxCreateOptions({
    config,
    runtimeHandler: '',
    pauseImage: 'registry.k8s.io/pause:3.10',
    cgroupDriver: 'cgroupfs',
    podNetworkMode: 'bridge',
    networkPlugin: 'docker',
    oomScoreAdj: -998,
    createdAtNanos: '1700000000123456789',
    ...over,
  });
}

describe('validateSandboxConfig', () => {
  it.each([
    [null, /^config is required/],
    [cfg({ metadata: null }), /config\.metadata is required/],
    [
      cfg({ metadata: { name: '', namespace: 'n', uid: 'u', attempt: 0 } }),
      /config\.metadata\.name is empty/,
    ],
    [cfg({ metadata: { name: 'a', namespace: '', uid: 'u', attempt: 0 } }), /metadata\.namespace is empty/],
    [cfg({ metadata: { name: 'a', namespace: 'n', uid: '', attempt: 0 } }), /metadata\.uid is empty/],
    [cfg({ metadata: { name: 'a_b', namespace: 'n', uid: 'u', attempt: 0 } }), /metadata\.name "a_b"/],
    [cfg({ hostname: 'bad host' }), /config\.hostname/],
    [
      cfg({ port_mappings: [{ protocol: 'TCP', container_port: 0, host_port: 80, host_ip: '' }] }),
      /port_mappings\[0\]\.container_port/,
    ],
    [
      cfg({ port_mappings: [{ protocol: 'TCP', container_port: 80, host_port: 70000, host_ip: '' }] }),
      /port_mappings\[0\]\.host_port/,
    ],
    [cfg({ dns_config: { servers: ['not-an-ip'], searches: [], options: [] } }), /dns_config\.servers\[0\]/],
    [
      cfg({
        linux: secCtx({ namespace_options: { network: 'TARGET', pid: 'POD', ipc: 'POD', target_id: '' } }),
      }),
      /namespace_options\.network TARGET/,
    ],
    [
      cfg({
        linux: secCtx({
          namespace_options: {
            network: 'POD',
            pid: 'POD',
            ipc: 'POD',
            target_id: '',
            userns_options: { mode: 'POD', uids: [], gids: [] },
          },
        }),
      }),
      /userns_options\.mode POD/,
    ],
    [cfg({ linux: secCtx({ supplemental_groups: ['x'] }) }), /supplemental_groups\[0\]/],
  ])('refuses %#', (config, message) => {
    expect(() => validateSandboxConfig(config as PodSandboxConfig__Output)).toThrow(SandboxConfigError);
    expect(() => validateSandboxConfig(config as PodSandboxConfig__Output)).toThrow(message);
  });

  it('accepts a kubelet-like config', () => {
    const c = cfg({ hostname: 'web-0', linux: secCtx() });
    expect(validateSandboxConfig(c)).toBe(c);
  });
});

describe('sandboxCreateOptions', () => {
  it('writes dockershim name and labels plus ours, and the pause-container basics', () => {
    const o = opts(cfg({ hostname: 'web-0' }));
    expect(o.name).toBe('k8s_POD_web_prod_u-1_2');
    expect(o.Image).toBe('registry.k8s.io/pause:3.10');
    expect(o.Hostname).toBe('web-0');
    expect(o.Healthcheck).toEqual({ Test: ['NONE'] });
    expect(o.Labels).toMatchObject({
      app: 'web',
      'annotation.k/a': 'v',
      'io.kubernetes.docker.type': 'podsandbox',
      'io.kubernetes.container.name': 'POD',
      'io.docker-cri.created-at': '1700000000123456789',
      'io.docker-cri.runtime-handler': '',
      'io.docker-cri.log-directory': '/var/log/pods/prod_web_u-1',
      'io.docker-cri.network-plugin': 'docker',
    });
    expect(JSON.parse(o.Labels!['io.docker-cri.metadata'])).toEqual({
      name: 'web',
      namespace: 'prod',
      uid: 'u-1',
      attempt: 2,
    });
    expect(JSON.parse(o.Labels!['io.docker-cri.namespace-options'])).toEqual({
      network: 'POD',
      pid: 'POD',
      ipc: 'POD',
      target_id: '',
    });
    expect(o.HostConfig).toMatchObject({
      NetworkMode: 'bridge',
      IpcMode: 'shareable',
      PidMode: '',
      RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
      OomScoreAdj: -998,
    });
    expect(o.HostConfig!.Runtime).toBeUndefined();
    expect(o.HostConfig!.Dns).toBeUndefined();
  });

  it('maps NODE namespaces to the host and drops port bindings with host networking', () => {
    const o = opts(
      cfg({
        port_mappings: [{ protocol: 'TCP', container_port: 80, host_port: 8080, host_ip: '' }],
        linux: secCtx({ namespace_options: { network: 'NODE', pid: 'NODE', ipc: 'NODE', target_id: '' } }),
      }),
    );
    expect(o.HostConfig).toMatchObject({ NetworkMode: 'host', PidMode: 'host', IpcMode: 'host' });
    expect(o.HostConfig!.PortBindings).toBeUndefined();
    expect(o.Labels!['io.docker-cri.network-plugin']).toBe('host');
  });

  it('uses the network plugin mode for a pod network', () => {
    expect(opts(cfg(), { podNetworkMode: 'none', networkPlugin: 'cni' }).HostConfig!.NetworkMode).toBe(
      'none',
    );
  });

  it('passes DNS so Docker writes no host values, runtime handler, sysctls and cgroup parent', () => {
    const o = opts(
      cfg({
        dns_config: { servers: ['10.0.0.10'], searches: [], options: [] },
        linux: { ...secCtx(), sysctls: { 'net.core.somaxconn': '1024' }, cgroup_parent: '/kubepods/pod1' },
      }),
      { runtimeHandler: 'runc' },
    );
    expect(o.HostConfig).toMatchObject({
      Dns: ['10.0.0.10'],
      DnsSearch: ['.'],
      Runtime: 'runc',
      Sysctls: { 'net.core.somaxconn': '1024' },
      CgroupParent: '/kubepods/pod1',
    });
    expect(o.HostConfig!.DnsOptions).toBeUndefined();
    expect(o.Labels!['io.docker-cri.runtime-handler']).toBe('runc');
  });

  it('translates the security context', () => {
    const o = opts(
      cfg({
        linux: secCtx({
          run_as_user: { value: '1000' },
          run_as_group: { value: '2000' },
          supplemental_groups: ['3000', '4000'],
          readonly_rootfs: true,
          privileged: true,
          seccomp: { profile_type: 'Unconfined', localhost_ref: '' },
          apparmor: { profile_type: 'Localhost', localhost_ref: 'k8s-pause' },
          selinux_options: { user: 'u', role: 'r', type: 't', level: 's0:c1,c2' },
        }),
      }),
    );
    expect(o.User).toBe('1000:2000');
    expect(o.HostConfig).toMatchObject({
      GroupAdd: ['3000', '4000'],
      ReadonlyRootfs: true,
      Privileged: true,
      SecurityOpt: [
        'seccomp=unconfined',
        'apparmor=k8s-pause',
        'label=user:u',
        'label=role:r',
        'label=type:t',
        'label=level:s0:c1,c2',
      ],
    });
  });

  it('inlines a Localhost seccomp profile and leaves RuntimeDefault to the engine', () => {
    const localhost = cfg({
      linux: secCtx({ seccomp: { profile_type: 'Localhost', localhost_ref: '/p.json' } }),
    });
    expect(seccompProfilePath(localhost.linux!.security_context)).toBe('/p.json');
    expect(
      opts(localhost, { seccompProfileJson: '{"defaultAction":"SCMP_ACT_ALLOW"}' }).HostConfig!.SecurityOpt,
    ).toEqual(['seccomp={"defaultAction":"SCMP_ACT_ALLOW"}']);
    expect(() => opts(localhost)).toThrow(/was not read/);
    const dflt = cfg({ linux: secCtx({ seccomp: { profile_type: 'RuntimeDefault', localhost_ref: '' } }) });
    expect(opts(dflt).HostConfig!.SecurityOpt).toBeUndefined();
    // The deprecated path field still works.
    const legacy = cfg({ linux: secCtx({ seccomp_profile_path: 'localhost//etc/p.json' }) });
    expect(seccompProfilePath(legacy.linux!.security_context)).toBe('/etc/p.json');
    const legacyUnconfined = cfg({ linux: secCtx({ seccomp_profile_path: 'unconfined' }) });
    expect(opts(legacyUnconfined).HostConfig!.SecurityOpt).toEqual(['seccomp=unconfined']);
  });

  it('refuses a group without a user', () => {
    expect(() => opts(cfg({ linux: secCtx({ run_as_group: { value: '5' } }) }))).toThrow(/run_as_group/);
  });
});

describe('portBindings', () => {
  it('exposes every mapping and binds those with a host port, per protocol and host IP', () => {
    expect(
      portBindings([
        { protocol: 'TCP', container_port: 80, host_port: 8080, host_ip: '127.0.0.1' },
        { protocol: 'TCP', container_port: 80, host_port: 8081, host_ip: '' },
        { protocol: 'UDP', container_port: 53, host_port: 5353, host_ip: '' },
        { protocol: 'SCTP', container_port: 9, host_port: 9009, host_ip: '::1' },
        { protocol: 'TCP', container_port: 7070, host_port: 0, host_ip: '' },
      ]),
    ).toEqual({
      ExposedPorts: { '80/tcp': {}, '53/udp': {}, '9/sctp': {}, '7070/tcp': {} },
      PortBindings: {
        '80/tcp': [
          { HostIp: '127.0.0.1', HostPort: '8080' },
          { HostIp: '', HostPort: '8081' },
        ],
        '53/udp': [{ HostIp: '', HostPort: '5353' }],
        '9/sctp': [{ HostIp: '::1', HostPort: '9009' }],
      },
    });
  });
});

describe('cgroupParentFor', () => {
  it('passes cgroupfs paths through', () => {
    expect(cgroupParentFor('/kubepods/besteffort/pod123', 'cgroupfs')).toBe('/kubepods/besteffort/pod123');
    expect(cgroupParentFor('', 'systemd')).toBe('');
  });
  it('gives the systemd driver the slice name alone', () => {
    expect(
      cgroupParentFor(
        '/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12_34.slice',
        'systemd',
      ),
    ).toBe('kubepods-besteffort-pod12_34.slice');
    expect(cgroupParentFor('kubepods-pod1.slice', 'systemd')).toBe('kubepods-pod1.slice');
    expect(cgroupParentFor('/kubepods.slice/', 'systemd')).toBe('kubepods.slice');
  });
  it('refuses a non-slice parent with the systemd driver, naming the field', () => {
    expect(() => cgroupParentFor('/kubepods/pod1', 'systemd')).toThrow(/config\.linux\.cgroup_parent/);
  });
});
