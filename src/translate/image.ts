import type { ImageInspectInfo } from 'dockerode';
import type { Image } from '../generated/runtime/v1/Image';
import type { AuthConfig__Output } from '../generated/runtime/v1/AuthConfig';

/**
 * Docker image inspect → CRI Image. Pure.
 */
export function toCriImage(info: ImageInspectInfo): Image {
  const user = userFromImageConfig(info.Config?.User ?? '');
  return {
    id: info.Id,
    repo_tags: (info.RepoTags ?? []).filter((t) => t !== '<none>:<none>'),
    repo_digests: (info.RepoDigests ?? []).filter((d) => !d.startsWith('<none>@')),
    size: String(info.Size ?? 0),
    uid: user.uid === undefined ? null : { value: String(user.uid) },
    username: user.username,
    spec: { image: info.Id, annotations: {}, user_specified_image: '', runtime_handler: '' },
    pinned: false,
  };
}

/**
 * The image's configured user, as CRI wants it: a numeric user goes to uid, a name to username.
 * `user:group` forms keep only the user part.
 */
export function userFromImageConfig(user: string): { uid?: number; username: string } {
  const u = user.split(':')[0];
  if (u === '') return { username: '' };
  if (/^\d+$/.test(u)) return { uid: Number(u), username: '' };
  return { username: u };
}

/**
 * CRI AuthConfig → the base64url JSON Docker takes in X-Registry-Auth. An `auth` field
 * (base64 of user:password) is unpacked when username/password are absent.
 */
export function registryAuth(
  auth: AuthConfig__Output | null | undefined,
  registry: string,
): Record<string, string> | undefined {
  if (!auth) return undefined;
  let username = auth.username ?? '';
  let password = auth.password ?? '';
  if (!username && !password && auth.auth) {
    const decoded = Buffer.from(auth.auth, 'base64').toString('utf8');
    const sep = decoded.indexOf(':');
    if (sep >= 0) {
      username = decoded.slice(0, sep);
      password = decoded.slice(sep + 1);
    }
  }
  const out: Record<string, string> = {};
  if (username) out.username = username;
  if (password) out.password = password;
  if (auth.identity_token) out.identitytoken = auth.identity_token;
  if (auth.registry_token) out.registrytoken = auth.registry_token;
  if (Object.keys(out).length === 0) return undefined;
  out.serveraddress = auth.server_address || registry;
  return out;
}

/** The header value itself, for callers that build the request by hand. */
export function encodeRegistryAuth(authconfig: Record<string, string>): string {
  return Buffer.from(JSON.stringify(authconfig)).toString('base64url');
}
