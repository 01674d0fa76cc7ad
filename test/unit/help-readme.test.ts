import fs from 'fs';
import path from 'path';
import { FLAGS, helpText } from '../../src/config';
import { helpFlags, readmeFlagTable } from '../support/flag-table';

describe('the README flag table and docker-cri --help', () => {
  const readme = readmeFlagTable(fs.readFileSync(path.resolve(__dirname, '../../README.md'), 'utf8'));
  const help = helpFlags(helpText());

  it('--help lists every flag with its default', () => {
    expect([...help.keys()].sort()).toEqual(
      [...FLAGS.map((f) => f.name), 'help', 'version', 'buildinfo'].sort(),
    );
    for (const f of FLAGS) expect(help.get(f.name)).toBeDefined();
  });

  it('name the same flags with the same defaults', () => {
    expect(Object.fromEntries(readme)).toEqual(Object.fromEntries(help));
  });
});
