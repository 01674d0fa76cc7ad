/**
 * The floor of a CRI call (bench/call-cost.bench.ts): @grpc/grpc-js with proto-loader's own
 * serializers, serving RuntimeService on the unix socket argv[2], every method answering the same
 * fixed object from BARE_ANSWERS (JSON: method name to response). No Docker, no index, no logging:
 * what any Node.js CRI server pays for a unary call before doing anything.
 */
import * as grpc from '@grpc/grpc-js';
import { loadCri } from '../src/grpc/cri-package';

const answers = JSON.parse(process.env.BARE_ANSWERS ?? '{}') as Record<string, unknown>;
const service = loadCri().runtime.v1.RuntimeService.service;
const impl: grpc.UntypedServiceImplementation = {};
for (const method of Object.keys(service)) {
  impl[method] = ((_call: unknown, callback: grpc.sendUnaryData<unknown>) =>
    callback(null, answers[method] ?? {})) as grpc.handleUnaryCall<unknown, unknown>;
}
const server = new grpc.Server({ 'grpc.enable_channelz': 0 });
server.addService(service, impl);
server.bindAsync(`unix://${process.argv[2]}`, grpc.ServerCredentials.createInsecure(), (err) => {
  if (err) {
    console.error(err.message);
    process.exit(1);
  }
});
