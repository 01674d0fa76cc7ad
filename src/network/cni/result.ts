import net from 'net';
import type { CniResult, JsonObject } from './types';

export class ResultError extends Error {}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function strings(v: unknown): string[] | undefined {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined;
}

function parseDns(v: unknown): CniResult['dns'] {
  if (!isObject(v)) return {};
  const out: CniResult['dns'] = {};
  const servers = strings(v.nameservers);
  const searches = strings(v.search);
  const options = strings(v.options);
  if (servers?.length) out.servers = servers;
  if (searches?.length) out.searches = searches;
  if (options?.length) out.options = options;
  return out;
}

function parseRoutes(v: unknown): CniResult['routes'] {
  if (!Array.isArray(v)) return [];
  return v.filter(isObject).flatMap((r) => (str(r.dst) ? [{ dst: r.dst as string, gw: str(r.gw) }] : []));
}

/**
 * Parses what a plugin printed for ADD. 0.3.0 and later share one shape (interfaces, ips, routes,
 * dns); 0.1/0.2 put one address per family under ip4/ip6, which is normalized to the same. Pure.
 */
export function parseResult(stdout: string, who: string): CniResult {
  let doc: unknown;
  try {
    doc = JSON.parse(stdout);
  } catch {
    throw new ResultError(
      `${who} printed a result that is not JSON: ${JSON.stringify(stdout.slice(0, 200))}`,
    );
  }
  if (!isObject(doc)) throw new ResultError(`${who} printed a result that is not a JSON object`);
  const cniVersion = str(doc.cniVersion) ?? '';
  const result: CniResult = {
    cniVersion,
    interfaces: [],
    ips: [],
    routes: [],
    dns: parseDns(doc.dns),
    raw: doc,
  };
  if (Array.isArray(doc.interfaces)) {
    for (const i of doc.interfaces.filter(isObject)) {
      result.interfaces.push({ name: str(i.name) ?? '', mac: str(i.mac), sandbox: str(i.sandbox) });
    }
  }
  if (Array.isArray(doc.ips)) {
    for (const ip of doc.ips.filter(isObject)) {
      const address = str(ip.address);
      if (!address) throw new ResultError(`${who} printed an IP entry without "address"`);
      result.ips.push({
        address,
        gateway: str(ip.gateway),
        interface: typeof ip.interface === 'number' ? ip.interface : undefined,
      });
    }
  }
  for (const family of ['ip4', 'ip6']) {
    const legacy = doc[family];
    if (!isObject(legacy)) continue;
    const address = str(legacy.ip);
    if (address) result.ips.push({ address, gateway: str(legacy.gateway) });
    result.routes.push(...parseRoutes(legacy.routes));
  }
  result.routes.push(...parseRoutes(doc.routes));
  return result;
}

/** "10.0.0.5/24" → "10.0.0.5"; undefined when it is not an IP address at all. */
export function addressOnly(cidr: string): string | undefined {
  const ip = cidr.split('/')[0];
  return net.isIP(ip) ? ip : undefined;
}

function isLoopback(ip: string): boolean {
  return ip === '::1' || ip.startsWith('127.');
}

/**
 * The pod's IPs from an ADD result: those on the pod's interface (ifName, inside the sandbox) when
 * the result says which interface each belongs to, else every non-loopback address. IPv4 first, as
 * the kubelet takes the first as the pod's primary IP on a dual-stack node. Pure.
 */
export function podIps(result: CniResult, ifName: string): string[] {
  const podIfIndexes = new Set(
    result.interfaces.flatMap((iface, i) => (iface.name === ifName && iface.sandbox ? [i] : [])),
  );
  const onPodIf = result.ips.filter((ip) => ip.interface !== undefined && podIfIndexes.has(ip.interface));
  const chosen = onPodIf.length > 0 ? onPodIf : result.ips;
  const addrs: string[] = [];
  for (const entry of chosen) {
    const ip = addressOnly(entry.address);
    if (ip && !isLoopback(ip) && !addrs.includes(ip)) addrs.push(ip);
  }
  return [...addrs.filter((a) => net.isIPv4(a)), ...addrs.filter((a) => net.isIPv6(a))];
}
