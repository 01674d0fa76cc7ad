/** Network counters of a network namespace, from /proc/<pid>/net/dev. Pure. */

export interface NetInterfaceSample {
  name: string;
  rxBytes: bigint;
  rxErrors: bigint;
  txBytes: bigint;
  txErrors: bigint;
}

/**
 * Parses /proc/<pid>/net/dev: two header lines, then "<iface>: <8 receive fields> <8 transmit
 * fields>". Loopback is left out: the kubelet counts traffic that leaves the pod.
 */
export function parseNetDev(text: string): NetInterfaceSample[] {
  const out: NetInterfaceSample[] = [];
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    if (!name || name === 'lo' || name.includes('|')) continue;
    const f = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/);
    if (f.length < 16 || !f.every((x) => /^\d+$/.test(x))) continue;
    out.push({
      name,
      rxBytes: BigInt(f[0]),
      rxErrors: BigInt(f[2]),
      txBytes: BigInt(f[8]),
      txErrors: BigInt(f[10]),
    });
  }
  return out;
}

/** The interface the kubelet reports as the pod's own: eth0 when present, else the first. */
export function defaultInterface(ifaces: NetInterfaceSample[]): NetInterfaceSample | undefined {
  return ifaces.find((i) => i.name === 'eth0') ?? ifaces[0];
}
