import fs from 'fs';
import { logger } from '../logger';

/** What kubelet-grade runtimes give the pause container, so that the OOM killer spares it. */
export const PAUSE_OOM_SCORE_ADJ = -998;

/**
 * Whether this process may lower its own oom_score_adj below 0. runc's child inherits the same
 * limits: where we may not, every container asked for a negative value fails to start with
 * "can't get final child's PID from pipe: EOF". The original value is written back afterwards.
 */
export function probeNegativeOomScoreAdj(file = '/proc/self/oom_score_adj'): boolean {
  let original: string;
  try {
    original = fs.readFileSync(file, 'utf8').trim();
  } catch {
    // No procfs to ask (not Linux): nothing to protect against.
    return true;
  }
  if (Number(original) <= PAUSE_OOM_SCORE_ADJ) return true;
  try {
    fs.writeFileSync(file, String(PAUSE_OOM_SCORE_ADJ));
  } catch {
    return false;
  }
  try {
    fs.writeFileSync(file, original);
  } catch (err) {
    logger.warn('could not restore our oom_score_adj after probing it', {
      value: original,
      error: (err as Error).message,
    });
  }
  return true;
}

/** A clamp for one host: identity where negatives are allowed, max(0, v) with one warning otherwise. */
export function makeOomClamp(negativeAllowed: boolean, warn: (msg: string) => void): (v: number) => number {
  let warned = false;
  return (value) => {
    if (negativeAllowed || value >= 0) return value;
    if (!warned) {
      warned = true;
      warn(
        `this host refuses negative oom_score_adj values (no CAP_SYS_RESOURCE); asked ${value}, using 0 ` +
          'for this and every later negative value',
      );
    }
    return 0;
  };
}

let clamp: ((v: number) => number) | undefined;

/** Probes the host once (call at start so the warning comes early); later calls reuse the answer. */
export function detectOomScorePolicy(): boolean {
  const allowed = probeNegativeOomScoreAdj();
  clamp = makeOomClamp(allowed, (msg) => logger.warn(msg));
  logger.info('oom_score_adj policy', { negativeAllowed: allowed });
  return allowed;
}

/** The oom_score_adj this host lets a container have for `value`. */
export function clampOomScoreAdj(value: number): number {
  if (!clamp) detectOomScorePolicy();
  return (clamp as (v: number) => number)(value);
}
