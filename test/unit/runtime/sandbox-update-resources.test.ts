import fs from 'fs';
import os from 'os';
import path from 'path';
import { status } from '@grpc/grpc-js';
import type { PodSandboxStatusRequest__Output } from '../../../src/generated/runtime/v1/PodSandboxStatusRequest';
import type { RemovePodSandboxRequest__Output } from '../../../src/generated/runtime/v1/RemovePodSandboxRequest';
import type { UpdatePodSandboxResourcesRequest__Output } from '../../../src/generated/runtime/v1/UpdatePodSandboxResourcesRequest';
import { removePodSandbox } from '../../../src/runtime/sandbox-remove';
import { podSandboxStatus } from '../../../src/runtime/sandbox-status';
import { updatePodSandboxResources } from '../../../src/runtime/sandbox-update-resources';
import { callContext, criRequest, failure, fakeDeps, type FakeWorld } from '../../support/fake-deps';
import { dockerError, dockerTimeout } from '../../support/fake-engine';
import { runningContainer, runSandbox, withImages } from '../../support/cri-fixtures';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-pod-resources-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A fake world whose records go to a root directory of its own. */
const world = () => withImages(fakeDeps({ rootDirectory: fs.mkdtempSync(path.join(tmp, 'root-')) }));
const recordFile = (w: FakeWorld, id: string) =>
  path.join(w.deps.config.rootDirectory, 'pod-resources', `${id}.json`);

const RESOURCES = { cpu_period: 100000, cpu_quota: 50000, cpu_shares: 512, memory_limit_in_bytes: 268435456 };

const update = (w: FakeWorld, fields: Record<string, unknown>) =>
  updatePodSandboxResources(w.deps)(
    criRequest<UpdatePodSandboxResourcesRequest__Output>('UpdatePodSandboxResourcesRequest', fields),
    callContext(),
  );

async function verboseInfo(w: FakeWorld, id: string): Promise<Record<string, string>> {
  const res = await podSandboxStatus(w.deps)(
    criRequest<PodSandboxStatusRequest__Output>('PodSandboxStatusRequest', {
      pod_sandbox_id: id,
      verbose: true,
    }),
    callContext(),
  );
  return res.info ?? {};
}

describe('UpdatePodSandboxResources', () => {
  it('records the resources and overhead, which the verbose PodSandboxStatus reports', async () => {
    const w = world();
    const sandboxId = await runSandbox(w);
    await expect(
      update(w, { pod_sandbox_id: sandboxId, resources: RESOURCES, overhead: { cpu_shares: 10 } }),
    ).resolves.toEqual({});
    const recorded = JSON.parse((await verboseInfo(w, sandboxId)).podResources);
    expect(recorded.resources).toMatchObject({
      cpu_quota: '50000',
      cpu_shares: '512',
      memory_limit_in_bytes: '268435456',
    });
    expect(recorded.overhead).toMatchObject({ cpu_shares: '10' });
    expect(recorded.updatedAt).toMatch(/^\d{19}$/);
    // Docker has no pod object: nothing in the engine changes.
    expect(w.fake.count('container.update')).toBe(0);
  });

  it('keeps only the latest record, under the full id when given a prefix', async () => {
    const w = world();
    const sandboxId = await runSandbox(w);
    await update(w, { pod_sandbox_id: sandboxId.slice(0, 12), resources: RESOURCES });
    await update(w, { pod_sandbox_id: sandboxId, resources: { ...RESOURCES, cpu_quota: 20000 } });
    expect(JSON.parse(fs.readFileSync(recordFile(w, sandboxId), 'utf8')).resources.cpu_quota).toBe('20000');
    expect(fs.readdirSync(path.dirname(recordFile(w, sandboxId)))).toEqual([`${sandboxId}.json`]);
  });

  it('a pod never resized has no podResources in its verbose status', async () => {
    const w = world();
    const sandboxId = await runSandbox(w);
    expect(await verboseInfo(w, sandboxId)).not.toHaveProperty('podResources');
  });

  it('RemovePodSandbox removes the record', async () => {
    const w = world();
    const sandboxId = await runSandbox(w);
    await update(w, { pod_sandbox_id: sandboxId, resources: RESOURCES });
    expect(fs.existsSync(recordFile(w, sandboxId))).toBe(true);
    await removePodSandbox(w.deps)(
      criRequest<RemovePodSandboxRequest__Output>('RemovePodSandboxRequest', { pod_sandbox_id: sandboxId }),
      callContext(),
    );
    expect(fs.existsSync(recordFile(w, sandboxId))).toBe(false);
  });

  it('drops records of pods that are gone when it records another', async () => {
    const w = world();
    const kept = await runSandbox(w);
    const stale = 'e'.repeat(64);
    fs.mkdirSync(path.dirname(recordFile(w, stale)), { recursive: true });
    fs.writeFileSync(recordFile(w, stale), '{}');
    await update(w, { pod_sandbox_id: kept, resources: RESOURCES });
    expect(fs.existsSync(recordFile(w, stale))).toBe(false);
    expect(fs.existsSync(recordFile(w, kept))).toBe(true);
  });

  it.each([
    ['no pod_sandbox_id', { resources: RESOURCES }, 'pod_sandbox_id is empty'],
    ['no resources', { pod_sandbox_id: 'POD' }, 'resources is required'],
    [
      'a negative cpu_shares',
      { pod_sandbox_id: 'POD', resources: { cpu_shares: -1 } },
      'resources.cpu_shares must not be negative',
    ],
    [
      'a negative memory limit',
      { pod_sandbox_id: 'POD', resources: { memory_limit_in_bytes: -5 } },
      'resources.memory_limit_in_bytes must not be negative',
    ],
    [
      'an oom_score_adj out of range',
      { pod_sandbox_id: 'POD', resources: { oom_score_adj: 1001 } },
      'resources.oom_score_adj must be within -1000..1000',
    ],
    [
      'a bad cpuset',
      { pod_sandbox_id: 'POD', resources: { cpuset_cpus: 'all' } },
      'resources.cpuset_cpus "all"',
    ],
    [
      'a bad overhead',
      { pod_sandbox_id: 'POD', resources: RESOURCES, overhead: { cpu_period: -1 } },
      'overhead.cpu_period must not be negative',
    ],
    // 'POD' stands for the pod each case runs, so that only the field named is wrong.
  ])('INVALID_ARGUMENT for %s, naming the field; nothing recorded', async (_what, fields, message) => {
    const w = world();
    const sandboxId = await runSandbox(w);
    const f = await failure(
      update(w, { ...fields, ...('pod_sandbox_id' in fields ? { pod_sandbox_id: sandboxId } : {}) }),
    );
    expect(f.code).toBe(status.INVALID_ARGUMENT);
    expect(f.message).toContain(message);
    expect(fs.existsSync(recordFile(w, sandboxId))).toBe(false);
  });

  it.each([
    ['an unknown id', () => 'a'.repeat(64)],
    ['an id that is not hex', () => 'no-such-pod'],
  ])('NOT_FOUND for %s, naming it', async (_what, id) => {
    const w = world();
    const f = await failure(update(w, { pod_sandbox_id: id(), resources: RESOURCES }));
    expect(f.code).toBe(status.NOT_FOUND);
    expect(f.message).toContain(id());
    expect(fs.existsSync(path.join(w.deps.config.rootDirectory, 'pod-resources'))).toBe(false);
  });

  it('NOT_FOUND for a workload container’s id', async () => {
    const w = world();
    const { id } = await runningContainer(w);
    const f = await failure(update(w, { pod_sandbox_id: id, resources: RESOURCES }));
    expect(f.code).toBe(status.NOT_FOUND);
  });

  it.each([
    ['engine error', dockerError(500, 'boom'), status.INTERNAL],
    ['deadline', dockerTimeout(), status.DEADLINE_EXCEEDED],
  ])('inspect: %s → its gRPC code', async (_what, err, code) => {
    const w = world();
    const sandboxId = await runSandbox(w);
    w.fake.fail('container.inspect', err);
    expect((await failure(update(w, { pod_sandbox_id: sandboxId, resources: RESOURCES }))).code).toBe(code);
  });
});
