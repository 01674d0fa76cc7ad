import fs from 'fs';
import { logger } from '../logger';
import { KNOWN_CAPABILITIES, boundingSetOf, capabilitiesInMask } from '../translate/container-caps';

let probed = false;
let limited: readonly string[] | undefined;

/**
 * The capabilities this host can give containers, when that is not all of them; undefined when
 * nothing is missing. Read once from our own bounding set: the engine runs beside us on the same
 * host, under the same limits (this is how this build machine, nested, lacks CAP_SYS_RESOURCE).
 */
export function limitedHostCapabilities(file = '/proc/self/status'): readonly string[] | undefined {
  if (probed) return limited;
  probed = true;
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const mask = boundingSetOf(text);
  if (!mask) return undefined;
  const available = capabilitiesInMask(mask);
  if (available.length === KNOWN_CAPABILITIES.length) return undefined;
  limited = available;
  logger.warn(
    'this host lacks capabilities in its bounding set; privileged containers get every capability it has ' +
      'without Docker\'s privileged flag, and "ALL" means all it has',
    { missing: KNOWN_CAPABILITIES.filter((c) => !available.includes(c)) },
  );
  return limited;
}
