import fs from 'fs';
import path from 'path';
import { podIps, parseResult } from './result';
import type { NetworkRecord } from './result-store';
import type { CapabilityArgs, JsonObject } from './types';

/**
 * libcni's own result cache (`<cache dir>/results/<network>-<container id>-<ifname>`, kind
 * cniCacheV1), written beside our record so that CNI tools see our attachments, and read when a
 * sandbox has no record of ours: a pod set up by cri-dockerd (which uses libcni with the same
 * --cni-cache-dir) still gets its DEL and its IPs after an in-place switch to docker-cri.
 */
interface CacheFile {
  kind: 'cniCacheV1';
  containerId: string;
  /** base64 of the network configuration's bytes (Go's []byte in JSON). */
  config: string;
  ifName: string;
  networkName: string;
  netns?: string;
  cniArgs?: Array<[string, string]>;
  capabilityArgs?: CapabilityArgs;
  result?: JsonObject;
}

export function libcniCachePath(
  cacheDir: string,
  network: string,
  containerId: string,
  ifName: string,
): string {
  return path.join(cacheDir, 'results', `${network}-${containerId}-${ifName}`);
}

/** Our record in libcni's format. Pure. */
export function toLibcniCache(record: NetworkRecord, netns: string): CacheFile {
  return {
    kind: 'cniCacheV1',
    containerId: record.sandboxId,
    config: Buffer.from(record.config, 'utf8').toString('base64'),
    ifName: record.ifName,
    networkName: record.networkName,
    netns,
    cniArgs: record.args,
    capabilityArgs: record.capabilityArgs,
    result: record.result,
  };
}

/** A libcni cache file as one of our records; undefined when it is not one. Pure. */
export function fromLibcniCache(file: string, text: string): NetworkRecord | undefined {
  let doc: Partial<CacheFile>;
  try {
    doc = JSON.parse(text) as Partial<CacheFile>;
  } catch {
    return undefined;
  }
  if (doc.kind !== 'cniCacheV1' || !doc.containerId || !doc.networkName || !doc.ifName || !doc.config) {
    return undefined;
  }
  const record: NetworkRecord = {
    version: 1,
    sandboxId: doc.containerId,
    networkName: doc.networkName,
    source: file,
    config: Buffer.from(doc.config, 'base64').toString('utf8'),
    ifName: doc.ifName,
    args: Array.isArray(doc.cniArgs) ? doc.cniArgs : [],
    capabilityArgs: doc.capabilityArgs ?? {},
    podIps: [],
  };
  if (doc.result && typeof doc.result === 'object') {
    record.result = doc.result;
    try {
      record.podIps = podIps(parseResult(JSON.stringify(doc.result), file), doc.ifName);
    } catch {
      // a result we cannot read still lets DEL run
    }
  }
  return record;
}

export async function writeLibcniCache(
  cacheDir: string,
  record: NetworkRecord,
  netns: string,
): Promise<void> {
  const file = libcniCachePath(cacheDir, record.networkName, record.sandboxId, record.ifName);
  await fs.promises.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.promises.writeFile(tmp, JSON.stringify(toLibcniCache(record, netns)), { mode: 0o600 });
  await fs.promises.rename(tmp, file);
}

export async function removeLibcniCache(cacheDir: string, record: NetworkRecord): Promise<void> {
  await fs.promises.rm(libcniCachePath(cacheDir, record.networkName, record.sandboxId, record.ifName), {
    force: true,
  });
}

/** The libcni cache entry of a container on interface ifName, whatever network it was. */
export async function findLibcniCache(
  cacheDir: string,
  containerId: string,
  ifName: string,
): Promise<NetworkRecord | undefined> {
  const dir = path.join(cacheDir, 'results');
  let names: string[];
  try {
    names = await fs.promises.readdir(dir);
  } catch {
    return undefined;
  }
  const suffix = `-${containerId}-${ifName}`;
  for (const name of names.filter((n) => n.endsWith(suffix)).sort()) {
    const file = path.join(dir, name);
    const text = await fs.promises.readFile(file, 'utf8').catch(() => '');
    const record = fromLibcniCache(file, text);
    if (record && record.sandboxId === containerId) return record;
  }
  return undefined;
}
