import { check, eq, lines } from './check';
import { waitFor } from './proc';
import { IMAGE, type Ctx, type Workflow } from './workflows';

/**
 * A bounded GET from inside a pod. Not `wget -T`: Debian's busybox-static (the image's busybox) is
 * built without FEATURE_WGET_TIMEOUT, and its option parser then stores -T's value through a null
 * pointer, so `wget -T 10 …` dies with SIGSEGV (exit 139) before it opens a socket.
 */
const WGET_BOUNDED = ['timeout', '10', 'wget', '-qO-'];

const HTTPD = ['sh', '-c', 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www'];

/** Pod name → node name of the Deployment's pods. */
async function placement(ctx: Ctx): Promise<Map<string, string>> {
  const out = await ctx.k.must([
    'get',
    'pods',
    '-n',
    ctx.ns,
    '-l',
    'app=spread',
    '--field-selector=status.phase=Running',
    '-o',
    'jsonpath={range .items[*]}{.metadata.name} {.spec.nodeName} {.status.podIP}{"\\n"}{end}',
  ]);
  return new Map(
    lines(out)
      .map((l) => l.split(' ') as [string, string])
      .map(([p, n]) => [p, n]),
  );
}

async function podIp(ctx: Ctx, pod: string): Promise<string> {
  return ctx.k.jsonpath(['pod', '-n', ctx.ns, pod], '{.status.podIP}');
}

export const TWO_NODE_WORKFLOWS: Workflow[] = [
  {
    name: 'two nodes: a Deployment spread over both',
    nodes: 2,
    async run(ctx) {
      await ctx.k.apply({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'spread', namespace: ctx.ns },
        spec: {
          replicas: 4,
          selector: { matchLabels: { app: 'spread' } },
          template: {
            metadata: { labels: { app: 'spread' } },
            spec: {
              terminationGracePeriodSeconds: 5,
              topologySpreadConstraints: [
                {
                  maxSkew: 1,
                  topologyKey: 'kubernetes.io/hostname',
                  whenUnsatisfiable: 'DoNotSchedule',
                  // A drained (cordoned, so tainted) node then no longer counts as a domain.
                  nodeTaintsPolicy: 'Honor',
                  labelSelector: { matchLabels: { app: 'spread' } },
                },
              ],
              containers: [
                {
                  name: 'web',
                  image: IMAGE,
                  imagePullPolicy: 'IfNotPresent',
                  command: HTTPD,
                  readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
                },
              ],
            },
          },
        },
      });
      await ctx.k.must(['rollout', 'status', '-n', ctx.ns, 'deploy/spread', '--timeout=240s'], {
        timeoutMs: 250_000,
      });
      const nodes = [...(await placement(ctx)).values()];
      eq(nodes.length, 4, 'running pods of the Deployment');
      for (const n of ctx.cluster.nodes) eq(nodes.filter((x) => x === n.name).length, 2, `pods on ${n.name}`);
    },
  },
  {
    name: 'two nodes: pod-to-pod across nodes, both ways',
    nodes: 2,
    async run(ctx) {
      const place = await placement(ctx);
      const [n1, n2] = ctx.cluster.nodes;
      const on = (n: string) => [...place].find(([, node]) => node === n)?.[0];
      const a = on(n1!.name);
      const b = on(n2!.name);
      check(a !== undefined && b !== undefined, 'a pod on each node');
      for (const [from, to] of [
        [a, b],
        [b, a],
      ] as const) {
        const r = await ctx.k.run([
          'exec',
          '-n',
          ctx.ns,
          from,
          '--',
          ...WGET_BOUNDED,
          `http://${await podIp(ctx, to)}:8080/`,
        ]);
        eq(
          r.stdout.trim(),
          to,
          `wget from ${from} (${place.get(from)}) to ${to} (${place.get(to)}), exit ${r.code}: ${r.stderr.trim()}`,
        );
      }
    },
  },
  {
    name: 'two nodes: logs and exec on the second node',
    nodes: 2,
    async run(ctx) {
      const place = await placement(ctx);
      const n2 = ctx.cluster.nodes[1]!.name;
      const pod = [...place].find(([, node]) => node === n2)?.[0];
      check(pod !== undefined, `a pod on ${n2}`);
      eq(
        (await ctx.k.must(['exec', '-n', ctx.ns, pod, '--', 'hostname'])).trim(),
        pod,
        `kubectl exec on ${n2}`,
      );
      await ctx.k.must(['exec', '-n', ctx.ns, pod, '--', 'sh', '-c', 'echo to-the-log > /proc/1/fd/1']);
      await waitFor('the line in kubectl logs', async () =>
        (await ctx.k.must(['logs', '-n', ctx.ns, pod])).includes('to-the-log') ? true : undefined,
      );
    },
  },
  {
    name: 'two nodes: kubectl drain moves the pods to the other node',
    nodes: 2,
    async run(ctx) {
      const [n1, n2] = ctx.cluster.nodes;
      try {
        await ctx.k.must(
          ['drain', n2!.name, '--ignore-daemonsets', '--delete-emptydir-data', '--force', '--timeout=180s'],
          { timeoutMs: 190_000 },
        );
        await ctx.k.must(['rollout', 'status', '-n', ctx.ns, 'deploy/spread', '--timeout=240s'], {
          timeoutMs: 250_000,
        });
        const place = await waitFor('all four pods running on the first node', async () => {
          const p = await placement(ctx);
          return p.size === 4 && [...p.values()].every((n) => n === n1!.name) ? p : undefined;
        });
        eq(place.size, 4, 'pods after the drain');
        const left = await ctx.k.must([
          'get',
          'pods',
          '-A',
          '--field-selector',
          `spec.nodeName=${n2!.name}`,
          '-o',
          'name',
        ]);
        eq(left.trim(), '', `pods left on ${n2!.name}`);
      } finally {
        await ctx.k.run(['uncordon', n2!.name]);
      }
    },
  },
];
