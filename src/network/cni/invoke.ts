import { execPlugin, findPlugin, PluginError, type CniCommand } from './plugin-exec';
import { parseResult } from './result';
import { delTakesPrevResult, pluginStdin } from './runtime-config';
import type { CniResult, NetworkConfigList, PluginConf, RuntimeConf } from './types';

export interface InvokeOptions {
  binDirs: readonly string[];
  /** Per plugin call. */
  timeoutMs: number;
}

async function runOne(
  command: CniCommand,
  list: NetworkConfigList,
  plugin: PluginConf,
  rt: RuntimeConf,
  prev: CniResult | undefined,
  opts: InvokeOptions,
): Promise<string> {
  const pluginPath = await findPlugin(plugin.type, opts.binDirs);
  if (!pluginPath) {
    throw new PluginError(
      `CNI plugin "${plugin.type}" of network "${list.name}" not found in ${opts.binDirs.join(', ')}`,
      plugin.type,
    );
  }
  const stdin = JSON.stringify(pluginStdin(list, plugin, rt.capabilityArgs, prev?.raw));
  return execPlugin({
    command,
    pluginPath,
    type: plugin.type,
    rt,
    stdin,
    binDirs: opts.binDirs,
    timeoutMs: opts.timeoutMs,
  });
}

/** ADD of a whole list: each plugin in order, each given the previous one's result. */
export async function addNetworkList(
  list: NetworkConfigList,
  rt: RuntimeConf,
  opts: InvokeOptions,
  /** Told each plugin's result as it comes, so a caller can clean up after a later failure. */
  onProgress?: (partial: CniResult) => void,
): Promise<CniResult> {
  let prev: CniResult | undefined;
  for (const plugin of list.plugins) {
    const stdout = await runOne('ADD', list, plugin, rt, prev, opts);
    // A chained plugin that prints nothing changed nothing: the result so far stands.
    if (stdout.trim() === '' && prev) continue;
    prev = parseResult(stdout, `CNI plugin "${plugin.type}"`);
    onProgress?.(prev);
  }
  if (!prev) throw new PluginError(`network "${list.name}" has no plugins`, '');
  return prev;
}

/**
 * DEL of a whole list, in reverse order. Every plugin gets its DEL even when an earlier one
 * failed (a stuck portmap entry must not keep host-local from releasing the address); the first
 * failure is thrown afterwards so that the caller keeps its record and the kubelet retries.
 */
export async function delNetworkList(
  list: NetworkConfigList,
  rt: RuntimeConf,
  cached: CniResult | undefined,
  opts: InvokeOptions,
): Promise<void> {
  const prev = delTakesPrevResult(list.cniVersion) ? cached : undefined;
  const failures: Error[] = [];
  for (const plugin of [...list.plugins].reverse()) {
    try {
      await runOne('DEL', list, plugin, rt, prev, opts);
    } catch (err) {
      failures.push(err as Error);
    }
  }
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) {
    const first = failures[0] as PluginError;
    throw new PluginError(failures.map((f) => f.message).join('; '), first.plugin ?? '', first.cniCode);
  }
}
