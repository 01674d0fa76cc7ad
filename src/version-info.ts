import fs from 'fs';
import path from 'path';
import { execFileSync } from 'child_process';

function readPackageVersion(): string {
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
