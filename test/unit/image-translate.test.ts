import type { ImageInspectInfo } from 'dockerode';
import { encodeRegistryAuth, registryAuth, toCriImage, userFromImageConfig } from '../../src/translate/image';

describe('userFromImageConfig', () => {
  it.each([
    ['', { username: '' }],
    ['1000', { uid: 1000, username: '' }],
    ['1000:1000', { uid: 1000, username: '' }],
    ['app', { username: 'app' }],
    ['app:staff', { username: 'app' }],
    ['0', { uid: 0, username: '' }],
  ])('%j', (user, want) => {
    expect(userFromImageConfig(user)).toEqual(want);
  });
});

describe('toCriImage', () => {
  it('maps inspect output and drops <none> references', () => {
    const img = toCriImage({
      Id: 'sha256:abc',
      RepoTags: ['busybox:latest', '<none>:<none>'],
      RepoDigests: ['<none>@<none>', 'busybox@sha256:def'],
      Size: 12345,
      Config: { User: '1000' },
    } as unknown as ImageInspectInfo);
    expect(img).toMatchObject({
      id: 'sha256:abc',
      repo_tags: ['busybox:latest'],
      repo_digests: ['busybox@sha256:def'],
      size: '12345',
      uid: { value: '1000' },
      username: '',
      spec: { image: 'sha256:abc' },
    });
  });

  it('leaves uid unset for a named user', () => {
    const img = toCriImage({ Id: 'x', Config: { User: 'app' } } as unknown as ImageInspectInfo);
    expect(img.uid).toBeNull();
    expect(img.username).toBe('app');
  });
});

describe('registryAuth', () => {
  it('is absent without credentials', () => {
    expect(registryAuth(null, 'r')).toBeUndefined();
    expect(
      registryAuth(
        { username: '', password: '', auth: '', server_address: '', identity_token: '', registry_token: '' },
        'r',
      ),
    ).toBeUndefined();
  });

  it('unpacks the auth field and names the registry', () => {
    const auth = Buffer.from('u:p:with:colons').toString('base64');
    const out = registryAuth(
      { username: '', password: '', auth, server_address: '', identity_token: '', registry_token: '' },
      '127.0.0.1:5001',
    );
    expect(out).toEqual({ username: 'u', password: 'p:with:colons', serveraddress: '127.0.0.1:5001' });
    const decoded = JSON.parse(Buffer.from(encodeRegistryAuth(out!), 'base64url').toString());
    expect(decoded.username).toBe('u');
  });

  it('passes tokens through', () => {
    const out = registryAuth(
      {
        username: '',
        password: '',
        auth: '',
        server_address: 'reg',
        identity_token: 'id',
        registry_token: 'rt',
      },
      'x',
    );
    expect(out).toEqual({ identitytoken: 'id', registrytoken: 'rt', serveraddress: 'reg' });
  });
});
