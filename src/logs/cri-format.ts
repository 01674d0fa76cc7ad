/**
 * The CRI log format, written (cri-encoder.ts) and read back (cri-records.ts), with the timestamps
 * and resume positions both use (cri-time.ts):
 *
 *   <RFC3339Nano timestamp> <stdout|stderr> <P|F> <message>\n
 *
 * `F` ends a line; `P` is a piece of a longer line whose later pieces follow.
 */
export { CriEncoder, MAX_RECORD_BYTES } from './cri-encoder';
export { parseRecord, recordUnits, scanTail, TailScanner, type CriRecord } from './cri-records';
export {
  compareTs,
  formatInstant,
  parseInstant,
  REORDER_WINDOW_NS,
  sinceParam,
  type ResumePoint,
} from './cri-time';
