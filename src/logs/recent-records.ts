import {
  before,
  FLOOR_NS,
  formatInstant,
  minus,
  REORDER_WINDOW_NS,
  type Instant,
  type ResumePoint,
} from './cri-time';

/**
 * The records written within the reorder window of the latest one, in a ring of typed arrays (no
 * object per line). position() sums the units at or after `since`.
 */
export class RecentRecords {
  // Small to begin with (a node has a pump per container, most of them quiet); grow() doubles it.
  private sec = new Float64Array(16);
  private nsec = new Float64Array(16);
  private units = new Float64Array(16);
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
    while (this.size > 0) {
      const h = this.head;
      if (!(this.sec[h] < fs || (this.sec[h] === fs && this.nsec[h] < fn))) break;
      this.head = (h + 1) % this.sec.length;
      this.size--;
    }
    if (this.size === this.sec.length) this.grow();
    const at = (this.head + this.size) % this.sec.length;
    this.sec[at] = sec;
    this.nsec[at] = nsec;
    this.units[at] = units;
    this.size++;
  }

  private grow(): void {
    const n = this.sec.length * 2;
    const [s, ns, u] = [new Float64Array(n), new Float64Array(n), new Float64Array(n)];
    for (let i = 0; i < this.size; i++) {
      const k = (this.head + i) % this.sec.length;
      s[i] = this.sec[k];
      ns[i] = this.nsec[k];
      u[i] = this.units[k];
    }
    [this.sec, this.nsec, this.units, this.head] = [s, ns, u, 0];
  }

  position(): ResumePoint | undefined {
    if (!this.latest) return undefined;
    const since = minus(this.latest, REORDER_WINDOW_NS);
    let units = 0;
    const window: Array<[string, number]> = [];
    for (let i = 0; i < this.size; i++) {
      const k = (this.head + i) % this.sec.length;
      const t = { sec: this.sec[k], nsec: this.nsec[k] };
      if (before(t, since)) continue;
      units += this.units[k];
      window.push([formatInstant(t), this.units[k]]);
    }
    return { ts: formatInstant(since), units, window };
  }
}
