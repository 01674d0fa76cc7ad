import { isImageId, parseImageReference, pullTarget, withDefaultTag } from '../../src/translate/image-ref';

describe('parseImageReference', () => {
  const cases: Array<[string, { repository: string; tag?: string; digest?: string; registry: string }]> = [
    ['busybox', { repository: 'busybox', registry: 'docker.io' }],
    ['busybox:1.36', { repository: 'busybox', tag: '1.36', registry: 'docker.io' }],
    ['library/busybox:latest', { repository: 'library/busybox', tag: 'latest', registry: 'docker.io' }],
    [
      '127.0.0.1:5000/test/busybox:1.0',
      { repository: '127.0.0.1:5000/test/busybox', tag: '1.0', registry: '127.0.0.1:5000' },
    ],
    ['localhost/app', { repository: 'localhost/app', registry: 'localhost' }],
    [
      'registry.k8s.io/pause:3.10',
      { repository: 'registry.k8s.io/pause', tag: '3.10', registry: 'registry.k8s.io' },
    ],
    [
      `quay.io/a/b@sha256:${'a'.repeat(64)}`,
      { repository: 'quay.io/a/b', digest: `sha256:${'a'.repeat(64)}`, registry: 'quay.io' },
    ],
    [
      `h:5000/x:1@sha256:${'b'.repeat(64)}`,
      { repository: 'h:5000/x', tag: '1', digest: `sha256:${'b'.repeat(64)}`, registry: 'h:5000' },
    ],
  ];
  it.each(cases)('reads %s', (ref, want) => {
    expect(parseImageReference(ref)).toEqual(want);
  });

  it.each([
    '',
    'upper/Case',
    'a//b',
    'busybox:',
    'busybox@sha256:zz',
    'bad tag:x y',
    '-lead/x',
    'x:' + 't'.repeat(200),
  ])('refuses %j', (ref) => {
    expect(() => parseImageReference(ref)).toThrow();
  });
});

describe('pullTarget and withDefaultTag', () => {
  it('defaults to latest, keeps tags and digests', () => {
    expect(pullTarget(parseImageReference('busybox'))).toEqual({ fromImage: 'busybox', tag: 'latest' });
    expect(pullTarget(parseImageReference('a/b:2'))).toEqual({ fromImage: 'a/b', tag: '2' });
    const d = `sha256:${'c'.repeat(64)}`;
    expect(pullTarget(parseImageReference(`a/b@${d}`))).toEqual({ fromImage: 'a/b', tag: d });
    expect(withDefaultTag('busybox')).toBe('busybox:latest');
    expect(withDefaultTag('busybox:1')).toBe('busybox:1');
  });

  it('tells ids from names', () => {
    expect(isImageId(`sha256:${'d'.repeat(64)}`)).toBe(true);
    expect(isImageId('d'.repeat(64))).toBe(true);
    expect(isImageId('busybox')).toBe(false);
  });
});
