import type { JsonObject, NetworkConfigList, PluginConf } from './types';

/** Versions whose chaining (prevResult) docker-cri speaks; 0.1/0.2 only as single-plugin `.conf`. */
export const LIST_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0'];
export const SINGLE_VERSIONS = ['0.1.0', '0.2.0', ...LIST_VERSIONS];

/** The spec's rule for network names (they end up in file names and iptables comments). */
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/** Plugin types are binary names looked up in the bin dirs: never a path. */
const TYPE_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export const CONF_EXTENSIONS = ['.conflist', '.conf', '.json'];

export class ConfigError extends Error {}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkPlugin(p: unknown, where: string): PluginConf {
  if (!isObject(p)) throw new ConfigError(`${where} is not a JSON object`);
  if (typeof p.type !== 'string' || p.type === '') throw new ConfigError(`${where} has no "type"`);
  if (!TYPE_RE.test(p.type)) throw new ConfigError(`${where} has an invalid type "${p.type}"`);
  if (p.capabilities !== undefined) {
    if (!isObject(p.capabilities) || Object.values(p.capabilities).some((v) => typeof v !== 'boolean')) {
      throw new ConfigError(`${where}: "capabilities" must map names to true or false`);
    }
  }
  return p as PluginConf;
}

function checkVersion(v: unknown, allowed: string[], what: string): string {
  if (typeof v !== 'string' || v === '') throw new ConfigError(`${what} has no "cniVersion"`);
  if (!allowed.includes(v)) {
    throw new ConfigError(`${what} has cniVersion "${v}"; supported: ${allowed.join(', ')}`);
  }
  return v;
}

function checkName(v: unknown, what: string): string {
  if (typeof v !== 'string' || v === '') throw new ConfigError(`${what} has no "name"`);
  if (!NAME_RE.test(v)) throw new ConfigError(`${what} has an invalid name "${v}"`);
  return v;
}

/**
 * Parses one configuration file's text. A `.conflist` must be a list; a `.conf`/`.json` is either a
 * single plugin (wrapped into a list of one) or, as some installers write, a list. Pure.
 */
export function parseNetworkConfig(fileName: string, text: string): NetworkConfigList {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${fileName}: not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(doc)) throw new ConfigError(`${fileName}: not a JSON object`);
  const isList = fileName.endsWith('.conflist') || Array.isArray(doc.plugins);
  if (isList) {
    const cniVersion = checkVersion(doc.cniVersion, LIST_VERSIONS, fileName);
    const name = checkName(doc.name, fileName);
    if (!Array.isArray(doc.plugins) || doc.plugins.length === 0) {
      throw new ConfigError(`${fileName}: "plugins" must be a non-empty list`);
    }
    const plugins = doc.plugins.map((p, i) => checkPlugin(p, `${fileName}: plugins[${i}]`));
    return { cniVersion, name, plugins, source: fileName, bytes: text };
  }
  const cniVersion = checkVersion(doc.cniVersion, SINGLE_VERSIONS, fileName);
  const name = checkName(doc.name, fileName);
  const plugin = checkPlugin(doc, fileName);
  return { cniVersion, name, plugins: [plugin], source: fileName, bytes: text };
}

/** Files a runtime considers, in the order it tries them (lexical, like libcni). Pure. */
export function configFileOrder(names: readonly string[]): string[] {
  return names.filter((n) => CONF_EXTENSIONS.some((ext) => n.endsWith(ext))).sort();
}
