import type { CapabilityArgs, JsonObject, NetworkConfigList, PluginConf } from './types';

/**
 * The stdin configuration of one plugin in a list: the plugin's own entry plus the list's name and
 * version, the previous plugin's result, and `runtimeConfig` holding only the capabilities the
 * plugin declared (a plugin that did not ask for portMappings never sees them). Pure.
 */
export function pluginStdin(
  list: NetworkConfigList,
  plugin: PluginConf,
  capabilityArgs: CapabilityArgs,
  prevResult: JsonObject | undefined,
): JsonObject {
  const conf: JsonObject = { ...plugin, name: list.name, cniVersion: list.cniVersion };
  if (prevResult) conf.prevResult = prevResult;
  else delete conf.prevResult;
  const runtimeConfig: JsonObject = isObject(plugin.runtimeConfig) ? { ...plugin.runtimeConfig } : {};
  let any = false;
  for (const [cap, wanted] of Object.entries(plugin.capabilities ?? {})) {
    const value = (capabilityArgs as Record<string, unknown>)[cap];
    if (wanted && value !== undefined) {
      runtimeConfig[cap] = value;
      any = true;
    }
  }
  if (any) conf.runtimeConfig = runtimeConfig;
  return conf;
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** CNI_ARGS text: `K=V;K=V`, the form plugins parse. */
export function cniArgsText(args: ReadonlyArray<[string, string]>): string {
  return args.map(([k, v]) => `${k}=${v}`).join(';');
}

/** Does the list's version hand the cached result to DEL (0.4.0 and later)? */
export function delTakesPrevResult(cniVersion: string): boolean {
  return !['0.1.0', '0.2.0', '0.3.0', '0.3.1'].includes(cniVersion);
}
