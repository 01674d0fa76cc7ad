import type { Deps } from '../deps';
import { unary } from '../grpc/handler';
import type { HandlerMap } from '../server';
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

/** RuntimeService methods docker-cri implements; the server answers UNIMPLEMENTED for the rest. */
export function runtimeHandlers(deps: Deps): HandlerMap {
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
