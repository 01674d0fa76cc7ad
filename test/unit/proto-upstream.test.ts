import fs from 'fs';
import path from 'path';
import { factDiff, protoFacts } from '../support/proto-facts';
import { protoPath } from '../../src/grpc/proto';

// The upstream facts were written from kubernetes/cri-api's api.proto (see the file's header); any
// difference in a message, field number/type/label, enum value, option or RPC shows up here.
describe('proto/runtime/v1/api.proto against cri-api v0.37', () => {
  it('has exactly the upstream wire facts', () => {
    const upstream = fs
      .readFileSync(path.join(__dirname, 'fixtures/cri-api-v0.37-facts.txt'), 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'));
    expect(upstream.length).toBeGreaterThan(700);
    expect(factDiff(protoFacts(protoPath()), upstream)).toEqual([]);
  });

  it('keeps the facts that matter to old and new kubelets', () => {
    const facts = protoFacts(protoPath());
    expect(facts).toContain('field runtime.v1.KeyValue.value = 2 singular bytes');
    expect(facts).toContain('field runtime.v1.AuthConfig.password = 2 singular string [debug_redact=true]');
    expect(facts).toContain(
      'rpc runtime.v1.RuntimeService.StreamContainers(runtime.v1.StreamContainersRequest) returns (stream runtime.v1.StreamContainersResponse)',
    );
  });
});
