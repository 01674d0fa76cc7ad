import YAML from 'yaml';
import type { FlagSpec } from './config';

/** A config file that cannot be used; config.ts turns it into a usage error (exit code 2). */
export class ConfigFileError extends Error {}

export interface FileSetting {
  spec: FlagSpec;
  /** The value as it would be spelled on the command line, so flags and file share one parser. */
  value: string;
}

/**
 * Reads the `--config` YAML file: a flat mapping whose keys are the flag names without `--`, so the
 * README's flag table documents both. Anything else (unknown keys, nesting, lists, empty values) is
 * refused with the key and file named: a typo in a node's config must not silently mean a default.
 */
export function parseConfigFile(text: string, source: string, flags: readonly FlagSpec[]): FileSetting[] {
  const doc = YAML.parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigFileError(`${source}: ${doc.errors[0].message.split('\n')[0]}`);
  }
  const data: unknown = doc.toJS();
  if (data === null || data === undefined) return [];
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigFileError(`${source}: expected a mapping of flag names to values`);
  }
  const byName = new Map(flags.map((f) => [f.name, f]));
  const out: FileSetting[] = [];
  for (const [key, raw] of Object.entries(data as Record<string, unknown>)) {
    const name = key.startsWith('--') ? key.slice(2) : key;
    const spec = byName.get(name);
    if (!spec || spec.key === 'configFile') {
      throw new ConfigFileError(
        `${source}: unknown setting "${key}" (settings are the flag names without --, see docker-cri --help)`,
      );
    }
    out.push({ spec, value: scalar(raw, key, source, spec) });
  }
  return out;
}

function scalar(raw: unknown, key: string, source: string, spec: FlagSpec): string {
  if (typeof raw === 'string') return raw;
  if (typeof raw === 'number' && (spec.kind === 'duration' || spec.kind === 'int')) return String(raw);
  if (typeof raw === 'boolean' && spec.kind === 'bool') return String(raw);
  const what =
    raw === null
      ? 'an empty value (write "" for an empty string)'
      : Array.isArray(raw)
        ? 'a list'
        : typeof raw === 'object'
          ? 'a mapping'
          : `a ${typeof raw}`;
  const want = WANT[spec.kind];
  throw new ConfigFileError(`${source}: setting "${key}" needs ${want}, got ${what}`);
}

const WANT: Record<FlagSpec['kind'], string> = {
  string: 'a string',
  int: 'a number',
  duration: 'a number of seconds or a duration such as "1m0s"',
  bool: 'true or false',
};
