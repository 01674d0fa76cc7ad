import { status } from '@grpc/grpc-js';
import type { ContainerInspectInfo } from 'dockerode';
import type { Engine } from '../../src/docker/engine';
import { createNamed, type NamedCreate } from '../../src/docker/named-create';
import { toCriError } from '../../src/docker/errors';
import { CriError } from '../../src/grpc/status-error';
import { setLogLevel } from '../../src/logger';

setLogLevel('error');

const NAME = 'k8s_app_web_default_uid1_0';
const taken = () =>
  toCriError(
    {
      statusCode: 409,
      message: `Conflict. The container name "/${NAME}" is already in use by container "h".`,
    },
    `container "${NAME}"`,
  );

/** An engine whose inspect-by-name finds `holder` (or 404 when none). */
function dockerWith(holder: Partial<ContainerInspectInfo> | undefined): Pick<Engine, 'inspectContainer'> {
  return {
    inspectContainer: async () => {
      if (!holder) throw toCriError({ statusCode: 404, message: 'No such container' });
      return holder as ContainerInspectInfo;
    },
  };
}

const holder = (
  running: boolean,
  labels: Record<string, string> = { 'io.kubernetes.docker.type': 'container' },
) =>
  ({
    Id: 'h'.repeat(64),
    State: { Running: running, Status: running ? 'running' : 'created' },
    Config: { Labels: labels },
  }) as unknown as Partial<ContainerInspectInfo>;

function spec(creates: Array<() => string>, removed: string[]): NamedCreate {
  return {
    name: NAME,
    what: 'container',
    create: async () => creates.shift()!(),
    ours: (h) => h.Config?.Labels?.['io.kubernetes.docker.type'] === 'container',
    removeHolder: async (id) => {
      removed.push(id);
    },
  };
}

describe('createNamed: one container per name, whatever held it', () => {
  it('creates at once when the name is free', async () => {
    const removed: string[] = [];
    await expect(createNamed(dockerWith(undefined), spec([() => 'new'], removed))).resolves.toBe('new');
    expect(removed).toEqual([]);
  });

  it('removes a holder of ours that is not running, then creates under the same name', async () => {
    const removed: string[] = [];
    const creates = [
      () => {
        throw taken();
      },
      () => 'new',
    ];
    await expect(createNamed(dockerWith(holder(false)), spec(creates, removed))).resolves.toBe('new');
    expect(removed).toEqual(['h'.repeat(64)]);
  });

  const refusals: Array<[string, Partial<ContainerInspectInfo>, RegExp]> = [
    ['a running holder of ours', holder(true), /held by running container "h{64}"/],
    [
      'a stopped holder made outside Kubernetes',
      holder(false, {}),
      /container "h{64}" \(not made by Kubernetes/,
    ],
    ['a running holder made outside Kubernetes', holder(true, {}), /not made by Kubernetes/],
  ];
  for (const [what, h, message] of refusals) {
    it(`answers ALREADY_EXISTS naming ${what}, and removes nothing`, async () => {
      const removed: string[] = [];
      const creates = [
        () => {
          throw taken();
        },
      ];
      const err = await createNamed(dockerWith(h), spec(creates, removed)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CriError);
      expect((err as CriError).code).toBe(status.ALREADY_EXISTS);
      expect((err as CriError).message).toMatch(message);
      expect(removed).toEqual([]);
    });
  }

  it('creates again when the holder vanished between the conflict and the look', async () => {
    const creates = [
      () => {
        throw taken();
      },
      () => 'new',
    ];
    await expect(createNamed(dockerWith(undefined), spec(creates, []))).resolves.toBe('new');
  });

  it('passes other create failures through untouched', async () => {
    const boom = toCriError({ statusCode: 500, message: 'disk full' });
    const creates = [
      () => {
        throw boom;
      },
    ];
    await expect(createNamed(dockerWith(undefined), spec(creates, []))).rejects.toBe(boom);
  });
});
