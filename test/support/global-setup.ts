import { execFileSync } from 'child_process';

/** Integration tests need the engine and registries that scripts/test.sh prepares; say so plainly. */
export default async function globalSetup(): Promise<void> {
  const host = process.env.DOCKER_HOST;
  if (!host || !host.startsWith('unix://')) {
    throw new Error('DOCKER_HOST is not set: run the integration tests through `npm test` (scripts/test.sh)');
  }
  try {
    execFileSync('curl', ['-sf', '--max-time', '5', '--unix-socket', host.slice(7), 'http://docker/_ping']);
  } catch {
    throw new Error(`no Docker Engine answers at ${host}: run the tests through \`npm test\``);
  }
  if (!process.env.DCRI_TEST_REGISTRY) {
    throw new Error('DCRI_TEST_REGISTRY is not set: run the tests through `npm test` (scripts/registry.sh)');
  }
}
