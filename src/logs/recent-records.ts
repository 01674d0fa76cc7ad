import {
  before,
  FLOOR_NS,
  formatInstant,
  minus,
  REORDER_WINDOW_NS,
  type Instant,
  type ResumePoint,
} from './cri-time';

/** Before the first record: no ring at all. */
const NO_RING = new Float64Array(0);

/**
 * The records written within the reorder window of the latest one, in a ring in one typed array (no
 * object per line). position() sums the units at or after `since`.
 */
export class RecentRecords {
  /**
   * The ring: record k is [3k] seconds, [3k + 1] nanoseconds, [3k + 2] units. One array, made with
   * the first record (a node has a pump per container, most of them quiet, and an array per field
   * was three buffers each); grow() doubles it.
   */
  private ring = NO_RING;
  private cap = 0;
  private head = 0;
  private size = 0;
  latest: Instant | undefined;

  /** minus(latest, 2 * REORDER_WINDOW_NS), kept beside latest: add() runs per line. */
  private floorSec = 0;
  private floorNsec = 0;

  add(sec: number, nsec: number, units: number): void {
    const l = this.latest;
    if (!l || sec > l.sec || (sec === l.sec && nsec > l.nsec)) {
      if (l) {
        l.sec = sec;
        l.nsec = nsec;
      } else this.latest = { sec, nsec };
      // minus() without its object.
      let fSec = sec - Math.floor(FLOOR_NS / 1e9);
      let fNsec = nsec - (FLOOR_NS % 1e9);
      if (fNsec < 0) {
        fNsec += 1e9;
        fSec -= 1;
      }
      this.floorSec = fSec;
      this.floorNsec = fNsec;
    }
    // Drop from the oldest stored while they are older than twice the window: nothing later stored
    // can be counted against them any more.
    const fs = this.floorSec;
    const fn = this.floorNsec;
    const r = this.ring;
    while (this.size > 0) {
      const h = 3 * this.head;
      if (!(r[h] < fs || (r[h] === fs && r[h + 1] < fn))) break;
      this.head = (this.head + 1) % this.cap;
      this.size--;
    }
    if (this.size === this.cap) this.grow();
    const at = 3 * ((this.head + this.size) % this.cap);
    this.ring[at] = sec;
    this.ring[at + 1] = nsec;
    this.ring[at + 2] = units;
    this.size++;
  }

  private grow(): void {
    const cap = Math.max(16, this.cap * 2);
    const next = new Float64Array(3 * cap);
    const r = this.ring;
    for (let i = 0; i < this.size; i++) {
      const k = 3 * ((this.head + i) % this.cap);
      next[3 * i] = r[k];
      next[3 * i + 1] = r[k + 1];
      next[3 * i + 2] = r[k + 2];
    }
    [this.ring, this.cap, this.head] = [next, cap, 0];
  }

  position(): ResumePoint | undefined {
    if (!this.latest) return undefined;
    const since = minus(this.latest, REORDER_WINDOW_NS);
    let units = 0;
    const window: Array<[string, number]> = [];
    for (let i = 0; i < this.size; i++) {
      const k = 3 * ((this.head + i) % this.cap);
      const t = { sec: this.ring[k], nsec: this.ring[k + 1] };
      if (before(t, since)) continue;
      units += this.ring[k + 2];
      window.push([formatInstant(t), this.ring[k + 2]]);
    }
    return { ts: formatInstant(since), units, window };
  }
}
