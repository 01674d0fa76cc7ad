import fs from 'fs';
import os from 'os';
import path from 'path';
import { BinaryShim } from '../support/binary-shim';
import type { CriClient } from '../support/cri-client';
import { podConfig, sweepWithDocker, testDocker, OWNER_LABEL, TEST_OWNER } from '../support/pod-config';

interface Sandbox {
  id: string;
  state: string;
  labels: Record<string, string>;
}
interface Container {
  id: string;
  pod_sandbox_id: string;
  state: string;
}

/** Creates a pod with one running container; any step may be cut short by the shim dying. */
async function makePod(client: CriClient): Promise<void> {
  const config = podConfig('restart');
  const { pod_sandbox_id } = await client.rt<{ pod_sandbox_id: string }>('RunPodSandbox', { config });
  const { container_id } = await client.rt<{ container_id: string }>('CreateContainer', {
    pod_sandbox_id,
    sandbox_config: config,
    config: {
      metadata: { name: 'app', attempt: 0 },
      image: { image: 'busybox:latest' },
      command: ['sleep', '600'],
      log_path: 'app/0.log',
    },
  });
  await client.rt('StartContainer', { container_id });
}

async function removePod(client: CriClient, id: string): Promise<void> {
  await client.rt('StopPodSandbox', { pod_sandbox_id: id });
  await client.rt('RemovePodSandbox', { pod_sandbox_id: id });
}

describe('kill -9 of the shim in the middle of pod creation and removal', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-restart-'));
  const shim = new BinaryShim(path.join(dir, 'cri.sock'), path.join(dir, 'root'));
  const docker = testDocker();

  afterEach(async () => {
    await shim.signal('SIGKILL');
  });
  afterAll(async () => {
    await shim.signal('SIGKILL');
    await sweepWithDocker();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** What Docker holds of this test's pods: pause containers and the containers naming them. */
  async function dockerView(): Promise<{ sandboxes: Map<string, string>; containers: Map<string, string> }> {
    const pods = await docker.listContainers({
      all: true,
      filters: { label: [`${OWNER_LABEL}=${TEST_OWNER}`] },
    });
    const sandboxes = new Map(pods.map((p) => [p.Id, p.State]));
    const containers = new Map<string, string>();
    for (const id of sandboxes.keys()) {
      const members = await docker.listContainers({
        all: true,
        filters: { label: [`io.kubernetes.sandbox.id=${id}`] },
      });
      for (const m of members) containers.set(m.Id, id);
    }
    return { sandboxes, containers };
  }

  it.each([150, 400, 900])(
    'after a kill at %i ms the node is consistent and fully removable',
    async (killAfterMs) => {
      let client = await shim.start();
      const work = Array.from({ length: 6 }, () => makePod(client).catch(() => undefined));
      await new Promise((r) => setTimeout(r, killAfterMs));
      await shim.signal('SIGKILL');
      await Promise.all(work);

      client = await shim.start();
      // Requests the dead shim had sent may still be finishing inside dockerd: compare until the
      // two views agree (the index follows Docker's events), for at most 15 s.
      let view = await dockerView();
      let sandboxes: Sandbox[] = [];
      let containers: Container[] = [];
      const agree = (): boolean => {
        const ids = new Set(sandboxes.map((s) => s.id));
        if (ids.size !== view.sandboxes.size || [...view.sandboxes.keys()].some((id) => !ids.has(id)))
          return false;
        for (const s of sandboxes) {
          if (s.state !== (view.sandboxes.get(s.id) === 'running' ? 'SANDBOX_READY' : 'SANDBOX_NOTREADY'))
            return false;
        }
        if (containers.length !== view.containers.size) return false;
        return containers.every((c) => view.containers.get(c.id) === c.pod_sandbox_id);
      };
      const until = Date.now() + 15_000;
      for (;;) {
        view = await dockerView();
        sandboxes = (
          await client.rt<{ items: Sandbox[] }>('ListPodSandbox', {
            filter: { label_selector: { [OWNER_LABEL]: TEST_OWNER } },
          })
        ).items;
        containers = (await client.rt<{ containers: Container[] }>('ListContainers', {})).containers.filter(
          (c) => view.sandboxes.has(c.pod_sandbox_id),
        );
        if (agree() || Date.now() > until) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      // Every pause container in Docker is reported, READY exactly when it runs; every container
      // is reported under its own pod.
      expect(new Set(sandboxes.map((s) => s.id))).toEqual(new Set(view.sandboxes.keys()));
      for (const s of sandboxes) {
        expect(s.state).toBe(view.sandboxes.get(s.id) === 'running' ? 'SANDBOX_READY' : 'SANDBOX_NOTREADY');
      }
      expect(new Set(containers.map((c) => c.id))).toEqual(new Set(view.containers.keys()));
      for (const c of containers) expect(c.pod_sandbox_id).toBe(view.containers.get(c.id));

      // RemovePodSandbox of what is reported leaves nothing: no orphans.
      for (const s of sandboxes) await removePod(client, s.id);
      const after = await dockerView();
      expect(after.sandboxes.size).toBe(0);
      expect(after.containers.size).toBe(0);
      for (const id of view.containers.keys()) {
        await expect(docker.getContainer(id).inspect()).rejects.toMatchObject({ statusCode: 404 });
      }

      // And a kill during removal, too.
      for (let i = 0; i < 4; i++) await makePod(client);
      const ids = (
        await client.rt<{ items: Sandbox[] }>('ListPodSandbox', {
          filter: { label_selector: { [OWNER_LABEL]: TEST_OWNER } },
        })
      ).items.map((s) => s.id);
      const removing = ids.map((id) => removePod(client, id).catch(() => undefined));
      await new Promise((r) => setTimeout(r, killAfterMs / 3));
      await shim.signal('SIGKILL');
      await Promise.all(removing);
      client = await shim.start();
      const left = (
        await client.rt<{ items: Sandbox[] }>('ListPodSandbox', {
          filter: { label_selector: { [OWNER_LABEL]: TEST_OWNER } },
        })
      ).items;
      for (const s of left) await removePod(client, s.id);
      const end = await dockerView();
      expect(end.sandboxes.size + end.containers.size).toBe(0);
      await shim.signal('SIGTERM');
    },
  );
});
