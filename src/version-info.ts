import fs from 'fs';
import path from 'path';
import { execFileSync } from 'child_process';
import { embeddedText } from './sea';

/** Version and commit baked into the packaged executable, which has no package.json or .git. */
const BUILT = JSON.parse(embeddedText('build-info.json') ?? '{}') as { version?: string; commit?: string };

function readPackageVersion(): string {
  if (BUILT.version) return BUILT.version;
  for (const p of ['../package.json', '../../package.json']) {
    try {
      return (JSON.parse(fs.readFileSync(path.resolve(__dirname, p), 'utf8')) as { version: string }).version;
    } catch {
      // try the next place
    }
  }
  return 'unknown';
}

function readCommit(): string {
  if (process.env.DOCKER_CRI_COMMIT) return process.env.DOCKER_CRI_COMMIT;
  if (BUILT.commit) return BUILT.commit;
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: __dirname,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
  } catch {
    return 'unknown';
  }
}

export const VERSION_INFO = {
  version: readPackageVersion(),
  commit: readCommit(),
  criApi: 'v1',
};
