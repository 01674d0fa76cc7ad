/**
 * Capabilities a host may lack. In nested or restricted hosts the engine's own bounding set misses
 * some (here CAP_SYS_RESOURCE), and runc then fails every container asked for all capabilities —
 * privileged ones, or CapAdd ALL — with "unable to apply caps: operation not permitted". Pure.
 */

/** Capability numbers 0..37, the ones Docker 20.10 knows by name. */
export const KNOWN_CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
] as const;

/** The known capabilities a bounding-set mask (hex, as /proc/<pid>/status CapBnd shows it) holds. */
export function capabilitiesInMask(hex: string): string[] {
  const mask = BigInt(`0x${hex.trim() || '0'}`);
  return KNOWN_CAPABILITIES.filter((_, bit) => (mask >> BigInt(bit)) & 1n);
}

/** The CapBnd field of a /proc/<pid>/status text; undefined when absent. */
export function boundingSetOf(statusText: string): string | undefined {
  return /^CapBnd:\s*([0-9a-fA-F]+)/m.exec(statusText)?.[1];
}
