import fc from 'fast-check';
import type * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as protobuf from 'protobufjs';
import { criRoot, criServiceDefinition, LOADER_OPTIONS, protoPath } from '../../src/grpc/proto';
import { messageArb } from '../support/proto-arbitrary';

/**
 * The server's service definitions are made from the one protobufjs root (criServiceDefinition);
 * they must serve exactly what @grpc/proto-loader's would: the same methods and paths, and
 * (de)serializers that write the same bytes and read back the same objects.
 */
const reference = protoLoader.loadSync(protoPath(), LOADER_OPTIONS);
const services = ['RuntimeService', 'ImageService'] as const;

type Outcome = { bytes: string } | { error: true };
const serialized = (fn: (v: never) => Buffer, value: unknown): Outcome => {
  try {
    return { bytes: Buffer.from(fn(value as never)).toString('hex') };
  } catch {
    return { error: true };
  }
};

describe.each(services)('%s built from the one root', (service) => {
  const ours = criServiceDefinition(service);
  const theirs = reference[`runtime.v1.${service}`] as protoLoader.ServiceDefinition;
  const methods = Object.keys(theirs);

  it('has every method proto-loader has, with the same path, streaming and original name', () => {
    expect(Object.keys(ours).sort()).toEqual([...methods].sort());
    for (const name of methods) {
      const { path, requestStream, responseStream, originalName } = theirs[name];
      expect({
        path: ours[name].path,
        requestStream: ours[name].requestStream,
        responseStream: ours[name].responseStream,
        originalName: ours[name].originalName,
      }).toEqual({ path, requestStream, responseStream, originalName });
    }
  });

  it.each(methods)('%s: requests and responses encode and decode as proto-loader does', (name) => {
    const method = criRoot().lookupService(`runtime.v1.${service}`).methods[name];
    const sides = [
      ['request', method.resolvedRequestType as protobuf.Type],
      ['response', method.resolvedResponseType as protobuf.Type],
    ] as const;
    for (const [side, type] of sides) {
      const mine = ours[name] as grpc.MethodDefinition<unknown, unknown>;
      const ref = theirs[name];
      const serialize = side === 'request' ? mine.requestSerialize : mine.responseSerialize;
      const deserialize = side === 'request' ? mine.requestDeserialize : mine.responseDeserialize;
      const refSerialize = side === 'request' ? ref.requestSerialize : ref.responseSerialize;
      const refDeserialize = side === 'request' ? ref.requestDeserialize : ref.responseDeserialize;
      fc.assert(
        fc.property(messageArb(type, 2), (value) => {
          const out = serialized(serialize, value);
          expect(out).toEqual(serialized(refSerialize, value));
          if ('bytes' in out) {
            const bytes = Buffer.from(out.bytes, 'hex');
            expect(deserialize(bytes)).toEqual(refDeserialize(bytes));
          }
        }),
        { numRuns: 15, seed: 26 },
      );
      expect(() => serialize([] as never)).toThrow(/got array/);
    }
  });
});

describe('the server side', () => {
  it('loads no @grpc/proto-loader', () => {
    jest.isolateModules(() => {
      jest.doMock('@grpc/proto-loader', () => {
        throw new Error('@grpc/proto-loader was loaded');
      });
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh copy with the mock
      const server = require('../../src/server') as typeof import('../../src/server');
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- the same fresh registry
      const proto = require('../../src/grpc/proto') as typeof import('../../src/grpc/proto');
      expect(typeof server.CriServer).toBe('function');
      expect(Object.keys(proto.criServiceDefinition('ImageService'))).toContain('PullImage');
      jest.dontMock('@grpc/proto-loader');
    });
  });

  it('parses the proto once: the service definitions and the cached encoders share one root', () => {
    expect(criRoot()).toBe(criRoot());
  });
});
