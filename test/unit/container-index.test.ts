import type { ContainerInfo } from 'dockerode';
import type { DockerClient } from '../../src/docker/client';
import { ContainerIndex } from '../../src/docker/container-index';

/** A Docker client whose list answers arrive when the test says so. */
function fakeDocker() {
  const waiting: Array<(list: ContainerInfo[]) => void> = [];
  const docker = {
    call: (_op: string, _ctx: string, _fn: unknown) => new Promise<ContainerInfo[]>((r) => waiting.push(r)),
  } as unknown as DockerClient;
  return { docker, waiting };
}

const entry = (id: string, state: string): ContainerInfo =>
  ({
    Id: id,
    Names: ['/x'],
    Labels: { 'io.kubernetes.docker.type': 'container' },
    State: state,
    Created: 1,
    Image: 'i',
    ImageID: 'sha256:i',
  }) as unknown as ContainerInfo;

describe('ContainerIndex.refresh', () => {
  const id = 'a'.repeat(64);

  it('never lets an older answer win, and an older caller gets the newer answer', async () => {
    const { docker, waiting } = fakeDocker();
    const index = new ContainerIndex(docker);
    const first = index.refresh(id);
    const second = index.refresh(id);
    waiting[1]([entry(id, 'running')]); // the newer answer arrives first
    await expect(second).resolves.toMatchObject({ state: 'running' });
    const third = index.refresh(id); // starts after the second finished
    waiting[0]([entry(id, 'created')]); // the oldest, stale answer arrives last
    waiting[2]([entry(id, 'exited')]);
    await expect(first).resolves.toMatchObject({ state: 'exited' });
    await expect(third).resolves.toMatchObject({ state: 'exited' });
    expect(index.get(id)?.state).toBe('exited');
  });

  it('emits a change per state step and forgets removed containers', async () => {
    const { docker, waiting } = fakeDocker();
    const index = new ContainerIndex(docker);
    const changes: string[] = [];
    index.on('change', (c: { after?: { state: string } }) => changes.push(c.after?.state ?? 'gone'));
    const p1 = index.refresh(id);
    waiting[0]([entry(id, 'running')]);
    await p1;
    const p2 = index.refresh(id);
    waiting[1]([]);
    await expect(p2).resolves.toBeUndefined();
    expect(changes).toEqual(['running', 'gone']);
    expect(index.list()).toEqual([]);
  });
});
