import { decodeLabels, encodeLabels, matchesSelector } from '../../src/translate/labels';
import {
  containerName,
  parseContainerName,
  parseSandboxName,
  sandboxName,
  withRandomSuffix,
} from '../../src/translate/names';
import { rfc3339ToNanos } from '../../src/translate/time';

describe('labels codec', () => {
  it('round-trips labels and annotations and strips internal keys', () => {
    const docker = encodeLabels(
      { app: 'web', 'io.kubernetes.pod.name': 'p' },
      { 'kubernetes.io/config.seen': 'x', a: 'b' },
      { 'io.kubernetes.docker.type': 'container', 'io.kubernetes.sandbox.id': 'abc', 'io.docker-cri.x': '1' },
    );
    expect(docker['annotation.kubernetes.io/config.seen']).toBe('x');
    expect(decodeLabels(docker)).toEqual({
      labels: { app: 'web', 'io.kubernetes.pod.name': 'p' },
      annotations: { 'kubernetes.io/config.seen': 'x', a: 'b' },
    });
  });

  it('hides the POD container name on sandboxes only', () => {
    const docker = { 'io.kubernetes.container.name': 'POD', 'io.kubernetes.docker.type': 'podsandbox' };
    expect(decodeLabels(docker, true).labels).toEqual({});
    expect(decodeLabels(docker, false).labels).toEqual({ 'io.kubernetes.container.name': 'POD' });
  });

  it('matches selectors', () => {
    expect(matchesSelector({ a: '1', b: '2' }, { a: '1' })).toBe(true);
    expect(matchesSelector({ a: '1' }, { a: '2' })).toBe(false);
    expect(matchesSelector({ a: '1' }, {})).toBe(true);
    expect(matchesSelector({ a: '1' }, undefined)).toBe(true);
  });
});

describe('dockershim names', () => {
  it('makes and parses sandbox names, with or without a random suffix', () => {
    const n = sandboxName({ name: 'web-1', namespace: 'default', uid: 'u-1', attempt: 2 });
    expect(n).toBe('k8s_POD_web-1_default_u-1_2');
    expect(parseSandboxName(n)).toEqual({ name: 'web-1', namespace: 'default', uid: 'u-1', attempt: 2 });
    expect(parseSandboxName('/' + withRandomSuffix(n))).toEqual({
      name: 'web-1',
      namespace: 'default',
      uid: 'u-1',
      attempt: 2,
    });
  });

  it('makes and parses container names', () => {
    const n = containerName({ containerName: 'app', podName: 'web', namespace: 'ns', uid: 'u', attempt: 0 });
    expect(n).toBe('k8s_app_web_ns_u_0');
    expect(parseContainerName(n)).toEqual({
      containerName: 'app',
      podName: 'web',
      namespace: 'ns',
      uid: 'u',
      attempt: 0,
    });
    expect(parseSandboxName(n)).toBeUndefined();
  });

  it('rejects foreign names', () => {
    expect(parseContainerName('nginx')).toBeUndefined();
    expect(parseContainerName('k8s_a_b_c_d_notanumber')).toBeUndefined();
    expect(parseContainerName('k8s_a_b')).toBeUndefined();
  });
});

describe('rfc3339ToNanos', () => {
  it('keeps nanoseconds', () => {
    expect(rfc3339ToNanos('2024-01-02T03:04:05.123456789Z')).toBe('1704164645123456789');
    expect(rfc3339ToNanos('2024-01-02T03:04:05Z')).toBe('1704164645000000000');
    expect(rfc3339ToNanos('2024-01-02T03:04:05.5+01:00')).toBe('1704161045500000000');
  });
  it('gives 0 for Docker zero time', () => {
    expect(rfc3339ToNanos('0001-01-01T00:00:00Z')).toBe('0');
    expect(rfc3339ToNanos('')).toBe('0');
  });
});
