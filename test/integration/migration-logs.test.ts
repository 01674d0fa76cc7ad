import { execFileSync } from 'child_process';
import crypto from 'crypto';
import fs from 'fs';
import os from 'os';
import path from 'path';
import type Dockerode from 'dockerode';
import { PrivateEngine } from '../support/private-engine';
import { startShim, type TestShim } from '../support/shim';
import { lines, outputDone, records, waitFor } from './logs-support';

/**
 * A node moving off cri-dockerd (or dockershim) with its pods running. cri-dockerd leaves, per
 * container, the kubelet's log path as a symlink to Docker's own `<id>-json.log` (made at
 * StartContainer), and per pod a checkpoint file under its root (`/var/lib/cri-dockerd/sandbox/<id>`);
 * dockershim's log paths are gone after a reboot. docker-cri must never write through such a link
 * (Docker's json-file would get foreign lines, and `docker logs` would stop at the first of them); it
 * replaces the link with a CRI-format file holding the whole output, in one rename, and goes on.
 *
 * On a private engine: every docker-cri running on the shared engine would adopt these containers
 * too (whichever takes the pump lock first).
 */

jest.setTimeout(300_000);
const engine = new PrivateEngine();
let api: Dockerode;
let shim: TestShim | undefined;
let dir: string;

beforeAll(async () => {
  await engine.start();
  const shared = process.env.DOCKER_HOST as string;
  engine.copyImageFrom(shared, 'busybox:latest');
  engine.copyImageFrom(shared, 'registry.k8s.io/pause:3.10');
  api = engine.api();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-migration-'));
});
afterAll(async () => {
  await shim?.stop();
  await engine.destroy();
  fs.rmSync(dir, { recursive: true, force: true });
});

interface Legacy {
  id: string;
  logPath: string;
}

const uid = crypto.randomUUID();
const podName = `legacy-${uid.slice(0, 8)}`;
const ns = 'dcri-test';
const kubeletLabels = {
  'io.kubernetes.pod.name': podName,
  'io.kubernetes.pod.namespace': ns,
  'io.kubernetes.pod.uid': uid,
};

/** A pause container as cri-dockerd makes it, and its checkpoint file. */
async function legacyPod(criDockerdRoot: string): Promise<string> {
  const pause = await api.createContainer({
    name: `k8s_POD_${podName}_${ns}_${uid}_0`,
    Image: 'registry.k8s.io/pause:3.10',
    Labels: {
      ...kubeletLabels,
      'io.kubernetes.docker.type': 'podsandbox',
      'io.kubernetes.container.name': 'POD',
      'annotation.kubernetes.io/config.source': 'api',
    },
    HostConfig: { IpcMode: 'shareable', NetworkMode: 'none', RestartPolicy: { Name: 'no' } },
  });
  await pause.start();
  fs.mkdirSync(path.join(criDockerdRoot, 'sandbox'), { recursive: true });
  // cri-dockerd's PodSandboxCheckpoint (schema v1): pod name and namespace, port mappings, host network.
  fs.writeFileSync(
    path.join(criDockerdRoot, 'sandbox', pause.id),
    JSON.stringify({ version: 'v1', name: podName, namespace: ns, data: {}, checksum: 1234567890 }),
  );
  return pause.id;
}

/** A container as cri-dockerd makes and starts it: its labels and name, the log path linked to the json-file. */
async function legacyContainer(
  sandboxId: string,
  name: string,
  script: string,
  logDir: string,
  link: boolean,
): Promise<Legacy> {
  const logPath = path.join(logDir, name, '0.log');
  fs.mkdirSync(path.dirname(logPath), { recursive: true });
  const c = await api.createContainer({
    name: `k8s_${name}_${podName}_${ns}_${uid}_0`,
    Image: 'busybox:latest',
    Cmd: ['sh', '-c', script],
    Labels: {
      ...kubeletLabels,
      'io.kubernetes.container.name': name,
      'io.kubernetes.docker.type': 'container',
      'io.kubernetes.sandbox.id': sandboxId,
      'io.kubernetes.container.logpath': logPath,
      'annotation.io.kubernetes.container.restartCount': '0',
      'annotation.io.kubernetes.container.terminationMessagePath': '/dev/termination-log',
    },
    HostConfig: {
      NetworkMode: `container:${sandboxId}`,
      IpcMode: `container:${sandboxId}`,
      LogConfig: { Type: 'json-file', Config: {} },
    },
  });
  await c.start();
  if (link) fs.symlinkSync((await c.inspect()).LogPath, logPath);
  return { id: c.id, logPath };
}

const numbered = (n: number): string[] => Array.from({ length: n }, (_, i) => `line-${i}`);

/** Every line of Docker's own json-file for the container must be one of Docker's records. */
function dockerRecords(jsonFile: string): string[] {
  const out: string[] = [];
  for (const l of fs.readFileSync(jsonFile, 'utf8').split('\n')) {
    if (l === '') continue;
    const rec = JSON.parse(l) as { log: string; stream: string; time: string };
    expect(Object.keys(rec).sort()).toEqual(['log', 'stream', 'time']);
    out.push(rec.log.replace(/\n$/, ''));
  }
  return out;
}

function dockerLogs(id: string): string[] {
  const out = execFileSync('/usr/bin/docker', ['-H', engine.endpoint, 'logs', id], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l !== '');
}

describe('log files left by cri-dockerd and dockershim', () => {
  it('are replaced, in one rename, by CRI files with every line once; Docker’s json-file is untouched', async () => {
    const criDockerdRoot = path.join(dir, 'cri-dockerd');
    const logDir = path.join(dir, 'pods', `${ns}_${podName}_${uid}`);
    const sandboxId = await legacyPod(criDockerdRoot);
    const checkpoint = fs.readFileSync(path.join(criDockerdRoot, 'sandbox', sandboxId), 'utf8');

    const total = 3000;
    const running = await legacyContainer(
      sandboxId,
      'app',
      `i=0; while [ $i -lt ${total} ]; do echo line-$i; i=$((i+1)); usleep 2000; done`,
      logDir,
      true,
    );
    // Already exited before the switch: `kubectl logs --previous` must keep working.
    const exited = await legacyContainer(
      sandboxId,
      'init',
      'i=0; while [ $i -lt 500 ]; do echo line-$i; i=$((i+1)); done',
      logDir,
      true,
    );
    // dockershim after a reboot: the label names a path that is not there.
    const missing = await legacyContainer(
      sandboxId,
      'old',
      'echo line-0; echo line-1; echo line-2',
      logDir,
      false,
    );
    await api.getContainer(exited.id).wait();
    await api.getContainer(missing.id).wait();
    const runningJson = (await api.getContainer(running.id).inspect()).LogPath;
    await waitFor('output before the switch', () => dockerRecords(runningJson).length >= 200);
    const before = dockerRecords(runningJson).length;

    shim = await startShim({ dockerEndpoint: engine.endpoint });
    // A reader looking at the path all along sees the link, then a file with everything so far.
    let firstFile: string[] | undefined;
    await waitFor(
      'the link replaced',
      () => {
        const st = fs.lstatSync(running.logPath);
        if (st.isSymbolicLink()) return false;
        firstFile = lines(records(running.logPath));
        return true;
      },
      60_000,
    );
    expect(firstFile!.length).toBeGreaterThanOrEqual(before);
    expect(firstFile).toEqual(numbered(firstFile!.length));

    const root = shim.config.rootDirectory;
    await waitFor(
      'all output written',
      () => [running, exited, missing].every((c) => outputDone(root, c.id)),
      120_000,
    );

    for (const [c, n] of [
      [running, total],
      [exited, 500],
      [missing, 3],
    ] as const) {
      const st = fs.lstatSync(c.logPath);
      expect({ id: c.id, regular: st.isFile() }).toEqual({ id: c.id, regular: true });
      expect(lines(records(c.logPath))).toEqual(numbered(n));
      const jsonFile = (await api.getContainer(c.id).inspect()).LogPath;
      expect(dockerRecords(jsonFile)).toEqual(numbered(n));
      expect(dockerLogs(c.id)).toEqual(numbered(n));
      const status = await shim.client.rt<{ status: { log_path: string } }>('ContainerStatus', {
        container_id: c.id,
      });
      expect(status.status.log_path).toBe(c.logPath);
    }
    // No temp file left beside the logs, and cri-dockerd's checkpoint as it was.
    for (const c of [running, exited, missing])
      expect(fs.readdirSync(path.dirname(c.logPath))).toEqual(['0.log']);
    expect(fs.readFileSync(path.join(criDockerdRoot, 'sandbox', sandboxId), 'utf8')).toBe(checkpoint);
  });
});
