import { execFileSync } from 'child_process';

/**
 * Integration tests need the engine (DOCKER_HOST picks which) and registries that scripts/test.sh
 * prepares; say so plainly.
 */
export default async function globalSetup(): Promise<void> {
  const host = process.env.DOCKER_HOST;
  if (!host || !host.startsWith('unix://')) {
    throw new Error('DOCKER_HOST is not set: run the integration tests through `npm test` (scripts/test.sh)');
  }
  let version: { Version?: string; ApiVersion?: string };
  try {
    const out = execFileSync('curl', [
      '-sf',
      '--max-time',
      '5',
      '--unix-socket',
      host.slice(7),
      'http://docker/version',
    ]);
    version = JSON.parse(out.toString()) as typeof version;
  } catch {
    throw new Error(`no Docker Engine answers at ${host}: run the tests through \`npm test\``);
  }
  // The suite runs once per engine (scripts/test.sh): say which one this run is testing.
  process.stderr.write(
    `\nintegration tests on docker ${version.Version} (API ${version.ApiVersion}) at ${host}\n`,
  );
  if (!process.env.DCRI_TEST_REGISTRY) {
    throw new Error('DCRI_TEST_REGISTRY is not set: run the tests through `npm test` (scripts/registry.sh)');
  }
}
