import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { configTable } from '../../config';

const doc = (...p: string[]) => readFileSync(path.join(__dirname, '..', '..', ...p), 'utf8');

describe('README and docs', () => {
  it('documents every configuration key exactly as config/schema.ts defines it (docs/operations.md)', () => {
    expect(doc('docs', 'operations.md')).to.contain(configTable());
  });

  it('names in its security rules only tests that exist, each in the file it names (docs/security.md)', () => {
    const security = doc('docs', 'security.md');
    const start = security.indexOf('## Rules and the tests that hold them');
    expect(start).to.be.greaterThan(0);
    const section = security.slice(start);
    const rows = [...section.matchAll(/^\| .+ \| `(test\/[^`]+)` › (.+) \|$/gm)];
    expect(rows.length).to.be.greaterThan(30);
    for (const [, file, title] of rows) {
      const source = readFileSync(path.join(__dirname, '..', '..', file!), 'utf8');
      expect(source, `${file} has no test "${title}"`).to.contain(title);
    }
  });

  it('links from the README every guide in docs/, and each link resolves', () => {
    const readme = doc('README.md');
    for (const guide of [
      'architecture',
      'api',
      'rolls',
      'batches',
      'payments',
      'reconciliation',
      'network',
      'operations',
      'security',
      'benchmarks',
    ]) {
      expect(readme, guide).to.contain(`](docs/${guide}.md)`);
    }
    for (const [, target] of readme.matchAll(/\]\((docs\/[^)#]+)\)/g)) expect(() => doc(target!), target).to.not.throw();
  });
});
