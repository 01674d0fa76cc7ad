/**
 * Pressure stall information (cgroup v2 `cpu.pressure`, `memory.pressure`, `io.pressure`) → CRI
 * PsiStats. Pure: no I/O. cgroup v1 has no such files, so there the fields stay unset.
 */
import type { PsiStats } from '../generated/runtime/v1/PsiStats';
import type { PsiData } from '../generated/runtime/v1/PsiData';

export interface PsiSample {
  cpu?: PsiStats;
  memory?: PsiStats;
  io?: PsiStats;
}

/**
 * One pressure file: lines `some|full avg10=F avg60=F avg300=F total=N` (total in microseconds).
 * Undefined when the text holds neither line (no file, or PSI disabled in the kernel).
 */
export function parsePressure(text: string | undefined): PsiStats | undefined {
  if (!text) return undefined;
  const out: PsiStats = {};
  for (const line of text.split('\n')) {
    const [kind, ...fields] = line.trim().split(/\s+/);
    if (kind !== 'some' && kind !== 'full') continue;
    const kv = new Map(fields.map((f) => f.split('=') as [string, string]));
    const num = (k: string): number => {
      const n = Number(kv.get(k));
      return Number.isFinite(n) ? n : 0;
    };
    const total = kv.get('total');
    const data: PsiData = {
      Total: total && /^\d+$/.test(total) ? total : '0',
      Avg10: num('avg10'),
      Avg60: num('avg60'),
      Avg300: num('avg300'),
    };
    if (kind === 'some') out.Some = data;
    else out.Full = data;
  }
  return out.Some || out.Full ? out : undefined;
}

/** The three pressure files of one cgroup v2 directory, read by the caller. */
export function psiFromFiles(files: { cpu?: string; memory?: string; io?: string }): PsiSample | undefined {
  const out: PsiSample = {
    cpu: parsePressure(files.cpu),
    memory: parsePressure(files.memory),
    io: parsePressure(files.io),
  };
  return out.cpu || out.memory || out.io ? out : undefined;
}
