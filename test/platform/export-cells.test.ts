import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { csvField, csvLine, csvText, safeCell } from '../../src/platform/export/cells';

const ROOT = path.join(__dirname, '..', '..');

function sources(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)));
}

describe('platform/export/cells', () => {
  it('keeps text that begins with = + - @ tab or CR as text with a leading quote, and leaves numbers numeric', () => {
    for (const v of ['=1+1', '+84 912', '-Nguyễn', '@SUM(A1)', '\tx', '\rx']) {
      expect(safeCell(v)).to.equal(`'${v}`);
    }
    expect(safeCell('Nguyễn Văn An')).to.equal('Nguyễn Văn An');
    expect(safeCell(' =not first')).to.equal(' =not first');
    expect(safeCell(-750_000)).to.equal(-750_000);
    expect(safeCell(null)).to.equal(null);
    expect(csvField(-750_000)).to.equal('-750000');
    expect(csvField('=HYPERLINK("http://x","y")')).to.equal(`"'=HYPERLINK(""http://x"",""y"")"`);
    expect(csvField('-1,5')).to.equal(`"'-1,5"`);
    expect(csvLine(['a', null, 3, 'b\nc'])).to.equal('a,,3,"b\nc"\n');
  });

  it('writes a CSV with the byte order mark, the header and every row', async () => {
    async function* rows() {
      yield ['1', '@x'];
      yield [2, null];
    }
    let text = '';
    for await (const piece of csvText(['n', 'name'], rows())) text += piece;
    expect(text).to.equal("\uFEFFn,name\n1,'@x\n2,\n");
  });

  it('is the only path to a spreadsheet: no other code adds XLSX rows, writes a CSV byte order mark or uses csv-stringify', () => {
    const files = [...sources('src'), ...sources('jobs')].filter((f) => f !== path.join('src', 'platform', 'export', 'cells.ts'));
    const offenders: string[] = [];
    for (const f of files) {
      const text = readFileSync(path.join(ROOT, f), 'utf8');
      if (/\.addRow\(/.test(text)) offenders.push(`${f}: addRow (use addSheetRow)`);
      if (/\\uFEFF|\uFEFF/.test(text)) offenders.push(`${f}: a CSV written by hand (use csvText or csvLine)`);
      // the sandbox provider's statement is the provider contract's wire format, read by the service, not a spreadsheet
      if (/from 'csv-stringify/.test(text) && !f.startsWith(path.join('src', 'components', 'providers', 'sandbox'))) {
        offenders.push(`${f}: csv-stringify (use csvText or csvLine)`);
      }
    }
    expect(offenders).to.deep.equal([]);
  });
});
