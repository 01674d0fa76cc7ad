/**
 * What a dozing pump waits on (see LogPump): the json-file its source left idle changes. The file's
 * directory is watched (the same inotify watch a reading source arms, so a rotation's rename and new
 * file are seen too), filtered to the file's own name and its rotations: Docker rewrites the
 * container's config files in the same directory on every state change, and those must not wake
 * the pump. A poll of the file (inode, size) is the safety net, as it is for a reading source, and
 * wake() ends the wait early (the container stopped, or the pump is stopped through `signal`).
 */
import fs from 'fs';
import fsp from 'fs/promises';
import path from 'path';
import type { IdleMark } from './log-source';

export interface IdleWait {
  /** Resolves once, at the first change, wake() or abort. */
  readonly done: Promise<void>;
  wake(): void;
}

export function waitForChange(mark: IdleMark, pollMs: number, signal: AbortSignal): IdleWait {
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  let over = false;
  let watcher: fs.FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  const wake = (): void => {
    if (over) return;
    over = true;
    watcher?.close();
    clearTimeout(timer);
    signal.removeEventListener('abort', wake);
    finish();
  };
  signal.addEventListener('abort', wake, { once: true });
  if (signal.aborted) {
    wake();
    return { done, wake };
  }
  const base = path.basename(mark.file);
  try {
    watcher = fs.watch(path.dirname(mark.file), { persistent: false }, (_event, name) => {
      if (name === null || name === base || name.startsWith(`${base}.`)) wake();
    });
    watcher.on('error', wake);
  } catch {
    // No watch: no doze either; the pump reads on (and its source polls).
    wake();
    return { done, wake };
  }
  // Looked at once right away: a write between the source's last look and the watch is not missed.
  const look = (): void => {
    fsp.stat(mark.file).then(
      (st) => {
        if (over) return;
        if (st.ino !== mark.ino || st.size !== mark.off) wake();
        // Like the watch (persistent: false), the safety net keeps no process alive by itself.
        else timer = setTimeout(look, pollMs).unref();
      },
      () => wake(),
    );
  };
  look();
  return { done, wake };
}
