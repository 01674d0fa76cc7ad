import type { ContainerInspectInfo } from 'dockerode';
import { criState, parseProcStatusIds, toContainerStatus } from '../../src/translate/container-status';
import { listContainers } from '../../src/translate/container-list';
import type { IndexedContainer } from '../../src/docker/container-index';
import { decoded } from './container-fixtures';
import type { ContainerFilter__Output } from '../../src/generated/runtime/v1/ContainerFilter';

const ID = 'd'.repeat(64);
const SB = 'e'.repeat(64);
const ZERO = '0001-01-01T00:00:00Z';

function inspect(state: Partial<ContainerInspectInfo['State']>, extra: Partial<ContainerInspectInfo> = {}) {
  return {
    Id: ID,
    Name: '/k8s_app_pod_ns_uid_2',
    Created: '2024-05-01T10:00:00.123456789Z',
    Image: 'sha256:' + 'b'.repeat(64),
    State: {
      Status: 'exited',
      Running: false,
      Paused: false,
      Restarting: false,
      OOMKilled: false,
      Dead: false,
      Pid: 0,
      ExitCode: 0,
      Error: '',
      StartedAt: '2024-05-01T10:00:01.5Z',
      FinishedAt: '2024-05-01T10:00:02Z',
      ...state,
    },
    Config: {
      Image: 'sha256:' + 'b'.repeat(64),
      Labels: {
        'io.kubernetes.docker.type': 'container',
        'io.kubernetes.sandbox.id': SB,
        'io.kubernetes.container.logpath': '/logs/app/2.log',
        'io.docker-cri.image': 'busybox:latest',
        'io.docker-cri.image.ref': 'busybox@sha256:' + 'c'.repeat(64),
        app: 'web',
        'annotation.io.kubernetes.container.terminationMessagePath': '/dev/termination-log',
      },
    },
    HostConfig: { Memory: 1024, CpuShares: 2 },
    Mounts: [
      {
        Type: 'bind',
        Source: '/h/term',
        Destination: '/dev/termination-log',
        Mode: '',
        RW: true,
        Propagation: 'rprivate',
      },
    ],
    ...extra,
  } as unknown as ContainerInspectInfo;
}

describe('inspect → ContainerStatus', () => {
  it('reports a completed container with times, image, labels and log path', () => {
    const s = toContainerStatus(inspect({}));
    expect(s).toMatchObject({
      id: ID,
      metadata: { name: 'app', attempt: 2 },
      state: 'CONTAINER_EXITED',
      created_at: '1714557600123456789',
      started_at: '1714557601500000000',
      finished_at: '1714557602000000000',
      exit_code: 0,
      reason: 'Completed',
      message: '',
      image: { image: 'busybox:latest' },
      image_ref: 'busybox@sha256:' + 'c'.repeat(64),
      image_id: 'sha256:' + 'b'.repeat(64),
      labels: { app: 'web' },
      annotations: { 'io.kubernetes.container.terminationMessagePath': '/dev/termination-log' },
      log_path: '/logs/app/2.log',
      mounts: [{ container_path: '/dev/termination-log', host_path: '/h/term' }],
      resources: { linux: { memory_limit_in_bytes: '1024', cpu_shares: '2' } },
    });
  });

  it("gives Error and OOMKilled; the message is Docker's error, never the termination message file", () => {
    expect(toContainerStatus(inspect({ ExitCode: 3 })).reason).toBe('Error');
    const oom = toContainerStatus(inspect({ ExitCode: 137, OOMKilled: true }));
    expect([oom.reason, oom.exit_code, oom.message]).toEqual(['OOMKilled', 137, '']);
    // The kubelet reads the file through the mount and appends it to this message itself.
    expect(oom.mounts).toContainEqual(
      expect.objectContaining({ container_path: '/dev/termination-log', host_path: '/h/term' }),
    );
  });

  it('reports a container whose start failed as exited with ContainerCannotRun', () => {
    const s = toContainerStatus(
      inspect({
        Status: 'created',
        ExitCode: 127,
        Error: 'exec: "nope": not found',
        StartedAt: ZERO,
        FinishedAt: ZERO,
      }),
    );
    expect(s).toMatchObject({
      state: 'CONTAINER_EXITED',
      reason: 'ContainerCannotRun',
      message: 'exec: "nope": not found',
      exit_code: 127,
      started_at: '0',
      finished_at: '1714557600123456789',
    });
  });

  it('reports running and created containers without reason or finish time', () => {
    const running = toContainerStatus(inspect({ Status: 'running', Running: true, FinishedAt: ZERO }), {
      user: { uid: 1000, gid: 2000, groups: [2000, 3000] },
    });
    expect(running).toMatchObject({ state: 'CONTAINER_RUNNING', reason: '', finished_at: '0', exit_code: 0 });
    expect(running.user).toEqual({
      linux: { uid: '1000', gid: '2000', supplemental_groups: ['2000', '3000'] },
    });
    const created = toContainerStatus(inspect({ Status: 'created', StartedAt: ZERO, FinishedAt: ZERO }));
    expect(created).toMatchObject({ state: 'CONTAINER_CREATED', reason: '', started_at: '0' });
  });

  it('falls back to the dockershim name for metadata', () => {
    const s = toContainerStatus(inspect({}, { Name: '/k8s_web_pod_ns_uid_7_abcd1234' }));
    expect(s.metadata).toEqual({ name: 'web', attempt: 7 });
  });

  it('maps Docker states', () => {
    expect(
      ['created', 'running', 'paused', 'restarting', 'exited', 'dead', 'removing'].map(criState),
    ).toEqual([
      'CONTAINER_CREATED',
      'CONTAINER_RUNNING',
      'CONTAINER_RUNNING',
      'CONTAINER_RUNNING',
      'CONTAINER_EXITED',
      'CONTAINER_EXITED',
      'CONTAINER_UNKNOWN',
    ]);
  });

  it('parses ids from /proc/<pid>/status', () => {
    const text =
      'Name:\tsh\nUid:\t1000\t1000\t1000\t1000\nGid:\t2000\t2000\t2000\t2000\nGroups:\t2000 3000 \n';
    expect(parseProcStatusIds(text)).toEqual({ uid: 1000, gid: 2000, groups: [2000, 3000] });
    expect(parseProcStatusIds('Groups:\t\n')).toBeUndefined();
  });
});

describe('ListContainers from the index', () => {
  const entry = (
    id: string,
    sb: string,
    state: string,
    labels: Record<string, string> = {},
  ): IndexedContainer => ({
    id,
    name: `k8s_c${id[0]}_pod_ns_uid_0`,
    labels: { 'io.kubernetes.docker.type': 'container', 'io.kubernetes.sandbox.id': sb, ...labels },
    state,
    created: 1714557600,
    image: 'busybox:latest',
    imageId: 'sha256:' + 'b'.repeat(64),
  });
  const all: IndexedContainer[] = [
    entry('1'.repeat(64), SB, 'running', { app: 'a' }),
    entry('2'.repeat(64), SB, 'exited', { app: 'b' }),
    entry('3'.repeat(64), 'f'.repeat(64), 'created', { app: 'a' }),
    { ...entry('4'.repeat(64), SB, 'running'), labels: { 'io.kubernetes.docker.type': 'podsandbox' } },
  ];
  const filter = (obj: object | null) =>
    obj ? decoded<ContainerFilter__Output>('ContainerFilter', obj) : null;
  const ids = (f: object | null) => listContainers(all, filter(f)).map((c) => c.id![0]);

  it('lists containers only, with their CRI fields', () => {
    expect(ids(null)).toEqual(['1', '2', '3']);
    expect(listContainers(all, null)[0]).toMatchObject({
      id: '1'.repeat(64),
      pod_sandbox_id: SB,
      metadata: { name: 'c1', attempt: 0 },
      state: 'CONTAINER_RUNNING',
      created_at: '1714557600000000000',
      labels: { app: 'a' },
      image: { image: 'busybox:latest' },
      image_ref: 'sha256:' + 'b'.repeat(64),
    });
  });

  it('filters by id or prefix, sandbox id or prefix, state and labels', () => {
    expect(ids({ id: '2'.repeat(64) })).toEqual(['2']);
    expect(ids({ id: '222' })).toEqual(['2']);
    expect(ids({ pod_sandbox_id: 'fff' })).toEqual(['3']);
    expect(ids({ pod_sandbox_id: SB })).toEqual(['1', '2']);
    expect(ids({ state: { state: 'CONTAINER_EXITED' } })).toEqual(['2']);
    expect(ids({ state: { state: 'CONTAINER_CREATED' } })).toEqual(['3']);
    expect(ids({ label_selector: { app: 'a' } })).toEqual(['1', '3']);
    expect(ids({ label_selector: { app: 'a' }, pod_sandbox_id: SB })).toEqual(['1']);
    expect(ids({ id: '9' })).toEqual([]);
  });
});
