import { spawn, type ChildProcess } from 'child_process';
import YAML from 'yaml';
import { must, run, waitFor, type RunResult } from './proc';

/** kubectl against the run's cluster, as a user types it. */
export class Kubectl {
  constructor(
    readonly bin: string,
    readonly kubeconfig: string,
  ) {}

  private env(): NodeJS.ProcessEnv {
    return { ...process.env, KUBECONFIG: this.kubeconfig };
  }

  run(
    args: readonly string[],
    opts: { input?: string | Buffer; timeoutMs?: number } = {},
  ): Promise<RunResult> {
    return run(this.bin, args, { ...opts, env: this.env() });
  }

  /** The command's stdout; a non-zero exit is an error with kubectl's own words. */
  must(args: readonly string[], opts: { input?: string | Buffer; timeoutMs?: number } = {}): Promise<string> {
    return must(this.bin, args, { ...opts, env: this.env() });
  }

  /** Starts a long-running kubectl (logs -f, port-forward, attach) the caller ends. */
  spawn(args: readonly string[]): ChildProcess {
    return spawn(this.bin, [...args], { env: this.env(), stdio: ['pipe', 'pipe', 'pipe'] });
  }

  async apply(...objects: object[]): Promise<void> {
    await this.must(['apply', '-f', '-'], { input: objects.map((o) => YAML.stringify(o)).join('---\n') });
  }

  async json<T = Record<string, unknown>>(args: readonly string[]): Promise<T> {
    return JSON.parse(await this.must([...args, '-o', 'json'])) as T;
  }

  /** A jsonpath of one object, as `kubectl get -o jsonpath` prints it. */
  async jsonpath(kindName: readonly string[], expr: string): Promise<string> {
    return (await this.must(['get', ...kindName, '-o', `jsonpath=${expr}`])).trim();
  }

  async waitPod(ns: string, pod: string, condition = 'Ready', timeoutMs = 120_000): Promise<void> {
    const r = await this.run(
      ['wait', '-n', ns, `--for=condition=${condition}`, `pod/${pod}`, `--timeout=${timeoutMs / 1000}s`],
      {
        timeoutMs: timeoutMs + 10_000,
      },
    );
    if (r.code !== 0) {
      const desc = await this.run(['get', 'pod', '-n', ns, pod, '-o', 'jsonpath={.status}']);
      throw new Error(`pod ${ns}/${pod} not ${condition}: ${r.stderr.trim()} status=${desc.stdout}`);
    }
  }

  /** Polls a pod's jsonpath until `accept` takes its value. */
  async waitJsonpath(
    ns: string,
    pod: string,
    expr: string,
    accept: (v: string) => boolean,
    timeoutMs = 120_000,
  ): Promise<string> {
    return waitFor(
      `${expr} of ${ns}/${pod}`,
      async () => {
        const v = (await this.run(['get', 'pod', '-n', ns, pod, '-o', `jsonpath=${expr}`])).stdout.trim();
        return accept(v) ? v : undefined;
      },
      timeoutMs,
    );
  }
}
