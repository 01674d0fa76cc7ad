import fs from 'fs';
import path from 'path';

/**
 * Where a `node --cpu-prof` profile spent its time inside a window of the monotonic clock (µs, as
 * density.bench.ts records them): self time by module and by function, and inclusive time of
 * docker-cri's own functions. Usage: node dist/bench/profile-summary.js <dir> [load|noCalls]
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** A short name for the file a frame is in: the package, or our own module, or node's. */
function moduleOf(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const src = url.indexOf('/dist/src/');
  if (src >= 0) return `docker-cri:${url.slice(src + '/dist/src/'.length)}`;
  if (url.startsWith('node:')) return url;
  return path.basename(url);
}

function top(map: Map<string, number>, total: number, n: number): string[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(
      ([k, v]) =>
        `${((v / total) * 100).toFixed(1).padStart(5)}%  ${(v / 1000).toFixed(0).padStart(6)} ms  ${k}`,
    );
}

export function summarize(profile: Profile, window?: [number, number]): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfByModule = new Map<string, number>();
  const selfByFn = new Map<string, number>();
  const inclusiveOurs = new Map<string, number>();
  let t = profile.startTime;
  let total = 0;
  let idle = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i];
    const dt = profile.timeDeltas[i + 1] ?? 0;
    if (window && (t < window[0] || t > window[1])) continue;
    const node = byId.get(profile.samples[i]);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idle += dt;
      continue;
    }
    total += dt;
    const mod = moduleOf(url, functionName);
    selfByModule.set(mod, (selfByModule.get(mod) ?? 0) + dt);
    const fn = `${functionName || '(anonymous)'} ${mod}:${lineNumber + 1}`;
    selfByFn.set(fn, (selfByFn.get(fn) ?? 0) + dt);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const f = (byId.get(id) as ProfileNode).callFrame;
      if (!f.url.includes('/dist/src/')) continue;
      const key = `${f.functionName || '(anonymous)'} ${moduleOf(f.url, f.functionName)}:${f.lineNumber + 1}`;
      if (seen.has(key)) continue;
      seen.add(key);
      inclusiveOurs.set(key, (inclusiveOurs.get(key) ?? 0) + dt);
    }
  }
  const span = window ? window[1] - window[0] : profile.endTime - profile.startTime;
  return [
    `busy ${(total / 1000).toFixed(0)} ms of ${(span / 1000).toFixed(0)} ms (${((total / span) * 100).toFixed(2)}% of one core), idle ${(idle / 1000).toFixed(0)} ms`,
    '',
    'self time by module:',
    ...top(selfByModule, total, 25),
    '',
    'self time by function:',
    ...top(selfByFn, total, 40),
    '',
    "inclusive time of docker-cri's functions:",
    ...top(inclusiveOurs, total, 40),
  ].join('\n');
}

if (require.main === module) {
  const dir = process.argv[2];
  const which = (process.argv[3] ?? 'load') as 'load' | 'noCalls';
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  const windows = JSON.parse(fs.readFileSync(path.join(dir, 'windows.json'), 'utf8')) as Record<
    string,
    [number, number]
  >;
  for (const f of files) {
    console.log(`== ${f} (${which} window)`);
    console.log(summarize(JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Profile, windows[which]));
  }
}
