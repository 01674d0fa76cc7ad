/**
 * Just enough of an ELF64 little-endian reader to check a packaged executable: its machine, whether
 * it asks for a program interpreter (a dynamic executable), and the notes postject injects.
 */
export const EM_X86_64 = 62;
export const EM_AARCH64 = 183;
const PT_INTERP = 3;
const PT_NOTE = 4;

export interface ElfInfo {
  machine: number;
  /** Has a PT_INTERP program header: needs a loader, so not a static executable. */
  dynamic: boolean;
  /** Every note of every PT_NOTE segment, by name (the first of each name). */
  notes: Map<string, Buffer>;
}

export function readElf(file: Buffer): ElfInfo {
  if (file.subarray(0, 4).toString('latin1') !== '\x7fELF') throw new Error('not an ELF file');
  if (file[4] !== 2 || file[5] !== 1) throw new Error('not a 64-bit little-endian ELF file');
  const machine = file.readUInt16LE(18);
  const phoff = Number(file.readBigUInt64LE(0x20));
  const phentsize = file.readUInt16LE(0x36);
  const phnum = file.readUInt16LE(0x38);
  let dynamic = false;
  const notes = new Map<string, Buffer>();
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    const type = file.readUInt32LE(ph);
    if (type === PT_INTERP) dynamic = true;
    if (type !== PT_NOTE) continue;
    const start = Number(file.readBigUInt64LE(ph + 8));
    const end = start + Number(file.readBigUInt64LE(ph + 32));
    // Each note: namesz, descsz, type (4 bytes each), then name and desc, each padded to 4 bytes.
    for (let at = start; at + 12 <= end;) {
      const namesz = file.readUInt32LE(at);
      const descsz = file.readUInt32LE(at + 4);
      const nameAt = at + 12;
      const descAt = nameAt + pad4(namesz);
      if (descAt + descsz > end) break;
      const name = file.toString('latin1', nameAt, nameAt + namesz).replace(/\0+$/, '');
      if (!notes.has(name)) notes.set(name, file.subarray(descAt, descAt + descsz));
      at = descAt + pad4(descsz);
    }
  }
  return { machine, dynamic, notes };
}

const pad4 = (n: number): number => (n + 3) & ~3;
