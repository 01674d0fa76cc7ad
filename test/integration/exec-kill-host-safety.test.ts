import { spawn, type ChildProcess } from 'child_process';
import fs from 'fs';
import type Dockerode from 'dockerode';
import { ownerOf, signalOwned } from '../../src/process/exec-kill';
import { OWNER_LABEL, sweepWithDocker, testDocker, TEST_OWNER } from '../support/pod-config';

/** The state letter of /proc/<pid>/stat (R, S, T for stopped, Z …), undefined when gone. */
function stateOf(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

async function waitGone(pid: number): Promise<void> {
  while (stateOf(pid) !== undefined && stateOf(pid) !== 'Z') await new Promise((r) => setTimeout(r, 50));
}

describe('killing an exec never signals a host process', () => {
  const docker: Dockerode = testDocker();
  let container: Dockerode.Container;
  let host: ChildProcess | undefined;

  beforeAll(async () => {
    container = await docker.createContainer({
      Image: 'busybox:latest',
      Cmd: ['sleep', '600'],
      Labels: { [OWNER_LABEL]: TEST_OWNER },
    });
    await container.start();
  });
  afterAll(async () => {
    host?.kill('SIGKILL');
    await sweepWithDocker();
  });

  it("leaves a host process alone that took over a finished exec's pid, and kills the container's", async () => {
    const init = (await container.inspect()).State.Pid;
    const owner = await ownerOf(init);
    expect(owner).toBeDefined();

    const exec = await container.exec({ Cmd: ['sleep', '600'] });
    await exec.start({ Detach: true });
    let execPid = 0;
    while (!execPid) {
      execPid = (await exec.inspect()).Pid;
      if (!execPid) await new Promise((r) => setTimeout(r, 20));
    }

    // A host process standing where the finished exec's pid was when the kill comes: the kill
    // routine is handed its pid as one of the exec's tree, beside a real process of the container.
    host = spawn('sleep', ['600'], { stdio: 'ignore' });
    const hostPid = host.pid!;
    // Just spawned, it may still be running (forking, exec'ing sleep): wait until it sleeps, so a
    // state read below tells "left alone" (S) from "stopped" (T) and not from a process still starting.
    while (stateOf(hostPid) !== 'S') await new Promise((r) => setTimeout(r, 20));

    const stopped = await signalOwned([hostPid, execPid], owner!, 'SIGSTOP');
    expect(stopped).toEqual([execPid]);
    expect(stateOf(hostPid)).not.toBe('T');
    const killed = await signalOwned([hostPid, execPid], owner!, 'SIGKILL');
    expect(killed).toEqual([execPid]);
    await waitGone(execPid);
    expect(stateOf(execPid) ?? 'gone').toMatch(/^(Z|gone)$/);
    expect(stateOf(hostPid)).not.toMatch(/^(T|Z)$/);
    expect(host.exitCode).toBeNull();
    expect(host.signalCode).toBeNull();
    // the container itself is untouched
    expect((await container.inspect()).State.Running).toBe(true);
  });
});
