import type { Readable, Writable } from 'stream';
import type { Outcome, TerminalSize } from './protocol';

/**
 * What an exec or attach session sees of its client, whether it came over SPDY or WebSocket.
 * Absent streams were not requested.
 */
export interface SessionIO {
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  /** Registers the resize listener; a size that arrived earlier is delivered at once. */
  onResize(listener: (size: TerminalSize) => void): void;
  /** Reports the outcome on the error channel and ends the connection. */
  finish(outcome: Outcome): Promise<void>;
  /** Aborted when the client goes away before the session ended. */
  signal: AbortSignal;
}

/** Buffers resize events until a listener is there; keeps only the latest, as a terminal would. */
export class ResizeRelay {
  private listener: ((size: TerminalSize) => void) | undefined;
  private pending: TerminalSize | undefined;

  emit(size: TerminalSize): void {
    if (this.listener) this.listener(size);
    else this.pending = size;
  }

  on(listener: (size: TerminalSize) => void): void {
    this.listener = listener;
    if (this.pending) {
      const p = this.pending;
      this.pending = undefined;
      listener(p);
    }
  }
}
