/**
 * `npm run e2e`: a real Kubernetes (etcd, kube-apiserver, controller-manager, scheduler, kubelet on
 * its default feature gates) on docker-cri and a private Docker engine, then the workflows a user
 * runs with kubectl, then everything torn down. Prints `e2e: N passed, M failed`.
 *
 * Flags: --two-nodes (a second node in a network namespace of its own), --only=REGEX (workflows
 * whose name matches), --keep-logs (copy the run's logs beside its directory), --then=COMMAND (a
 * shell command run on the cluster after the workflows, KUBECONFIG set, e.g. a node conformance
 * suite; it counts as one more workflow, passing when it exits 0), --images=DIR (image tarballs
 * `docker load`ed into each node's engine before the workflows, for such a suite).
 * --runtime=docker-cri|cri-dockerd|containerd (the CRI runtime under the kubelet; cri-dockerd from
 * DCRI_E2E_CRI_DOCKERD, containerd unpacked in DCRI_E2E_CONTAINERD_DIR and given --images),
 * --kubelet-feature-gates=A=false,B=true, --density (density.ts instead of the workflows),
 * --json=FILE (each workflow's result written there).
 */
import { spawn } from 'child_process';
import fs from 'fs';
import path from 'path';
import { Cluster, cleanHost, readSavedState, RUNTIMES, type Runtime } from './cluster';
import { runDensity } from './density';
import { CheckFailed } from './check';
import { must } from './proc';
import { TWO_NODE_WORKFLOWS } from './two-nodes';
import { WORKFLOWS, type Ctx, type Workflow } from './workflows';

const log = (msg: string): void => console.log(`e2e: ${msg}`);

interface Args {
  nodes: number;
  only: RegExp | undefined;
  keepLogs: boolean;
  then: string | undefined;
  images: string | undefined;
  runtime: Runtime;
  featureGates: Record<string, boolean>;
  density: boolean;
  json: string | undefined;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    nodes: 1,
    only: undefined,
    keepLogs: false,
    then: undefined,
    images: undefined,
    runtime: 'docker-cri',
    featureGates: {},
    density: false,
    json: undefined,
  };
  for (const arg of argv) {
    if (arg === '--two-nodes') a.nodes = 2;
    else if (arg.startsWith('--only=')) a.only = new RegExp(arg.slice('--only='.length), 'i');
    else if (arg === '--keep-logs') a.keepLogs = true;
    else if (arg.startsWith('--then=')) a.then = arg.slice('--then='.length);
    else if (arg.startsWith('--images=')) a.images = arg.slice('--images='.length);
    else if (arg.startsWith('--runtime=')) {
      const r = arg.slice('--runtime='.length) as Runtime;
      if (!RUNTIMES.includes(r)) throw new Error(`--runtime must be one of ${RUNTIMES.join(', ')}, got ${r}`);
      a.runtime = r;
    } else if (arg.startsWith('--kubelet-feature-gates=')) {
      for (const kv of arg.slice('--kubelet-feature-gates='.length).split(',').filter(Boolean)) {
        const [k, v] = kv.split('=');
        if (!k || (v !== 'true' && v !== 'false')) throw new Error(`--kubelet-feature-gates: bad ${kv}`);
        a.featureGates[k] = v === 'true';
      }
    } else if (arg === '--density') a.density = true;
    else if (arg.startsWith('--json=')) a.json = path.resolve(arg.slice('--json='.length));
    else
      throw new Error(
        `unknown argument ${arg} (known: --two-nodes, --only=REGEX, --keep-logs, --then=CMD, --images=DIR, --runtime=NAME, --kubelet-feature-gates=K=V,..., --density, --json=FILE)`,
      );
  }
  return a;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const repo = path.resolve(__dirname, '..', '..', '..');
  const k8sBin = process.env.K8S_BIN ?? '';
  const dir = process.env.DCRI_E2E_DIR ?? '/tmp/docker-cri-e2e';
  const dockerd = process.env.DCRI_E2E_DOCKERD ?? '';
  if (!dockerd && args.runtime !== 'containerd')
    throw new Error('DCRI_E2E_DOCKERD is not set (scripts/e2e.sh sets it)');

  const previous = readSavedState(dir);
  if (previous) {
    log(`cleaning up after an earlier run left ${dir}`);
    await cleanHost(previous, dir, false, log);
  }
  fs.rmSync(dir, { recursive: true, force: true });

  const cluster = new Cluster({
    k8sBin,
    dir,
    repo,
    dockerd,
    nodes: args.nodes,
    log,
    runtime: args.runtime,
    criDockerd: process.env.DCRI_E2E_CRI_DOCKERD,
    containerdDir: process.env.DCRI_E2E_CONTAINERD_DIR,
    images: args.images,
    featureGates: args.featureGates,
  });
  log(
    `runtime ${args.runtime}${Object.keys(args.featureGates).length ? `, kubelet feature gates ${JSON.stringify(args.featureGates)}` : ''}`,
  );
  const results: { name: string; ok: boolean; seconds: number; error?: string }[] = [];
  let tornDown: Promise<string[]> | undefined;
  const teardown = (): Promise<string[]> => {
    if (!tornDown) {
      if (args.keepLogs) {
        const dest = `${dir}-logs`;
        fs.rmSync(dest, { recursive: true, force: true });
        fs.cpSync(path.join(dir, 'logs'), dest, { recursive: true });
        log(`logs kept in ${dest}`);
      }
      tornDown = cluster.down();
    }
    return tornDown;
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      log(`${sig}: tearing down`);
      void teardown().finally(() => {
        console.log('e2e: 0 passed, 1 failed (interrupted)');
        process.exit(130);
      });
    });
  }

  let passed = 0;
  const failed: string[] = [];
  try {
    await cluster.up();
  } catch (err) {
    log(`cluster did not come up: ${(err as Error).message}`);
    failed.push('cluster up');
  }
  if (failed.length === 0) {
    try {
      const ns = 'e2e';
      await cluster.kubectl.apply({
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: ns, labels: { 'docker-cri-e2e': '1' } },
      });
      const work = path.join(dir, 'work');
      fs.mkdirSync(work, { recursive: true });
      const ctx: Ctx = { cluster, k: cluster.kubectl, ns, work };
      // Pods need the namespace's service account and the CA ConfigMaps in their token volume.
      await cluster.kubectl.must([
        'wait',
        '-n',
        ns,
        '--for=create',
        'serviceaccount/default',
        '--timeout=120s',
      ]);
      const all: Workflow[] = [...WORKFLOWS, ...TWO_NODE_WORKFLOWS].filter(
        (w) => (w.nodes ?? 1) <= args.nodes && (!args.only || args.only.test(w.name)),
      );
      if (args.images && args.runtime !== 'containerd') {
        for (const n of cluster.nodes) {
          for (const f of fs.readdirSync(args.images).filter((x) => x.endsWith('.tar'))) {
            await must('/usr/bin/docker', ['-H', n.dockerHost, 'load', '-i', path.join(args.images, f)], {
              timeoutMs: 300_000,
            });
          }
        }
      }
      const then = args.then;
      if (then) {
        all.push({
          name: `--then: ${then}`,
          async run() {
            const code = await new Promise<number>((resolve) => {
              const child = spawn('sh', ['-c', then], {
                stdio: 'inherit',
                env: { ...process.env, KUBECONFIG: cluster.kubeconfig },
              });
              child.on('exit', (c) => resolve(c ?? 1));
            });
            if (code !== 0) throw new CheckFailed(`exited ${code}`);
          },
        });
      }
      if (args.density) {
        all.length = 0;
        const d = await runDensity(cluster, ns, args.runtime, {
          dir,
          repo,
          featureGates: args.featureGates,
          log,
        });
        console.log(d.table);
        log(`density: results in ${d.file}`);
        passed++;
      }
      for (const w of all) {
        const t0 = Date.now();
        try {
          await w.run(ctx);
          passed++;
          results.push({ name: w.name, ok: true, seconds: (Date.now() - t0) / 1000 });
          console.log(`  ok    ${w.name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
        } catch (err) {
          failed.push(w.name);
          const kind = err instanceof CheckFailed ? '' : `${(err as Error).name}: `;
          results.push({
            name: w.name,
            ok: false,
            seconds: (Date.now() - t0) / 1000,
            error: `${kind}${(err as Error).message}`.slice(0, 600),
          });
          console.log(
            `  FAIL  ${w.name} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n        ${kind}${(err as Error).message}`,
          );
        }
      }
    } catch (err) {
      log(`set-up of the workflows failed: ${(err as Error).message}`);
      failed.push('workflow set-up');
    }
  }
  const problems = await teardown();
  for (const p of problems) log(`teardown: ${p}`);
  if (args.json) {
    fs.mkdirSync(path.dirname(args.json), { recursive: true });
    fs.writeFileSync(
      args.json,
      JSON.stringify(
        {
          runtime: args.runtime,
          kubeletFeatureGates: args.featureGates,
          date: new Date().toISOString(),
          passed,
          failed,
          workflows: results,
          teardownProblems: problems,
        },
        null,
        2,
      ) + '\n',
    );
  }
  console.log(`e2e: ${passed} passed, ${failed.length} failed`);
  return failed.length === 0 && problems.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`e2e: ${(err as Error).stack ?? String(err)}`);
    console.log('e2e: 0 passed, 1 failed');
    process.exit(1);
  },
);
