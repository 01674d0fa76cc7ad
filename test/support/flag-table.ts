/**
 * Reads the two places flags are documented, so tests can hold them to each other: the README's
 * `## Flags` table and `docker-cri --help`. Both give flag name → default (undefined: no default,
 * as for --help and --version).
 */
export type FlagDefaults = Map<string, string | undefined>;

export function readmeFlagTable(markdown: string): FlagDefaults {
  const section = markdown.split(/^## Flags[ \t]*$/m)[1]?.split(/^## /m)[0];
  if (section === undefined) throw new Error('README has no "## Flags" section');
  const out: FlagDefaults = new Map();
  for (const line of section.split('\n')) {
    if (!line.startsWith('| `--')) continue;
    const [, names, def] = line.split('|').map((c) => c.trim());
    const first = /`([^`]*)`/.exec(def ?? '');
    const value = first ? (first[1] === '""' ? '' : first[1]) : def === '""' ? '' : undefined;
    for (const m of names.matchAll(/`--([a-z0-9-]+)`/g)) out.set(m[1], value);
  }
  return out;
}

export function helpFlags(help: string): FlagDefaults {
  const out: FlagDefaults = new Map();
  const lines = help.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^ {2}--([a-z0-9-]+)(?: \S+)?$/.exec(lines[i]);
    if (!m) continue;
    const d = /.*\(default (.*)\)$/.exec(lines[i + 1] ?? '');
    out.set(m[1], d ? String(JSON.parse(d[1]) as string | number) : undefined);
  }
  return out;
}
