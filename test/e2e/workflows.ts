import { createHash, randomBytes } from 'crypto';
import fs from 'fs';
import path from 'path';
import type { Cluster, NodeHandle } from './cluster';
import { check, contains, eq, httpGet, lines, readIfExists } from './check';
import type { Kubectl } from './kubectl';
import { run, sleep, waitFor } from './proc';

export interface Ctx {
  cluster: Cluster;
  k: Kubectl;
  ns: string;
  /** A directory of the run for files the workflows exchange with pods (hostPath volumes, kubectl cp). */
  work: string;
}

export interface Workflow {
  name: string;
  /** Runs only with at least this many nodes. */
  nodes?: number;
  run(ctx: Ctx): Promise<void>;
}

export const IMAGE = 'busybox:latest';
const FOREVER = ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'];

type Obj = Record<string, unknown>;

/** A pod of busybox containers; images are local, so never pulled. */
function pod(ctx: Ctx, name: string, containers: Obj[], spec: Obj = {}, labels: Obj = {}): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ctx.ns, labels: { app: name, ...labels } },
    spec: {
      terminationGracePeriodSeconds: 5,
      containers: containers.map((c) => ({ image: IMAGE, imagePullPolicy: 'IfNotPresent', ...c })),
      ...spec,
    },
  };
}

const ex = (ctx: Ctx, p: string, cmd: string[], container?: string) =>
  ctx.k.run(['exec', '-n', ctx.ns, p, ...(container ? ['-c', container] : []), '--', ...cmd]);

async function exOut(ctx: Ctx, p: string, cmd: string[], container?: string): Promise<string> {
  const r = await ex(ctx, p, cmd, container);
  check(r.code === 0, `kubectl exec ${p} -- ${cmd.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** A long-running kubectl (logs -f, port-forward, attach): resolves with its output once `done` says so. */
function streamUntil(
  ctx: Ctx,
  args: string[],
  done: (out: string) => boolean,
  opts: { input?: string; timeoutMs?: number; keepStdinOpen?: boolean } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = ctx.k.spawn(args);
    let out = '';
    let err = '';
    let settled = false;
    const finish = (e?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGTERM');
      if (e) reject(e);
      else resolve(out);
    };
    const timer = setTimeout(
      () =>
        finish(
          new Error(
            `kubectl ${args.join(' ')}: gave no expected output in time; stdout=${JSON.stringify(out.slice(-400))} stderr=${err.trim()}`,
          ),
        ),
      opts.timeoutMs ?? 60_000,
    );
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (done(out)) finish();
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('exit', (code) => {
      if (done(out)) finish();
      else
        finish(
          new Error(
            `kubectl ${args.join(' ')} exited ${code}: ${err.trim()} stdout=${JSON.stringify(out.slice(-400))}`,
          ),
        );
    });
    if (opts.input !== undefined) child.stdin!.write(opts.input);
    if (!opts.keepStdinOpen) child.stdin!.end();
  });
}

async function nodeOf(ctx: Ctx, p: string): Promise<NodeHandle> {
  const name = await ctx.k.jsonpath(['pod', '-n', ctx.ns, p], '{.spec.nodeName}');
  const node = ctx.cluster.nodes.find((n) => n.name === name);
  check(node !== undefined, `pod ${p} is on node "${name}", not one of the run's`);
  return node;
}

const containerIds = (ctx: Ctx, p: string) =>
  ctx.k.jsonpath(
    ['pod', '-n', ctx.ns, p],
    '{range .status.containerStatuses[*]}{.name}={.containerID}/{.restartCount} {end}',
  );

async function startAndCheckPod(ctx: Ctx, name: string): Promise<void> {
  await ctx.k.apply(pod(ctx, name, [{ name: 'a', command: FOREVER }]));
  await ctx.k.waitPod(ctx.ns, name);
  eq((await exOut(ctx, name, ['echo', 'alive'])).trim(), 'alive', `kubectl exec ${name} after the restart`);
}

export const WORKFLOWS: Workflow[] = [
  {
    name: 'node registers Ready with the docker runtime',
    async run(ctx) {
      const out = await ctx.k.must(['get', 'nodes', '-o', 'wide']);
      for (const n of ctx.cluster.nodes) contains(out, new RegExp(`${n.name}\\s+Ready`), 'kubectl get nodes');
      const rt = await ctx.k.jsonpath(
        ['node', ctx.cluster.nodes[0]!.name],
        '{.status.nodeInfo.containerRuntimeVersion}',
      );
      contains(rt, /^docker:\/\/\d+\./, 'nodeInfo.containerRuntimeVersion');
    },
  },
  {
    name: 'pod with two containers runs; exec picks the container (-c)',
    async run(ctx) {
      await ctx.k.apply(
        pod(ctx, 'shell', [
          { name: 'a', command: FOREVER, env: [{ name: 'WHO', value: 'first' }] },
          { name: 'b', command: FOREVER, env: [{ name: 'WHO', value: 'second' }] },
        ]),
      );
      await ctx.k.waitPod(ctx.ns, 'shell');
      eq((await exOut(ctx, 'shell', ['sh', '-c', 'echo $WHO'], 'a')).trim(), 'first', 'exec -c a');
      eq((await exOut(ctx, 'shell', ['sh', '-c', 'echo $WHO'], 'b')).trim(), 'second', 'exec -c b');
      const st = await ctx.k.must(['get', 'pod', '-n', ctx.ns, 'shell']);
      contains(st, /shell\s+2\/2\s+Running\s+0/, 'kubectl get pod');
    },
  },
  {
    name: 'logs: all lines, stderr, --tail, --timestamps, --limit-bytes',
    async run(ctx) {
      await ctx.k.apply(
        pod(ctx, 'logs-a', [
          {
            name: 'a',
            command: [
              'sh',
              '-c',
              // Docker copies stdout and stderr in a goroutine each, so lines written to both at
              // once reach its log in either order (seen in 2 of 3 full runs): err-1 comes later.
              'for i in 1 2 3 4 5; do echo out-$i; done; sleep 0.5; echo err-1 >&2; exec sleep 3600',
            ],
          },
        ]),
      );
      await ctx.k.waitPod(ctx.ns, 'logs-a');
      const all = await waitFor('err-1 in the logs', async () => {
        const out = await ctx.k.must(['logs', '-n', ctx.ns, 'logs-a']);
        return out.includes('err-1') ? out : undefined;
      });
      eq(lines(all), ['out-1', 'out-2', 'out-3', 'out-4', 'out-5', 'err-1'], 'kubectl logs');
      eq(
        lines(await ctx.k.must(['logs', '-n', ctx.ns, 'logs-a', '--tail=2'])),
        ['out-5', 'err-1'],
        'kubectl logs --tail=2',
      );
      const ts = lines(await ctx.k.must(['logs', '-n', ctx.ns, 'logs-a', '--timestamps']));
      eq(ts.length, 6, 'kubectl logs --timestamps line count');
      for (const l of ts)
        contains(
          l,
          /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+(Z|[+-]\d\d:\d\d) (out|err)-\d$/,
          'kubectl logs --timestamps',
        );
      eq(
        await ctx.k.must(['logs', '-n', ctx.ns, 'logs-a', '--limit-bytes=5']),
        'out-1',
        'kubectl logs --limit-bytes=5',
      );
    },
  },
  {
    name: 'logs -f follows new lines; attach shows live output',
    async run(ctx) {
      await ctx.k.apply(
        pod(ctx, 'ticker', [
          {
            name: 'a',
            command: ['sh', '-c', 'i=0; while true; do echo tick-$i; i=$((i+1)); sleep 0.3; done'],
          },
        ]),
      );
      await ctx.k.waitPod(ctx.ns, 'ticker');
      const first = (out: string) => Number(/tick-(\d+)/.exec(out)?.[1] ?? NaN);
      const last = (out: string) => Number([...out.matchAll(/tick-(\d+)\n/g)].pop()?.[1] ?? NaN);
      const followed = await streamUntil(
        ctx,
        ['logs', '-f', '-n', ctx.ns, 'ticker', '--tail=1'],
        (o) => last(o) >= first(o) + 5,
      );
      check(last(followed) >= first(followed) + 5, `kubectl logs -f: ${followed}`);
      const attached = await streamUntil(ctx, ['attach', '-n', ctx.ns, 'ticker'], (o) =>
        /tick-\d+\n[\s\S]*tick-\d+\n/.test(o),
      );
      contains(attached, /tick-\d+/, 'kubectl attach');
    },
  },
  {
    name: 'logs --previous after a crash; restart count and last exit code',
    async run(ctx) {
      await ctx.k.apply(
        pod(ctx, 'crasher', [
          { name: 'a', command: ['sh', '-c', 'echo attempt-$(date +%s%N); sleep 1; exit 3'] },
        ]),
      );
      await ctx.k.waitJsonpath(
        ctx.ns,
        'crasher',
        '{.status.containerStatuses[0].restartCount}',
        (v) => Number(v) >= 1,
      );
      eq(
        await ctx.k.jsonpath(
          ['pod', '-n', ctx.ns, 'crasher'],
          '{.status.containerStatuses[0].lastState.terminated.exitCode}',
        ),
        '3',
        'lastState.terminated.exitCode',
      );
      // The kubelet keeps one dead container: while the next attempt dies, the status may still
      // name the one it just removed. A user retries; so does this.
      const prev = await waitFor(
        'kubectl logs --previous',
        async () => {
          const r = await ctx.k.run(['logs', '-n', ctx.ns, 'crasher', '--previous']);
          if (r.code !== 0) throw new Error(r.stderr.trim());
          return r.stdout;
        },
        30_000,
      );
      contains(prev, /^attempt-\S+\n$/, 'kubectl logs --previous');
    },
  },
  {
    name: 'exec: output, exit codes, a missing binary',
    async run(ctx) {
      eq((await exOut(ctx, 'shell', ['echo', 'hello'])).trim(), 'hello', 'kubectl exec echo');
      const seven = await ex(ctx, 'shell', ['sh', '-c', 'echo partial; exit 7']);
      eq(seven.code, 7, 'kubectl exec exit code');
      contains(seven.stdout, 'partial', 'kubectl exec stdout before a failure');
      contains(seven.stderr, 'command terminated with exit code 7', 'kubectl exec stderr');
      const missing = await ex(ctx, 'shell', ['no-such-binary']);
      check(missing.code !== 0, 'kubectl exec of a missing binary succeeded');
      contains(
        missing.stderr + missing.stdout,
        /no-such-binary|not found|executable file/,
        'kubectl exec of a missing binary',
      );
    },
  },
  {
    name: 'exec -i: stdin in, 100k lines each way',
    async run(ctx) {
      const echo = await ctx.k.run(['exec', '-i', '-n', ctx.ns, 'shell', '-c', 'a', '--', 'cat'], {
        input: 'abc\ndef\n',
      });
      eq(echo.stdout, 'abc\ndef\n', 'kubectl exec -i cat');
      const seq = Array.from({ length: 100_000 }, (_, i) => String(i + 1)).join('\n') + '\n';
      const wc = await ctx.k.run(['exec', '-i', '-n', ctx.ns, 'shell', '-c', 'a', '--', 'wc', '-l'], {
        input: seq,
        timeoutMs: 120_000,
      });
      eq(wc.stdout.trim(), '100000', 'kubectl exec -i wc -l of 100000 lines');
      const out = await ctx.k.run(['exec', '-n', ctx.ns, 'shell', '-c', 'a', '--', 'seq', '1', '100000'], {
        timeoutMs: 120_000,
      });
      eq(out.stdout, seq, 'kubectl exec seq 1 100000');
    },
  },
  {
    name: 'exec -it: a terminal, its size, exit code through the tty',
    async run(ctx) {
      // script(1) gives kubectl a terminal, as a user's shell would.
      const cmd = `stty cols 91 rows 37; ${ctx.k.bin} exec -it -n ${ctx.ns} shell -c a -- sh -c 'tty; stty size; exit 5'`;
      const r = await run('script', ['-qec', cmd, '/dev/null'], {
        env: { ...process.env, KUBECONFIG: ctx.k.kubeconfig },
        timeoutMs: 60_000,
      });
      contains(r.stdout, /\/dev\/pts\/\d+/, 'tty inside kubectl exec -it');
      contains(r.stdout, '37 91', 'stty size inside kubectl exec -it (the resize reached the container)');
      eq(r.code, 5, 'exit code of kubectl exec -it');
    },
  },
  {
    name: 'attach -i: stdin reaches a waiting container (stdinOnce)',
    async run(ctx) {
      await ctx.k.apply(
        pod(
          ctx,
          'attach',
          [{ name: 'a', stdin: true, stdinOnce: true, command: ['sh', '-c', 'read line; echo got:$line'] }],
          {
            restartPolicy: 'Never',
          },
        ),
      );
      await ctx.k.waitJsonpath(
        ctx.ns,
        'attach',
        '{.status.containerStatuses[0].state.running.startedAt}',
        (v) => v !== '',
      );
      const out = await streamUntil(
        ctx,
        ['attach', '-i', '-n', ctx.ns, 'attach'],
        (o) => o.includes('got:hello'),
        {
          input: 'hello\n',
          keepStdinOpen: true,
        },
      );
      contains(out, 'got:hello', 'kubectl attach -i');
      await ctx.k.waitJsonpath(ctx.ns, 'attach', '{.status.phase}', (v) => v === 'Succeeded');
      contains(
        await ctx.k.must(['logs', '-n', ctx.ns, 'attach']),
        'got:hello',
        'kubectl logs of the attached pod',
      );
    },
  },
  {
    name: 'port-forward to a pod port; http readiness probe',
    async run(ctx) {
      await ctx.k.apply(
        pod(ctx, 'web', [
          {
            name: 'httpd',
            command: [
              'sh',
              '-c',
              'mkdir -p /www && echo hello-from-web > /www/index.html && exec httpd -f -p 8080 -h /www',
            ],
            ports: [{ containerPort: 8080 }],
            readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 1 },
          },
        ]),
      );
      await ctx.k.waitPod(ctx.ns, 'web');
      const child = ctx.k.spawn(['port-forward', '-n', ctx.ns, 'pod/web', ':8080']);
      try {
        const port = await new Promise<number>((resolve, reject) => {
          let out = '';
          const t = setTimeout(
            () => reject(new Error(`kubectl port-forward printed no port: ${out}`)),
            30_000,
          );
          child.stdout!.setEncoding('utf8').on('data', (d: string) => {
            out += d;
            const m = /Forwarding from 127\.0\.0\.1:(\d+) -> 8080/.exec(out);
            if (m) {
              clearTimeout(t);
              resolve(Number(m[1]));
            }
          });
          child.on('exit', () => reject(new Error(`kubectl port-forward exited: ${out}`)));
        });
        for (let i = 0; i < 3; i++)
          eq(
            (await httpGet(`http://127.0.0.1:${port}/`)).trim(),
            'hello-from-web',
            `GET #${i + 1} through port-forward`,
          );
      } finally {
        child.kill('SIGTERM');
      }
    },
  },
  {
    name: 'pod-to-pod: a pod reaches another pod IP',
    async run(ctx) {
      const ip = await ctx.k.jsonpath(['pod', '-n', ctx.ns, 'web'], '{.status.podIP}');
      contains(ip, /^10\.77\.\d+\.\d+$/, 'pod IP in the node bridge subnet');
      eq(
        (await exOut(ctx, 'shell', ['wget', '-qO-', `http://${ip}:8080/`], 'a')).trim(),
        'hello-from-web',
        'wget from pod to pod',
      );
    },
  },
  {
    name: 'cp: a file into a pod and back',
    async run(ctx) {
      const local = path.join(ctx.work, 'cp-up.bin');
      const data = randomBytes(200_000);
      fs.writeFileSync(local, data);
      await ctx.k.must(['cp', '-c', 'a', local, `${ctx.ns}/shell:/tmp/up.bin`]);
      const md5 = createHash('md5').update(data).digest('hex');
      contains(
        await exOut(ctx, 'shell', ['md5sum', '/tmp/up.bin'], 'a'),
        md5,
        'md5sum inside the pod after kubectl cp',
      );
      await exOut(
        ctx,
        'shell',
        ['sh', '-c', 'mkdir -p /tmp/dir && echo one > /tmp/dir/1 && echo two > /tmp/dir/2'],
        'a',
      );
      const back = path.join(ctx.work, 'cp-down.bin');
      await ctx.k.must(['cp', '-c', 'a', `${ctx.ns}/shell:/tmp/up.bin`, back]);
      check(fs.readFileSync(back).equals(data), 'kubectl cp from the pod: bytes differ');
      const backDir = path.join(ctx.work, 'cp-dir');
      await ctx.k.must(['cp', '-c', 'a', `${ctx.ns}/shell:/tmp/dir`, backDir]);
      eq(
        [readIfExists(path.join(backDir, '1')), readIfExists(path.join(backDir, '2'))],
        ['one\n', 'two\n'],
        'kubectl cp of a directory',
      );
    },
  },
  {
    name: 'probes: exec readiness, http liveness restarts, tcp readiness',
    async run(ctx) {
      await ctx.k.apply(
        pod(ctx, 'probes', [
          {
            name: 'exec',
            command: FOREVER,
            readinessProbe: { exec: { command: ['cat', '/tmp/ready'] }, periodSeconds: 1 },
          },
          {
            name: 'live',
            command: ['sh', '-c', 'mkdir -p /www && echo ok > /www/healthz && exec httpd -f -p 8081 -h /www'],
            livenessProbe: {
              httpGet: { path: '/healthz', port: 8081 },
              periodSeconds: 1,
              failureThreshold: 2,
            },
          },
          {
            name: 'tcp',
            command: ['sh', '-c', 'mkdir -p /www && exec httpd -f -p 8082 -h /www'],
            readinessProbe: { tcpSocket: { port: 8082 }, periodSeconds: 1 },
          },
        ]),
      );
      const readyOf = (name: string) =>
        ctx.k.jsonpath(
          ['pod', '-n', ctx.ns, 'probes'],
          `{.status.containerStatuses[?(@.name=="${name}")].ready}`,
        );
      await waitFor('tcp container ready', async () =>
        (await readyOf('tcp')) === 'true' ? true : undefined,
      );
      eq(await readyOf('exec'), 'false', 'exec-probed container before /tmp/ready exists');
      await exOut(ctx, 'probes', ['touch', '/tmp/ready'], 'exec');
      await ctx.k.waitPod(ctx.ns, 'probes');
      await exOut(ctx, 'probes', ['rm', '/www/healthz'], 'live');
      await ctx.k.waitJsonpath(
        ctx.ns,
        'probes',
        '{.status.containerStatuses[?(@.name=="live")].restartCount}',
        (v) => Number(v) >= 1,
      );
      const events = await ctx.k.must([
        'get',
        'events',
        '-n',
        ctx.ns,
        '--field-selector',
        'involvedObject.name=probes',
      ]);
      contains(events, /Liveness probe failed/, 'events of the probed pod');
    },
  },
  {
    name: 'init containers run in order before the app',
    async run(ctx) {
      await ctx.k.apply(
        pod(
          ctx,
          'init',
          [
            {
              name: 'app',
              command: ['sh', '-c', 'cat /work/msg; exec sleep 3600'],
              volumeMounts: [{ name: 'w', mountPath: '/work' }],
            },
          ],
          {
            initContainers: [
              {
                name: 'first',
                image: IMAGE,
                imagePullPolicy: 'IfNotPresent',
                command: ['sh', '-c', 'echo one > /work/msg; echo first-done'],
                volumeMounts: [{ name: 'w', mountPath: '/work' }],
              },
              {
                name: 'second',
                image: IMAGE,
                imagePullPolicy: 'IfNotPresent',
                command: ['sh', '-c', 'echo two >> /work/msg'],
                volumeMounts: [{ name: 'w', mountPath: '/work' }],
              },
            ],
            volumes: [{ name: 'w', emptyDir: {} }],
          },
        ),
      );
      await ctx.k.waitPod(ctx.ns, 'init');
      eq(
        await ctx.k.jsonpath(
          ['pod', '-n', ctx.ns, 'init'],
          '{.status.initContainerStatuses[*].state.terminated.reason}',
        ),
        'Completed Completed',
        'init container states',
      );
      eq(
        (await ctx.k.must(['logs', '-n', ctx.ns, 'init', '-c', 'first'])).trim(),
        'first-done',
        'kubectl logs -c first',
      );
      await waitFor('app output', async () =>
        (await ctx.k.must(['logs', '-n', ctx.ns, 'init', '-c', 'app'])) === 'one\ntwo\n' ? true : undefined,
      );
    },
  },
  {
    name: 'volumes: emptyDir (disk, memory), configMap, secret, hostPath, projected; env from them',
    async run(ctx) {
      const hostDir = path.join(ctx.work, 'hostpath');
      fs.mkdirSync(hostDir, { recursive: true });
      fs.writeFileSync(path.join(hostDir, 'from-host'), 'host-data\n');
      await ctx.k.apply(
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'cm1', namespace: ctx.ns },
          data: { greeting: 'hello-cm' },
        },
        {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 's1', namespace: ctx.ns },
          stringData: { password: 's3cr3t' },
        },
      );
      const mounts = [
        { name: 'shared', mountPath: '/shared' },
        { name: 'mem', mountPath: '/mem' },
        { name: 'cm', mountPath: '/cm' },
        { name: 'sec', mountPath: '/sec' },
        { name: 'host', mountPath: '/host' },
        { name: 'proj', mountPath: '/proj' },
      ];
      await ctx.k.apply(
        pod(
          ctx,
          'volumes',
          [
            {
              name: 'a',
              command: FOREVER,
              volumeMounts: mounts,
              env: [
                { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
                { name: 'GREETING', valueFrom: { configMapKeyRef: { name: 'cm1', key: 'greeting' } } },
                { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 's1', key: 'password' } } },
                { name: 'MEM_LIMIT', valueFrom: { resourceFieldRef: { resource: 'limits.memory' } } },
              ],
              resources: { limits: { memory: '128Mi' } },
            },
            { name: 'b', command: FOREVER, volumeMounts: [{ name: 'shared', mountPath: '/data' }] },
          ],
          {
            volumes: [
              { name: 'shared', emptyDir: {} },
              { name: 'mem', emptyDir: { medium: 'Memory' } },
              { name: 'cm', configMap: { name: 'cm1' } },
              { name: 'sec', secret: { secretName: 's1', defaultMode: 0o400 } },
              { name: 'host', hostPath: { path: hostDir, type: 'Directory' } },
              {
                name: 'proj',
                projected: {
                  sources: [
                    { serviceAccountToken: { path: 'token', expirationSeconds: 3600 } },
                    { configMap: { name: 'cm1', items: [{ key: 'greeting', path: 'g' }] } },
                    {
                      downwardAPI: {
                        items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }],
                      },
                    },
                  ],
                },
              },
            ],
          },
        ),
      );
      await ctx.k.waitPod(ctx.ns, 'volumes');
      await exOut(ctx, 'volumes', ['sh', '-c', 'echo across > /shared/x'], 'a');
      eq(
        (await exOut(ctx, 'volumes', ['cat', '/data/x'], 'b')).trim(),
        'across',
        'emptyDir shared by two containers',
      );
      contains(
        await exOut(ctx, 'volumes', ['grep', ' /mem ', '/proc/mounts'], 'a'),
        'tmpfs',
        'emptyDir medium Memory',
      );
      eq((await exOut(ctx, 'volumes', ['cat', '/cm/greeting'], 'a')).trim(), 'hello-cm', 'configMap volume');
      eq((await exOut(ctx, 'volumes', ['cat', '/sec/password'], 'a')).trim(), 's3cr3t', 'secret volume');
      eq(
        (await exOut(ctx, 'volumes', ['stat', '-L', '-c', '%a', '/sec/password'], 'a')).trim(),
        '400',
        'secret defaultMode',
      );
      eq((await exOut(ctx, 'volumes', ['cat', '/host/from-host'], 'a')).trim(), 'host-data', 'hostPath read');
      await exOut(ctx, 'volumes', ['sh', '-c', 'echo pod-data > /host/from-pod'], 'a');
      eq(
        readIfExists(path.join(hostDir, 'from-pod')),
        'pod-data\n',
        'hostPath written by the pod, read on the host',
      );
      contains(
        await exOut(ctx, 'volumes', ['cat', '/proj/token'], 'a'),
        /^[\w-]+\.[\w-]+\.[\w-]+$/,
        'projected service account token',
      );
      eq(
        (await exOut(ctx, 'volumes', ['cat', '/proj/g'], 'a')).trim(),
        'hello-cm',
        'projected configMap item',
      );
      contains(
        await exOut(ctx, 'volumes', ['cat', '/proj/labels'], 'a'),
        'app="volumes"',
        'projected downwardAPI labels',
      );
      const env = await exOut(ctx, 'volumes', ['env'], 'a');
      const podIp = await ctx.k.jsonpath(['pod', '-n', ctx.ns, 'volumes'], '{.status.podIP}');
      for (const want of [
        'POD_NAME=volumes',
        `POD_IP=${podIp}`,
        'GREETING=hello-cm',
        'PASSWORD=s3cr3t',
        'MEM_LIMIT=134217728',
      ]) {
        contains(env, want, 'env inside the pod');
      }
    },
  },
  {
    name: 'resources: limits in the cgroup, QoS class',
    async run(ctx) {
      await ctx.k.apply(
        pod(ctx, 'limits', [
          {
            name: 'a',
            command: FOREVER,
            resources: { requests: { cpu: '250m', memory: '32Mi' }, limits: { cpu: '500m', memory: '64Mi' } },
          },
        ]),
      );
      await ctx.k.waitPod(ctx.ns, 'limits');
      eq(
        await ctx.k.jsonpath(['pod', '-n', ctx.ns, 'limits'], '{.status.qosClass}'),
        'Burstable',
        'qosClass',
      );
      // Read on the host: the container's own cgroup, found from its Docker id.
      const id = (
        await ctx.k.jsonpath(['pod', '-n', ctx.ns, 'limits'], '{.status.containerStatuses[0].containerID}')
      ).replace(/^docker:\/\//, '');
      const node = await nodeOf(ctx, 'limits');
      const parent = (
        await run('/usr/bin/docker', [
          '-H',
          node.dockerHost,
          'inspect',
          '-f',
          '{{.HostConfig.CgroupParent}}',
          id,
        ])
      ).stdout.trim();
      const cg = (ctrl: string, file: string) =>
        readIfExists(path.join('/sys/fs/cgroup', ctrl, parent, id, file)).trim();
      eq(
        cg('memory', 'memory.limit_in_bytes'),
        String(64 * 1024 * 1024),
        `memory.limit_in_bytes of ${parent}/${id}`,
      );
      eq(cg('cpu', 'cpu.cfs_quota_us'), '50000', 'cpu.cfs_quota_us');
      eq(cg('cpu', 'cpu.shares'), '256', 'cpu.shares');
      contains(parent, `/${node.cgroupRoot}/kubepods/burstable/pod`, 'cgroup parent given by the kubelet');
    },
  },
  {
    name: 'OOMKilled: a container over its memory limit',
    async run(ctx) {
      await ctx.k.apply(
        pod(
          ctx,
          'oom',
          [
            {
              name: 'a',
              command: ['sh', '-c', 'x=0123456789abcdef; while true; do x=$x$x; done'],
              resources: { limits: { memory: '32Mi' } },
            },
          ],
          {
            restartPolicy: 'Never',
          },
        ),
      );
      const reason = await ctx.k.waitJsonpath(
        ctx.ns,
        'oom',
        '{.status.containerStatuses[0].state.terminated.reason}',
        (v) => v !== '',
      );
      eq(reason, 'OOMKilled', 'state.terminated.reason');
      eq(
        await ctx.k.jsonpath(
          ['pod', '-n', ctx.ns, 'oom'],
          '{.status.containerStatuses[0].state.terminated.exitCode}',
        ),
        '137',
        'exit code',
      );
      contains(
        await ctx.k.must(['get', 'pod', '-n', ctx.ns, 'oom']),
        /oom\s+0\/1\s+OOMKilled/,
        'kubectl get pod',
      );
    },
  },
  {
    name: 'securityContext: runAsUser/Group, fsGroup, readOnlyRootFilesystem, capabilities, no new privileges',
    async run(ctx) {
      await ctx.k.apply(
        pod(
          ctx,
          'secctx',
          [
            {
              name: 'user',
              command: FOREVER,
              securityContext: {
                readOnlyRootFilesystem: true,
                allowPrivilegeEscalation: false,
                capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] },
              },
              volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }],
            },
            {
              name: 'admin',
              command: FOREVER,
              securityContext: { runAsUser: 0, runAsGroup: 0, capabilities: { add: ['NET_ADMIN'] } },
            },
            { name: 'plain', command: FOREVER, securityContext: { runAsUser: 0, runAsGroup: 0 } },
          ],
          {
            securityContext: { runAsUser: 1000, runAsGroup: 3000, fsGroup: 2000 },
            volumes: [{ name: 'scratch', emptyDir: {} }],
          },
        ),
      );
      await ctx.k.waitPod(ctx.ns, 'secctx');
      const id = (await exOut(ctx, 'secctx', ['id'], 'user')).trim();
      contains(id, /^uid=1000\b.* gid=3000\b/, 'id');
      contains(id, /groups=.*2000/, 'id (fsGroup as a supplementary group)');
      const ro = await ex(ctx, 'secctx', ['touch', '/rootfs-file'], 'user');
      check(ro.code !== 0, 'touch on a readOnlyRootFilesystem succeeded');
      contains(ro.stderr + ro.stdout, 'Read-only file system', 'touch on a readOnlyRootFilesystem');
      await exOut(ctx, 'secctx', ['touch', '/scratch/ok'], 'user');
      eq(
        (await exOut(ctx, 'secctx', ['stat', '-c', '%g', '/scratch'], 'user')).trim(),
        '2000',
        'fsGroup owns the volume',
      );
      const status = (c: string) => exOut(ctx, 'secctx', ['cat', '/proc/self/status'], c);
      const cap = (s: string, f: string) =>
        BigInt('0x' + (new RegExp(`${f}:\\s+([0-9a-f]+)`).exec(s)?.[1] ?? '0'));
      const user = await status('user');
      eq(
        cap(user, 'CapBnd').toString(16),
        (1n << 10n).toString(16),
        'CapBnd with drop ALL, add NET_BIND_SERVICE',
      );
      contains(user, /NoNewPrivs:\s+1/, 'NoNewPrivs with allowPrivilegeEscalation false');
      const NET_ADMIN = 1n << 12n;
      check((cap(await status('admin'), 'CapEff') & NET_ADMIN) !== 0n, 'NET_ADMIN added but not in CapEff');
      check(
        (cap(await status('plain'), 'CapEff') & NET_ADMIN) === 0n,
        'NET_ADMIN in CapEff without being added',
      );
    },
  },
  {
    name: 'hostNetwork: the pod has the node IP and its interfaces',
    async run(ctx) {
      await ctx.k.apply(pod(ctx, 'hostnet', [{ name: 'a', command: FOREVER }], { hostNetwork: true }));
      await ctx.k.waitPod(ctx.ns, 'hostnet');
      const node = await nodeOf(ctx, 'hostnet');
      eq(
        await ctx.k.jsonpath(['pod', '-n', ctx.ns, 'hostnet'], '{.status.podIP}'),
        node.ip,
        'podIP of a hostNetwork pod',
      );
      contains(
        await exOut(ctx, 'hostnet', ['cat', '/proc/net/dev']),
        node.bridge,
        'interfaces seen by a hostNetwork pod',
      );
    },
  },
  {
    name: 'termination message: from the file, and from the logs on error',
    async run(ctx) {
      await ctx.k.apply(
        pod(
          ctx,
          'termmsg',
          [
            { name: 'file', command: ['sh', '-c', 'echo bye-from-file > /dev/termination-log'] },
            {
              name: 'logs',
              command: ['sh', '-c', 'echo bye-from-logs; exit 1'],
              terminationMessagePolicy: 'FallbackToLogsOnError',
            },
            {
              // Output that ends mid-line is the message as written, no newline added (conformance).
              name: 'mid-line',
              command: ['sh', '-c', 'printf bye-mid-line; exit 1'],
              terminationMessagePolicy: 'FallbackToLogsOnError',
            },
          ],
          { restartPolicy: 'Never' },
        ),
      );
      const msg = (c: string) => `{.status.containerStatuses[?(@.name=="${c}")].state.terminated.message}`;
      eq(
        (await ctx.k.waitJsonpath(ctx.ns, 'termmsg', msg('file'), (v) => v !== '')).trim(),
        'bye-from-file',
        'termination message from the file',
      );
      eq(
        (await ctx.k.waitJsonpath(ctx.ns, 'termmsg', msg('logs'), (v) => v !== '')).trim(),
        'bye-from-logs',
        'termination message from the logs',
      );
      await ctx.k.waitJsonpath(ctx.ns, 'termmsg', msg('mid-line'), (v) => v !== '');
      // jsonpath output is trimmed; the JSON shows a newline the runtime might have added.
      const status = JSON.parse(await ctx.k.must(['get', 'pod', '-n', ctx.ns, 'termmsg', '-o', 'json'])) as {
        status: { containerStatuses: { name: string; state: { terminated?: { message?: string } } }[] };
      };
      eq(
        status.status.containerStatuses.find((c) => c.name === 'mid-line')?.state.terminated?.message,
        'bye-mid-line',
        'termination message from logs that end mid-line, exactly',
      );
    },
  },
  {
    name: 'image absent with pullPolicy Never: ErrImageNeverPull',
    async run(ctx) {
      await ctx.k.apply(
        pod(ctx, 'noimage', [
          { name: 'a', image: 'docker-cri-e2e/absent:1', imagePullPolicy: 'Never', command: FOREVER },
        ]),
      );
      const reason = await ctx.k.waitJsonpath(
        ctx.ns,
        'noimage',
        '{.status.containerStatuses[0].state.waiting.reason}',
        (v) => v === 'ErrImageNeverPull',
      );
      eq(reason, 'ErrImageNeverPull', 'waiting reason');
    },
  },
  {
    name: 'stats summary and resource metrics through the apiserver proxy',
    async run(ctx) {
      const node = await nodeOf(ctx, 'shell');
      type Summary = {
        node: { cpu?: { usageNanoCores?: number }; memory?: { workingSetBytes?: number } };
        pods: {
          podRef: { name: string; namespace: string };
          cpu?: { usageNanoCores?: number };
          memory?: { workingSetBytes?: number };
          network?: { interfaces?: unknown[] };
          containers?: {
            name: string;
            cpu?: { usageCoreNanoSeconds?: number; usageNanoCores?: number };
            memory?: { workingSetBytes?: number };
          }[];
        }[];
      };
      const summary = await waitFor('pod shell in the stats summary with CPU rates', async () => {
        const s = JSON.parse(
          await ctx.k.must(['get', '--raw', `/api/v1/nodes/${node.name}/proxy/stats/summary`]),
        ) as Summary;
        const p = s.pods.find((x) => x.podRef.name === 'shell' && x.podRef.namespace === ctx.ns);
        return p?.containers?.length === 2 && p.containers.every((c) => c.cpu?.usageNanoCores !== undefined)
          ? { s, p }
          : undefined;
      });
      const { p } = summary;
      for (const c of p.containers ?? []) {
        check((c.cpu?.usageCoreNanoSeconds ?? 0) > 0, `container ${c.name}: usageCoreNanoSeconds`);
        check((c.memory?.workingSetBytes ?? 0) > 0, `container ${c.name}: workingSetBytes`);
      }
      check((p.memory?.workingSetBytes ?? 0) > 0, 'pod workingSetBytes');
      check((summary.s.node.memory?.workingSetBytes ?? 0) > 0, 'node workingSetBytes');
      const metrics = await ctx.k.must(['get', '--raw', `/api/v1/nodes/${node.name}/proxy/metrics/resource`]);
      contains(
        metrics,
        new RegExp(
          `container_memory_working_set_bytes\\{container="a",namespace="${ctx.ns}",pod="shell"\\} [1-9]`,
        ),
        '/metrics/resource',
      );
    },
  },
  {
    name: 'kubectl debug: an ephemeral container in a running pod',
    async run(ctx) {
      await ctx.k.must([
        'debug',
        '-n',
        ctx.ns,
        'shell',
        `--image=${IMAGE}`,
        '--image-pull-policy=IfNotPresent',
        '-c',
        'dbg',
        '--target=a',
        '--',
        'sh',
        '-c',
        'echo debug-ran; ps',
      ]);
      const out = await waitFor('ephemeral container output', async () => {
        const r = await ctx.k.run(['logs', '-n', ctx.ns, 'shell', '-c', 'dbg']);
        return r.code === 0 && r.stdout.includes('debug-ran') ? r.stdout : undefined;
      });
      // --target shares the target container's process namespace: its loop is visible.
      contains(out, 'while true', 'ps in the ephemeral container (target process namespace)');
    },
  },
  {
    name: 'graceful termination: preStop, then SIGTERM; a stubborn container is killed after its grace period',
    async run(ctx) {
      const hostDir = path.join(ctx.work, 'graceful');
      fs.mkdirSync(hostDir, { recursive: true });
      await ctx.k.apply(
        pod(
          ctx,
          'graceful',
          [
            {
              name: 'a',
              command: [
                'sh',
                '-c',
                'trap "echo term >> /host/events; exit 0" TERM; echo started >> /host/events; while true; do sleep 0.2; done',
              ],
              lifecycle: { preStop: { exec: { command: ['sh', '-c', 'echo prestop >> /host/events'] } } },
              volumeMounts: [{ name: 'host', mountPath: '/host' }],
            },
          ],
          {
            terminationGracePeriodSeconds: 30,
            volumes: [{ name: 'host', hostPath: { path: hostDir, type: 'Directory' } }],
          },
        ),
        pod(
          ctx,
          'stubborn',
          [{ name: 'a', command: ['sh', '-c', 'trap "" TERM; while true; do sleep 0.2; done'] }],
          { terminationGracePeriodSeconds: 2 },
        ),
      );
      await ctx.k.waitPod(ctx.ns, 'graceful');
      await ctx.k.waitPod(ctx.ns, 'stubborn');
      await ctx.k.must(
        ['delete', 'pod', '-n', ctx.ns, 'graceful', 'stubborn', '--wait=true', '--timeout=90s'],
        { timeoutMs: 100_000 },
      );
      eq(
        lines(readIfExists(path.join(hostDir, 'events'))),
        ['started', 'prestop', 'term'],
        'events the container recorded',
      );
      const left = await ctx.k.run(['get', 'pod', '-n', ctx.ns, 'stubborn']);
      contains(left.stderr, 'NotFound', 'kubectl get pod after deleting a pod that ignores SIGTERM');
    },
  },
  {
    name: 'Jobs: completions with parallelism, logs, a failing Job',
    async run(ctx) {
      const job = (name: string, command: string[], extra: Obj) => ({
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name, namespace: ctx.ns },
        spec: {
          ...extra,
          template: {
            spec: {
              restartPolicy: 'Never',
              terminationGracePeriodSeconds: 5,
              containers: [{ name: 'a', image: IMAGE, imagePullPolicy: 'IfNotPresent', command }],
            },
          },
        },
      });
      await ctx.k.apply(
        job('count', ['sh', '-c', 'echo job-done'], { completions: 3, parallelism: 2 }),
        job('fail', ['sh', '-c', 'echo failing; exit 2'], { backoffLimit: 0 }),
      );
      await ctx.k.must(['wait', '-n', ctx.ns, '--for=condition=complete', 'job/count', '--timeout=180s'], {
        timeoutMs: 190_000,
      });
      eq(
        await ctx.k.jsonpath(['job', '-n', ctx.ns, 'count'], '{.status.succeeded}'),
        '3',
        'job succeeded count',
      );
      eq(
        (await ctx.k.must(['logs', '-n', ctx.ns, 'job/count'])).trim(),
        'job-done',
        'kubectl logs job/count',
      );
      await ctx.k.must(['wait', '-n', ctx.ns, '--for=condition=failed', 'job/fail', '--timeout=120s'], {
        timeoutMs: 130_000,
      });
      eq(
        await ctx.k.jsonpath(
          ['pods', '-n', ctx.ns, '-l', 'job-name=fail'],
          '{.items[0].status.containerStatuses[0].state.terminated.exitCode}',
        ),
        '2',
        'exit code of the failed Job pod',
      );
    },
  },
  {
    name: 'Deployment: rollout, rolling update, scaled up and down to 0',
    async run(ctx) {
      const scale = Number(process.env.DCRI_E2E_SCALE ?? 10);
      await ctx.k.apply({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'dep', namespace: ctx.ns },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'dep' } },
          template: {
            metadata: { labels: { app: 'dep' } },
            spec: {
              terminationGracePeriodSeconds: 5,
              containers: [{ name: 'a', image: IMAGE, imagePullPolicy: 'IfNotPresent', command: FOREVER }],
            },
          },
        },
      });
      const rollout = () =>
        ctx.k.must(['rollout', 'status', '-n', ctx.ns, 'deploy/dep', '--timeout=300s'], {
          timeoutMs: 310_000,
        });
      await rollout();
      await ctx.k.must(['set', 'env', '-n', ctx.ns, 'deploy/dep', 'VERSION=2']);
      await rollout();
      // The old pods may still be terminating: look at those that are not.
      await waitFor(
        'both pods of the new template running VERSION=2',
        async () => {
          const list = await ctx.k.json<{
            items: { metadata: { name: string; deletionTimestamp?: string } }[];
          }>(['get', 'pods', '-n', ctx.ns, '-l', 'app=dep']);
          const live = list.items.filter((p) => !p.metadata.deletionTimestamp).map((p) => p.metadata.name);
          if (live.length !== 2) return undefined;
          for (const p of live) {
            if (
              (
                await ctx.k.run(['exec', '-n', ctx.ns, p, '--', 'sh', '-c', 'echo $VERSION'])
              ).stdout.trim() !== '2'
            )
              return undefined;
          }
          return true;
        },
        90_000,
      );
      await ctx.k.must(['scale', '-n', ctx.ns, 'deploy/dep', `--replicas=${scale}`]);
      await rollout();
      eq(
        await ctx.k.jsonpath(['deploy', '-n', ctx.ns, 'dep'], '{.status.readyReplicas}'),
        String(scale),
        'readyReplicas after scaling up',
      );
      await ctx.k.must(['scale', '-n', ctx.ns, 'deploy/dep', '--replicas=0']);
      await waitFor(
        'no pods of the Deployment',
        async () =>
          (await ctx.k.must(['get', 'pods', '-n', ctx.ns, '-l', 'app=dep', '-o', 'name'])).trim() === ''
            ? true
            : undefined,
        180_000,
      );
    },
  },
  {
    name: 'docker-cri restart: pods keep running, same containers, exec/logs work, new pods start',
    async run(ctx) {
      const node = await nodeOf(ctx, 'shell');
      const before = await containerIds(ctx, 'shell');
      await node.dcri.stop();
      node.dcri.start();
      await waitFor('docker-cri socket back', async () => (fs.existsSync(node.criSocket) ? true : undefined));
      await sleep(2000);
      await ctx.cluster.waitNodeReady(node);
      eq(await containerIds(ctx, 'shell'), before, 'container ids and restart counts of pod shell');
      eq(
        (await exOut(ctx, 'shell', ['echo', 'after-docker-cri-restart'], 'a')).trim(),
        'after-docker-cri-restart',
        'kubectl exec',
      );
      eq(
        lines(await ctx.k.must(['logs', '-n', ctx.ns, 'logs-a', '--tail=1'])),
        ['err-1'],
        'kubectl logs after the restart',
      );
      await startAndCheckPod(ctx, 'after-dcri-restart');
    },
  },
  {
    name: 'kubelet restart: pods keep running, same containers, exec works, new pods start',
    async run(ctx) {
      const node = await nodeOf(ctx, 'shell');
      const before = await containerIds(ctx, 'shell');
      await node.kubelet.stop();
      node.kubelet.start();
      await sleep(3000);
      await ctx.cluster.waitNodeReady(node);
      await ctx.k.waitPod(ctx.ns, 'shell');
      eq(await containerIds(ctx, 'shell'), before, 'container ids and restart counts of pod shell');
      eq(
        (await exOut(ctx, 'shell', ['echo', 'after-kubelet-restart'], 'a')).trim(),
        'after-kubelet-restart',
        'kubectl exec',
      );
      await startAndCheckPod(ctx, 'after-kubelet-restart');
    },
  },
];
