import fs from 'fs';
import net from 'net';
import path from 'path';

/** Parses "10.244.1.0/24" (or an IPv6 CIDR); undefined when it is not one. Pure. */
export function parseCidr(text: string): { ip: string; prefix: number; family: 4 | 6 } | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text.trim());
  if (!m) return undefined;
  const family = net.isIP(m[1]);
  const prefix = Number(m[2]);
  if (family === 4 && prefix <= 32) return { ip: m[1], prefix, family: 4 };
  if (family === 6 && prefix <= 128) return { ip: m[1], prefix, family: 6 };
  return undefined;
}

/** The kubelet sends dual-stack CIDRs as one comma-separated string. Pure. */
export function splitPodCidrs(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * The pod CIDR the kubelet gave through UpdateRuntimeConfig, in memory and in a file so that a
 * restarted docker-cri keeps handing it to the plugins before the kubelet sends it again.
 */
export class PodCidrStore {
  private cidrs: string[] = [];
  private readonly file: string;

  constructor(rootDirectory: string) {
    this.file = path.join(rootDirectory, 'network', 'pod-cidr.json');
    try {
      const doc = JSON.parse(fs.readFileSync(this.file, 'utf8')) as { podCidrs?: unknown };
      if (Array.isArray(doc.podCidrs)) {
        this.cidrs = doc.podCidrs.filter((c): c is string => typeof c === 'string' && !!parseCidr(c));
      }
    } catch {
      // never set, or unreadable: the kubelet sends it again soon after it starts
    }
  }

  get(): string[] {
    return [...this.cidrs];
  }

  async set(cidrs: string[]): Promise<void> {
    await fs.promises.mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.tmp`;
    await fs.promises.writeFile(tmp, JSON.stringify({ podCidrs: cidrs }), { mode: 0o600 });
    await fs.promises.rename(tmp, this.file);
    this.cidrs = [...cidrs];
  }
}
