import { execFileSync } from 'child_process';
import { startShim, type TestShim } from '../support/shim';
import { podConfig, removeTestPods, testDocker, TEST_OWNER } from '../support/pod-config';

// jest 30 ignores the project-level testTimeout in jest.config.js; Docker work needs more than 5 s.
jest.setTimeout(300_000);

const REG = process.env.DCRI_TEST_REGISTRY as string;

/** The pause image is pulled when absent, and built offline from shims/pause when it cannot be. */
describe('pause image', () => {
  const docker = testDocker();
  const images: string[] = [];
  let shim: TestShim | undefined;

  afterEach(async () => {
    if (shim) {
      await removeTestPods(shim.client);
      await shim.stop();
      shim = undefined;
    }
  });
  afterAll(async () => {
    for (const ref of images) {
      await docker
        .getImage(ref)
        .remove({ force: true })
        .catch(() => undefined);
    }
  });

  async function runPod(): Promise<string> {
    const res = await shim!.client.rt<{ pod_sandbox_id: string }>('RunPodSandbox', {
      config: podConfig('pause'),
    });
    const st = await shim!.client.rt<{ status: { state: string } }>('PodSandboxStatus', {
      pod_sandbox_id: res.pod_sandbox_id,
    });
    expect(st.status.state).toBe('SANDBOX_READY');
    return res.pod_sandbox_id;
  }

  it('builds it from shims/pause when the configured registry is unreachable, and tags it', async () => {
    // Port 1 on loopback: nothing listens, so the pull is refused at once.
    const image = `127.0.0.1:1/dcri-pause-${TEST_OWNER}:offline`;
    images.push(image);
    await expect(docker.getImage(image).inspect()).rejects.toMatchObject({ statusCode: 404 });
    shim = await startShim({ podInfraContainerImage: image });
    const id = await runPod();
    const img = await docker.getImage(image).inspect();
    expect(img.RepoTags).toContain(image);
    expect(img.Config.Entrypoint).toEqual(['/pause']);
    expect(img.Config.Labels?.['io.docker-cri.built-from']).toBe('shims/pause');
    expect((await docker.getContainer(id).inspect()).Config.Image).toBe(image);
    // A second pod reuses the built image.
    await runPod();
  });

  it('pulls it when the registry has it', async () => {
    const image = `${REG}/dcri-pause-${TEST_OWNER}:pulled`;
    images.push(image);
    await docker
      .getImage('registry.k8s.io/pause:3.10')
      .tag({ repo: image.split(':').slice(0, -1).join(':'), tag: 'pulled' });
    execFileSync('docker', ['push', image], { stdio: 'ignore' });
    await docker.getImage(image).remove();
    shim = await startShim({ podInfraContainerImage: image });
    await runPod();
    const img = await docker.getImage(image).inspect();
    expect(img.RepoDigests.some((d) => d.startsWith(`${REG}/dcri-pause-${TEST_OWNER}@sha256:`))).toBe(true);
    expect(img.Config.Labels?.['io.docker-cri.built-from']).toBeUndefined();
  });
});
