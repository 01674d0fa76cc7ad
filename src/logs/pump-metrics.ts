/**
 * A pump's metrics, per batch rather than per line: bytes by stream, and a lag sample (how far the
 * latest record written is behind now) at most once a second.
 */
import { metrics } from '../metrics';
import type { CriEncoder } from './cri-format';

export class PumpMetrics {
  private reported: [number, number] = [0, 0];
  private lagSampledAt = 0;

  constructor(private readonly encoder: CriEncoder) {}

  observe(): void {
    const [, out, err] = this.encoder.streamBytes;
    if (out > this.reported[0]) metrics.logPumpBytes('stdout', out - this.reported[0]);
    if (err > this.reported[1]) metrics.logPumpBytes('stderr', err - this.reported[1]);
    this.reported = [out, err];
    const now = Date.now();
    if (now - this.lagSampledAt < 1000) return;
    this.lagSampledAt = now;
    const latest = this.encoder.latestSeconds();
    if (latest !== undefined) metrics.logPumpLag(now / 1000 - latest);
  }
}
