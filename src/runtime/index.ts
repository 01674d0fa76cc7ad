import type { Deps } from '../deps';
import { unary as unaryCall, type UnaryImpl } from '../grpc/handler';
import type { HandlerMap } from '../server';
import { withLocks, type CallLocks } from '../concurrency/call-locks';
import type { CreateContainerRequest__Output } from '../generated/runtime/v1/CreateContainerRequest';
import type { RunPodSandboxRequest__Output } from '../generated/runtime/v1/RunPodSandboxRequest';
import { isContainerLabels, LABEL_POD_UID, LABEL_SANDBOX_ID } from '../translate/labels';
import { sandboxName } from '../translate/names';
import { findContainerIfExists } from '../lookup/find-container';
import { findSandboxIfExists, resolveSandboxId } from '../lookup/find-sandbox';
import { version } from './version';
import { runtimeStatus } from './runtime-status';
import { runtimeConfig } from './runtime-config';
import { runPodSandbox } from './sandbox-run';
import { stopPodSandbox } from './sandbox-stop';
import { removePodSandbox } from './sandbox-remove';
import { podSandboxStatus } from './sandbox-status';
import { listPodSandbox } from './sandbox-list';
import { createContainer } from './container-create';
import { startContainer } from './container-start';
import { stopContainer } from './container-stop';
import { removeContainer } from './container-remove';
import { containerStatus } from './container-status';
import { listContainers } from './container-list';
import { updateContainerResources } from './container-update';
import { execSync } from './exec-sync';
import { containerStats, listContainerStats } from './container-stats';
import { listPodSandboxStats, podSandboxStats } from './pod-sandbox-stats';
import { getContainerEvents } from './container-events';
import { listMetricDescriptors, listPodSandboxMetrics } from './metric-descriptors';
import { updateRuntimeConfig } from './update-runtime-config';
import { reopenContainerLog } from './container-reopen-log';
import { exec } from './exec';
import { attach } from './attach';
import { portForward } from './port-forward';
import { streamContainers } from './container-stream';
import { streamPodSandboxes } from './sandbox-stream';
import { streamContainerStats, streamPodSandboxMetrics, streamPodSandboxStats } from './stats-stream';
import { updatePodSandboxResources } from './sandbox-update-resources';
import { checkpointContainer, checkpointPod, restorePod } from './checkpoint';

/** The full id of the sandbox `ref` names; undefined when it names none (the handler answers that). */
async function sandboxOf(deps: Deps, ref: string | undefined): Promise<string | undefined> {
  const known = ref ? resolveSandboxId(deps, ref) : undefined;
  return known ?? (await findSandboxIfExists(deps, ref ?? ''))?.id;
}

/** The sandbox a container belongs to (labels never change, so the index's copy will do). */
async function podOfContainer(deps: Deps, ref: string | undefined): Promise<string | undefined> {
  const id = ref ? deps.index.resolve(ref, 'container') : undefined;
  const known = id ? deps.index.get(id) : undefined;
  if (known && isContainerLabels(known.labels)) return known.labels[LABEL_SANDBOX_ID] || known.id;
  const found = await findContainerIfExists(deps, ref);
  return found ? found.Config?.Labels?.[LABEL_SANDBOX_ID] || found.Id : undefined;
}

/**
 * Which lock each call takes: the one place that says it (handlers never lock by themselves; the
 * README's "Ordering" section copies this table).
 *
 *   RPC               pod lock (sandbox id)     name reservation
 *   RunPodSandbox     -                         k8s_POD_<pod>_<ns>_<uid>_<attempt>
 *   StopPodSandbox    the sandbox               -
 *   RemovePodSandbox  the sandbox               -
 *   UpdatePodSandboxResources  the sandbox      -
 *   CreateContainer   the sandbox               <pod uid>/<container name>/<attempt>
 *   StartContainer    the container's sandbox   -
 *   RemoveContainer   the container's sandbox   -
 *   StopContainer     -                         -
 *   all other RPCs    -                         -
 *
 * Why: calls on one pod run one at a time, so a container is never created in, or started in, a
 * pod that a RemovePodSandbox is taking apart, and stop/remove never see a pod half made. Different
 * pods run in parallel. StopContainer takes no lock: its grace period may be long and would hold up
 * every other call on the pod (Docker orders stops of one container itself; StopPodSandbox kills
 * whatever still runs). Reads, ExecSync, Exec, Attach, PortForward, UpdateContainerResources and
 * ReopenContainerLog act on what exists and take none. A create first reserves its name: a retry of
 * a create whose client gave up waits for the first, then finds its container (no second one).
 */
function lockPlan(deps: Deps): Partial<Record<string, (req: never) => Promise<CallLocks>>> {
  const pod = async (req: { pod_sandbox_id: string }): Promise<CallLocks> => ({
    pod: await sandboxOf(deps, req.pod_sandbox_id),
  });
  const podOf = async (req: { container_id: string }): Promise<CallLocks> => ({
    pod: await podOfContainer(deps, req.container_id),
  });
  return {
    RunPodSandbox: async (req: RunPodSandboxRequest__Output) => {
      const md = req.config?.metadata;
      return { name: md?.name && md.namespace && md.uid ? sandboxName(md) : undefined };
    },
    StopPodSandbox: pod,
    RemovePodSandbox: pod,
    // Its record must not outlive a RemovePodSandbox running at the same time.
    UpdatePodSandboxResources: pod,
    CreateContainer: async (req: CreateContainerRequest__Output) => {
      const sandbox = await sandboxOf(deps, req.pod_sandbox_id);
      // What fixes the Docker name k8s_<container>_<pod>_<ns>_<uid>_<attempt> (one pod per uid).
      const uid =
        req.sandbox_config?.metadata?.uid || (sandbox && deps.index.get(sandbox)?.labels[LABEL_POD_UID]);
      const md = req.config?.metadata;
      return {
        pod: sandbox,
        name: sandbox && md?.name ? `${uid || sandbox}/${md.name}/${md.attempt}` : undefined,
      };
    },
    StartContainer: podOf,
    RemoveContainer: podOf,
  };
}

/** RuntimeService methods docker-cri implements; the server answers UNIMPLEMENTED for the rest. */
export function runtimeHandlers(deps: Deps): HandlerMap {
  const plan = lockPlan(deps);
  /** A unary handler under the locks the table gives its method. */
  const unary = <Req, Res>(method: string, impl: UnaryImpl<Req, Res>) => {
    const keys = plan[method] as ((req: Req) => Promise<CallLocks>) | undefined;
    return unaryCall(method, keys ? withLocks(deps.podLocks, keys, impl) : impl);
  };
  return {
    Version: unary('Version', version(deps)),
    Status: unary('Status', runtimeStatus(deps)),
    RuntimeConfig: unary('RuntimeConfig', runtimeConfig(deps)),
    RunPodSandbox: unary('RunPodSandbox', runPodSandbox(deps)),
    StopPodSandbox: unary('StopPodSandbox', stopPodSandbox(deps)),
    RemovePodSandbox: unary('RemovePodSandbox', removePodSandbox(deps)),
    PodSandboxStatus: unary('PodSandboxStatus', podSandboxStatus(deps)),
    ListPodSandbox: unary('ListPodSandbox', listPodSandbox(deps)),
    CreateContainer: unary('CreateContainer', createContainer(deps)),
    StartContainer: unary('StartContainer', startContainer(deps)),
    StopContainer: unary('StopContainer', stopContainer(deps)),
    RemoveContainer: unary('RemoveContainer', removeContainer(deps)),
    ContainerStatus: unary('ContainerStatus', containerStatus(deps)),
    ListContainers: unary('ListContainers', listContainers(deps)),
    UpdateContainerResources: unary('UpdateContainerResources', updateContainerResources(deps)),
    ExecSync: unary('ExecSync', execSync(deps)),
    ContainerStats: unary('ContainerStats', containerStats(deps)),
    ListContainerStats: unary('ListContainerStats', listContainerStats(deps)),
    PodSandboxStats: unary('PodSandboxStats', podSandboxStats(deps)),
    ListPodSandboxStats: unary('ListPodSandboxStats', listPodSandboxStats(deps)),
    GetContainerEvents: getContainerEvents(deps),
    ListMetricDescriptors: unary('ListMetricDescriptors', listMetricDescriptors(deps)),
    ListPodSandboxMetrics: unary('ListPodSandboxMetrics', listPodSandboxMetrics(deps)),
    UpdateRuntimeConfig: unary('UpdateRuntimeConfig', updateRuntimeConfig(deps)),
    ReopenContainerLog: unary('ReopenContainerLog', reopenContainerLog(deps)),
    Exec: unary('Exec', exec(deps)),
    Attach: unary('Attach', attach(deps)),
    PortForward: unary('PortForward', portForward(deps)),
    StreamPodSandboxes: streamPodSandboxes(deps),
    StreamContainers: streamContainers(deps),
    StreamContainerStats: streamContainerStats(deps),
    StreamPodSandboxStats: streamPodSandboxStats(deps),
    StreamPodSandboxMetrics: streamPodSandboxMetrics(deps),
    UpdatePodSandboxResources: unary('UpdatePodSandboxResources', updatePodSandboxResources(deps)),
    CheckpointContainer: unary('CheckpointContainer', checkpointContainer(deps)),
    CheckpointPod: unary('CheckpointPod', checkpointPod(deps)),
    RestorePod: unary('RestorePod', restorePod(deps)),
  } as HandlerMap;
}
