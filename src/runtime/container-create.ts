import fs from 'fs';
import type { Deps } from '../deps';
import type { UnaryImpl } from '../grpc/handler';
import type { CreateContainerRequest__Output } from '../generated/runtime/v1/CreateContainerRequest';
import type { CreateContainerResponse } from '../generated/runtime/v1/CreateContainerResponse';
import type { NamespaceOption__Output } from '../generated/runtime/v1/NamespaceOption';
import { failedPrecondition, invalidArgument, notFound } from '../grpc/status-error';
import { createNamed } from '../docker/named-create';
import { isContainerLabels } from '../translate/labels';
import { findImage, specImageRef } from '../image/lookup';
import { logger } from '../logger';
import { toCreateOptions, validateConfig, type SandboxFacts } from '../translate/container-config';
import { seccompChoice } from '../translate/container-security';
import { containerJoinModes, findSandbox, sandboxNamespaces } from '../lookup/find-sandbox';
import { sandboxMetadata } from '../translate/sandbox-status';
import { LABEL_LOG_DIRECTORY } from '../translate/sandbox-config';
import { clampOomScoreAdj } from '../host/oom-score';
import { limitedHostCapabilities } from '../host/limited-capabilities';
import { removeContainer } from './container-remove';

const SECCOMP_FIELD = 'config.linux.security_context.seccomp';

/** The Localhost profile's JSON, checked to be JSON, so a bad file fails the create and not the start. */
async function readSeccompProfile(file: string): Promise<string> {
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch (err) {
    throw invalidArgument(
      `${SECCOMP_FIELD}: cannot read seccomp profile "${file}": ${(err as Error).message}`,
    );
  }
  try {
    JSON.parse(text);
  } catch {
    throw invalidArgument(`${SECCOMP_FIELD}: seccomp profile "${file}" is not JSON`);
  }
  return text;
}

/**
 * CreateContainer: the container is created (not started) in the sandbox's namespaces, with all
 * that later answers need recorded in its labels. Runs under its pod's lock (runtime/index.ts), so
 * a container never appears in a pod being removed.
 */
export function createContainer(
  deps: Deps,
): UnaryImpl<CreateContainerRequest__Output, CreateContainerResponse> {
  return async (req, ctx) => {
    if (!req.pod_sandbox_id) throw invalidArgument('pod_sandbox_id is empty: a pod sandbox id is required');
    const config = validateConfig(req.config);
    const imageRef = specImageRef(config.image, 'config.image');
    // Read under the pod lock (runtime/index.ts): a RemovePodSandbox may have finished meanwhile.
    // One after the other: asked together they were no faster (dockerd serves them in turn), and a
    // missing sandbox is reported before a missing image.
    const sandbox = await findSandbox(deps, req.pod_sandbox_id);
    if (!sandbox.inspect.State?.Running) {
      throw failedPrecondition(`pod sandbox "${sandbox.id}" is not ready: its containers cannot join it`);
    }
    const image = await findImage(deps, imageRef);
    if (!image) throw notFound(`image "${imageRef}" not found: pull it first`);

    const sc = config.linux?.security_context;
    const choice = seccompChoice(sc);
    const seccompProfile = choice.kind === 'localhost' ? await readSeccompProfile(choice.path) : undefined;

    let containerNs: NamespaceOption__Output | null | undefined = sc?.namespace_options;
    if (containerNs?.pid === 'TARGET' && containerNs.target_id) {
      const target = deps.index.resolve(containerNs.target_id, 'container');
      if (!target) {
        throw notFound(
          `config.linux.security_context.namespace_options.target_id: container "${containerNs.target_id}" not found`,
        );
      }
      containerNs = { ...containerNs, target_id: target };
    }
    const meta = sandboxMetadata(sandbox.inspect.Name ?? '', sandbox.inspect.Config?.Labels ?? {});
    const facts: SandboxFacts = {
      id: sandbox.id,
      podName: req.sandbox_config?.metadata?.name || meta.name,
      podNamespace: req.sandbox_config?.metadata?.namespace || meta.namespace,
      podUid: req.sandbox_config?.metadata?.uid || meta.uid,
      cgroupParent: sandbox.inspect.HostConfig?.CgroupParent ?? '',
      logDirectory: sandbox.inspect.Config?.Labels?.[LABEL_LOG_DIRECTORY],
    };
    const engine = await deps.capabilities.get();
    const opts = toCreateOptions({
      config,
      sandbox: facts,
      sandboxConfig: req.sandbox_config,
      image: { id: image.Id, repoDigests: image.RepoDigests ?? [] },
      seccompProfile,
      clampOom: clampOomScoreAdj,
      hostCapabilities: limitedHostCapabilities(),
      engine,
      namespaces: containerJoinModes(sandbox.id, sandboxNamespaces(sandbox.inspect), containerNs),
    });
    const extras = config.linux?.resources;
    if (extras && Object.keys(extras.unified ?? {}).length) {
      logger.warn('unified (cgroup v2) resources cannot be applied through Docker; recorded only', {
        name: opts.name,
        unified: extras.unified,
      });
    }

    // Under this attempt's own name only (docker/named-create.ts): a holder of an earlier try that
    // is not running (a create whose client gave up) is removed, a running one is ALREADY_EXISTS.
    const name = opts.name!;
    const containerId = await createNamed(deps.engine, {
      name,
      what: 'container',
      create: () => deps.engine.createContainer({ ...opts, name }, { context: `container "${name}"` }),
      ours: (holder) => isContainerLabels(holder.Config?.Labels),
      removeHolder: async (id) => {
        await removeContainer(deps)({ container_id: id }, ctx);
      },
    });
    return { container_id: containerId };
  };
}
