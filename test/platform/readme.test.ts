import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { configTable } from '../../config';

describe('README', () => {
  it('documents every configuration key exactly as config/schema.ts defines it', () => {
    const readme = readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
    expect(readme).to.contain(configTable());
  });
});
