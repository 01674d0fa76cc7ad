import { createRequire } from 'module';
import path from 'path';
import type * as SeaModule from 'node:sea';

/**
 * Node's single-executable API when docker-cri runs as the packaged executable, else undefined
 * (running from dist/ or ts-jest; node:sea itself exists only from Node 20.12).
 */
function sea(): typeof SeaModule | undefined {
  try {
    // Through createRequire: the require a single executable gives its script refuses scheme-only
    // built-ins such as node:sea on Node 20.
    const mod = createRequire(__filename)('node:sea') as typeof SeaModule;
    return mod.isSea() ? mod : undefined;
  } catch {
    return undefined;
  }
}

/** A text file embedded in the executable at build time (scripts/package-sea.sh), if any. */
export function embeddedText(name: string): string | undefined {
  try {
    return sea()?.getAsset(name, 'utf8');
  } catch {
    return undefined; // not embedded under that name
  }
}

/** Where the packaged executable keeps its companion files (the pause program), if packaged. */
export function packagedLibDir(): string | undefined {
  return sea() ? path.resolve(path.dirname(process.execPath), '../lib/docker-cri') : undefined;
}

/** Whether this is the packaged single executable (not node running dist/ or the tests). */
export function isPackagedExecutable(): boolean {
  return sea() !== undefined;
}
