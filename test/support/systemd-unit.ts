/** Reading systemd units the way systemd does, for tests on a machine without systemd. */
export type Unit = Map<string, Array<[string, string]>>;

/** systemd's unit syntax as far as our units use it: sections, key=value, `\` continuations, `#` comments. */
export function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section = '';
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  for (const raw of lines) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) {
      section = sec[1];
      unit.set(section, []);
      continue;
    }
    const eq = line.indexOf('=');
    unit.get(section)!.push([line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
  }
  return unit;
}

export const values = (unit: Unit, section: string, key: string): string[] =>
  (unit.get(section) ?? []).filter(([k]) => k === key).map(([, v]) => v);

/** systemd's command-line splitting: whitespace, with single and double quotes grouping. */
export function splitCommand(cmd: string): string[] {
  const words: string[] = [];
  for (const m of cmd.matchAll(/"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g)) words.push(m[1] ?? m[2] ?? m[3]);
  return words;
}
