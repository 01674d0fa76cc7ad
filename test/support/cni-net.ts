import { execFileSync, spawn, type ChildProcess } from 'child_process';
import crypto from 'crypto';
import fs from 'fs';
import os from 'os';
import path from 'path';

/**
 * A CNI network of a test's own: unique network name, bridge, /24 in 10.244.0.0/16 (only ever
 * inside namespaces the test makes), IPAM store and conf dir under a temp dir. cleanup() removes
 * the bridge and the temp dir; plugins' DEL removes the rest.
 */
export interface TestCniNet {
  name: string;
  bridge: string;
  subnet: string;
  /** First three octets, e.g. "10.244.77". */
  prefix: string;
  dir: string;
  confDir: string;
  dataDir: string;
  /** The conflist (bridge + host-local, firewall, portmap, loopback), optionally changed. */
  conflist(change?: (doc: Record<string, unknown>) => void): Record<string, unknown>;
  writeConf(file: string, text: string): string;
  /** Addresses host-local holds for this network (its store's file names). */
  reserved(): string[];
  cleanup(): void;
}

function subnetInUse(prefix: string): boolean {
  const routes = execFileSync('ip', ['-4', 'route', 'show'], { encoding: 'utf8' });
  return routes.includes(`${prefix}.`);
}

export function makeTestCniNet(): TestCniNet {
  const tag = crypto.randomBytes(3).toString('hex');
  let prefix = '';
  for (let i = 0; i < 50; i++) {
    const candidate = `10.244.${1 + crypto.randomInt(254)}`;
    if (!subnetInUse(candidate)) {
      prefix = candidate;
      break;
    }
  }
  if (!prefix) throw new Error('no free 10.244.x.0/24 for the test network');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dcri-cni-'));
  const confDir = path.join(dir, 'net.d');
  const dataDir = path.join(dir, 'ipam');
  fs.mkdirSync(confDir);
  const name = `dcri-test-${tag}`;
  const bridge = `dcri${tag}`;
  const subnet = `${prefix}.0/24`;
  return {
    name,
    bridge,
    subnet,
    prefix,
    dir,
    confDir,
    dataDir,
    conflist(change) {
      const doc: Record<string, unknown> = {
        cniVersion: '1.0.0',
        name,
        plugins: [
          {
            type: 'bridge',
            bridge,
            isGateway: true,
            ipam: { type: 'host-local', dataDir, ranges: [[{ subnet }]], routes: [{ dst: '0.0.0.0/0' }] },
          },
          // Docker sets FORWARD's policy to DROP and bridged traffic passes iptables here
          // (br_netfilter): the firewall plugin lets the pods' own traffic through.
          { type: 'firewall' },
          { type: 'portmap', capabilities: { portMappings: true } },
          { type: 'loopback' },
        ],
      };
      change?.(doc);
      return doc;
    },
    writeConf(file, text) {
      const p = path.join(confDir, file);
      fs.writeFileSync(p, text);
      return p;
    },
    reserved() {
      const d = path.join(dataDir, name);
      if (!fs.existsSync(d)) return [];
      return fs.readdirSync(d).filter((f) => /^[0-9.]+$|:/.test(f) && !f.startsWith('last_reserved_ip'));
    },
    cleanup() {
      try {
        execFileSync('ip', ['link', 'del', bridge], { stdio: 'ignore' });
      } catch {
        // never created
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A named network namespace of the test's own with a process in it (for /proc/<pid>/ns/net). */
export interface TestNetns {
  name: string;
  path: string;
  pid: number;
  /** Runs a command inside the namespace. */
  exec(args: string[]): string;
  cleanup(): void;
}

export async function makeTestNetns(): Promise<TestNetns> {
  const name = `dcri-test-${crypto.randomBytes(4).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', name]);
  const child: ChildProcess = spawn('ip', ['netns', 'exec', name, 'sleep', '3600'], { stdio: 'ignore' });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', reject);
  });
  // `ip netns exec` execs sleep in place, so the child's pid is the process inside the namespace;
  // wait until it has switched namespaces.
  const nsPath = `/var/run/netns/${name}`;
  const want = fs.statSync(nsPath).ino;
  for (let i = 0; i < 100; i++) {
    try {
      if (fs.statSync(`/proc/${child.pid}/ns/net`).ino === want) break;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    name,
    path: nsPath,
    pid: child.pid ?? 0,
    exec(args) {
      return execFileSync('ip', ['netns', 'exec', name, ...args], { encoding: 'utf8' });
    },
    cleanup() {
      child.kill('SIGKILL');
      try {
        execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    },
  };
}

/** Host port that nothing listens on right now (a high random one). */
export function freeHostPort(): number {
  const used = execFileSync('ss', ['-Htan'], { encoding: 'utf8' });
  for (;;) {
    const port = 20000 + crypto.randomInt(20000);
    if (!used.includes(`:${port} `)) return port;
  }
}
