/** ContainerConfig.stop_signal ⇄ Docker's Config.StopSignal. Pure: no I/O. */
import os from 'os';
import { Signal, type Signal__Output } from '../generated/runtime/v1/Signal';
import { ValidationError } from '../errors';

const NAMES = Object.keys(Signal) as Signal__Output[];
/** glibc's SIGRTMIN and the kernel's SIGRTMAX, as Docker numbers them. */
const RTMIN = 34;
const RTMAX = 64;
/** Alternative names Docker may not know, to the name it does. */
const ALIASES: Record<string, string> = { CLD: 'CHLD', POLL: 'IO', IOT: 'ABRT' };

/**
 * The Docker StopSignal for a CRI signal; undefined for SIGNAL_RUNTIME_DEFAULT (unset), which lets
 * Docker take the image's STOPSIGNAL, or SIGTERM. The enum may come as its name or its number.
 */
export function toDockerStopSignal(
  sig: Signal__Output | number | string | null | undefined,
): string | undefined {
  if (typeof sig === 'number' && !NAMES[sig])
    throw new ValidationError(`config.stop_signal ${sig} is not a signal`);
  const name = typeof sig === 'number' ? NAMES[sig] : sig;
  if (!name || name === 'SIGNAL_RUNTIME_DEFAULT') return undefined;
  if (!NAMES.includes(name as Signal__Output))
    throw new ValidationError(`config.stop_signal ${String(sig)} is not a signal`);
  const bare = name.replace(/^SIGNAL_SIG/, '');
  let m = /^RTMINPLUS(\d+)$/.exec(bare);
  if (m) return `SIGRTMIN+${m[1]}`;
  m = /^RTMAXMINUS(\d+)$/.exec(bare);
  if (m) return `SIGRTMAX-${m[1]}`;
  return `SIG${ALIASES[bare] ?? bare}`;
}

/**
 * The CRI signal of a Docker StopSignal ("SIGUSR1", "USR1", "10", "SIGRTMIN+3"), empty meaning
 * Docker's default, SIGTERM. A value with no CRI name (never set by us) is RUNTIME_DEFAULT.
 */
export function fromDockerStopSignal(stop: string | undefined): Signal__Output {
  const raw = (stop ?? '').trim().toUpperCase();
  if (!raw) return 'SIGNAL_SIGTERM';
  let bare = raw.replace(/^SIG/, '');
  if (/^\d+$/.test(bare)) {
    const n = Number(bare);
    if (n >= RTMIN && n <= RTMAX) {
      bare = n - RTMIN <= 15 ? `RTMIN+${n - RTMIN}` : `RTMAX-${RTMAX - n}`;
    } else {
      const found = Object.entries(os.constants.signals).find(([, v]) => v === n);
      if (!found) return 'SIGNAL_RUNTIME_DEFAULT';
      bare = found[0].replace(/^SIG/, '');
    }
  }
  bare = bare.replace(/^RTMIN\+0$/, 'RTMIN').replace(/^RTMAX-0$/, 'RTMAX');
  const name = `SIGNAL_SIG${bare.replace(/^RTMIN\+(\d+)$/, 'RTMINPLUS$1').replace(/^RTMAX-(\d+)$/, 'RTMAXMINUS$1')}`;
  return NAMES.includes(name as Signal__Output) ? (name as Signal__Output) : 'SIGNAL_RUNTIME_DEFAULT';
}
