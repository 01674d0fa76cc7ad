import { status } from '../grpc/status-codes';
import type { ContainerInspectInfo } from 'dockerode';
import { CriError } from '../grpc/status-error';
import { logger } from '../logger';
import type { Engine } from './engine';
import { isConflict, isNotFound } from './errors';

/** One create under a fixed Docker name, and what to do with a container already holding it. */
export interface NamedCreate {
  /** The Docker name (dockershim's form: one name per pod attempt or container attempt). */
  name: string;
  /** "pod sandbox" or "container", for messages. */
  what: string;
  /** Creates the container under `name`; its id. */
  create: () => Promise<string>;
  /** Whether a holder is one of ours of this kind (a Kubernetes container docker-cri may remove). */
  ours: (holder: ContainerInspectInfo) => boolean;
  /** Removes a holder that is not running, with whatever belongs to it. */
  removeHolder: (id: string) => Promise<void>;
}

function isNameTaken(err: unknown): boolean {
  return isConflict(err) && err instanceof CriError && err.code === status.ALREADY_EXISTS;
}

async function holderOf(
  engine: Pick<Engine, 'inspectContainer'>,
  name: string,
): Promise<ContainerInspectInfo | undefined> {
  try {
    return await engine.inspectContainer(name, { context: `container name "${name}"` });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/**
 * Creates under `name`, never under another one: two containers for one pod attempt (or one
 * container attempt) are what a kubelet retry must never leave behind. The caller holds the name's
 * reservation (runtime/index.ts), so the only holders to meet here are containers of earlier tries
 * or of another runtime. As dockershim did, a holder of ours that is not running is removed and the
 * create done again; a running one (or one made outside Kubernetes, which is never ours to remove)
 * makes the call fail ALREADY_EXISTS naming it. ALREADY_EXISTS rather than FAILED_PRECONDITION:
 * nothing has to change before a retry could succeed, the thing asked for is there already, and
 * the kubelet's next sync finds it in ListPodSandbox / ListContainers under its id.
 */
export async function createNamed(
  engine: Pick<Engine, 'inspectContainer'>,
  spec: NamedCreate,
): Promise<string> {
  try {
    return await spec.create();
  } catch (err) {
    if (!isNameTaken(err)) throw err;
  }
  const holder = await holderOf(engine, spec.name);
  if (holder) {
    const running = Boolean(holder.State?.Running || holder.State?.Restarting);
    if (running || !spec.ours(holder)) {
      throw new CriError(
        status.ALREADY_EXISTS,
        `${spec.what} name "${spec.name}" is already held by ${running ? 'running ' : ''}container "${holder.Id}"` +
          (spec.ours(holder) ? '' : ' (not made by Kubernetes: remove or rename it)'),
      );
    }
    logger.info('name held by a stopped container of an earlier try: removing it', {
      name: spec.name,
      holder: holder.Id,
      state: holder.State?.Status,
    });
    await spec.removeHolder(holder.Id);
  }
  // Taken again now only by something outside docker-cri racing us: its error is the answer.
  return spec.create();
}
