import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { configTable } from '../../config';

describe('README', () => {
  it('documents every configuration key exactly as config/schema.ts defines it', () => {
    const readme = readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
    expect(readme).to.contain(configTable());
  });

  it('names in its security rules only tests that exist, each in the file it names', () => {
    const readme = readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('#### Rules and the tests that hold them'), readme.indexOf('## Dependencies and why'));
    const rows = [...section.matchAll(/^\| .+ \| `(test\/[^`]+)` › (.+) \|$/gm)];
    expect(rows.length).to.be.greaterThan(30);
    for (const [, file, title] of rows) {
      const source = readFileSync(path.join(__dirname, '..', '..', file!), 'utf8');
      expect(source, `${file} has no test "${title}"`).to.contain(title);
    }
  });
});
