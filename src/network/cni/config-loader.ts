import fs from 'fs';
import path from 'path';
import { ConfigError, configFileOrder, parseNetworkConfig } from './config';
import { findPlugin } from './plugin-exec';
import type { NetworkConfigList } from './types';

export interface LoadedNetwork {
  /** The first valid configuration, if any. */
  network?: NetworkConfigList;
  /** Why each file before it (or every file) was passed over. */
  problems: string[];
}

/**
 * Reads the conf dir and picks the first configuration that parses and whose plugins are all
 * installed. Re-read on every use: the files are small and operators (or a CNI daemonset) change
 * them while we run.
 */
export async function loadNetwork(confDir: string, binDirs: readonly string[]): Promise<LoadedNetwork> {
  let names: string[];
  try {
    names = await fs.promises.readdir(confDir);
  } catch (err) {
    return { problems: [`cannot read CNI config dir ${confDir}: ${(err as Error).message}`] };
  }
  const problems: string[] = [];
  for (const name of configFileOrder(names)) {
    const file = path.join(confDir, name);
    try {
      const text = await fs.promises.readFile(file, 'utf8');
      const network = parseNetworkConfig(file, text);
      for (const p of network.plugins) {
        if (!(await findPlugin(p.type, binDirs))) {
          throw new ConfigError(`${file}: plugin "${p.type}" not found in ${binDirs.join(', ')}`);
        }
      }
      return { network, problems };
    } catch (err) {
      problems.push(err instanceof ConfigError ? err.message : `${file}: ${(err as Error).message}`);
    }
  }
  if (problems.length === 0) problems.push(`no CNI network configuration (.conflist, .conf) in ${confDir}`);
  return { problems };
}
