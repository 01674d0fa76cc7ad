import fs from 'fs';
import path from 'path';

/**
 * Every way docker-cri is started runs node with the flags of shims/node-options (a 1 MiB young
 * generation: about 9 MiB less resident at no measurable CPU cost; see bench/results/density.json).
 */
const root = path.resolve(__dirname, '../..');
const read = (f: string): string => fs.readFileSync(path.join(root, f), 'utf8');
const flags = read('shims/node-options').trim();

describe('node flags of every launcher', () => {
  it('are one line of flags', () => {
    expect(flags).toMatch(/^(--[a-z-]+(=\S+)?)( --[a-z-]+(=\S+)?)*$/);
  });

  it.each([
    ['scripts/start.sh', /exec node \$\(cat shims\/node-options\) dist\/src\/main\.js/],
    [
      'scripts/install.sh (its wrapper)',
      /NODE_FLAGS=\$\(cat shims\/node-options\)[\s\S]*exec "\$INSTALLED_NODE" \$NODE_FLAGS /,
    ],
  ])('%s reads them from the file', (file, pattern) => {
    expect(read(file.split(' ')[0])).toMatch(pattern);
  });

  it('the single executable is built with them (its execArgv), so the .deb unit sets none', () => {
    expect(read('scripts/package-sea.sh')).toMatch(
      /exec_argv=.*readFileSync\("shims\/node-options"[\s\S]*"execArgv": \$exec_argv,/,
    );
    expect(read('shims/deb/docker-cri.service')).not.toMatch(/^Environment=NODE_OPTIONS=/m);
  });

  it('the container image runs node with them', () => {
    expect(read('Dockerfile')).toMatch(
      /exec node \$\(cat \/opt\/docker-cri\/node-options\) \/opt\/docker-cri\/dist\/src\/main\.js/,
    );
    expect(read('Dockerfile')).toContain('COPY --from=build /src/shims/node-options ./node-options');
  });
});

/** And with the environment of shims/node-env (no glibc malloc arena per thread). */
const env = read('shims/node-env').trim();

describe('node environment of every launcher', () => {
  it('is VAR=value lines', () => {
    expect(env).toMatch(/^[A-Z_]+=\S+(\n[A-Z_]+=\S+)*$/);
  });

  it.each([
    ['scripts/start.sh', /export \$\(cat shims\/node-env\)\n[\s\S]*exec node /],
    [
      'scripts/install.sh (its wrapper)',
      /NODE_ENV_VARS=\$\(cat shims\/node-env\)[\s\S]*export \$NODE_ENV_VARS\nexec "\$INSTALLED_NODE"/,
    ],
  ])('%s reads it from the file', (file, pattern) => {
    expect(read(file.split(' ')[0])).toMatch(pattern);
  });

  it.each(env.split('\n'))('the .deb unit and the container image set %s', (line) => {
    expect(read('shims/deb/docker-cri.service')).toContain(`\nEnvironment=${line}\n`);
    expect(read('Dockerfile')).toContain(`\nENV ${line}\n`);
  });
});
