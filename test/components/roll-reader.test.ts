import { expect } from 'chai';
import { parse } from 'csv-parse/sync';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readCsvGeneral, readCsvPlain, isPlainCsv, readRollFile } from '../../src/components/beneficiaries/roll-import/file-reader';
import { WORKBOOK_LIMITS, type WorkbookLimits } from '../../src/components/beneficiaries/roll-import/workbook';
import { repeat, rowXml, sharedStringsBomb, workbookParts, zipOf } from '../helpers/xlsx-bomb';
import { AppError } from '../../src/platform/errors';

/** The roll file reader's two CSV paths (plain and csv-parse). */
describe('roll file reader', () => {
  let dir: string;
  let n = 0;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'roll-reader-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const file = (content: string | Buffer): string => {
    const p = path.join(dir, `f${n++}.csv`);
    writeFileSync(p, content);
    return p;
  };
  const records = async (gen: AsyncGenerator<{ rowNo: number; cells: string[] }[]>) => {
    const out: { rowNo: number; cells: string[] }[] = [];
    for await (const batch of gen) out.push(...batch);
    return out;
  };
  /** What csv-parse makes of the bytes with the reader's options: the reference for every file. */
  const reference = (content: string | Buffer) =>
    (parse(Buffer.from(content), { bom: true, delimiter: ',', relax_column_count: true, skip_empty_lines: false }) as string[][]).map(
      (cells, i) => ({ rowNo: i + 1, cells }),
    );
  const refusal = async (gen: AsyncGenerator<unknown>): Promise<AppError> => {
    try {
      for await (const _ of gen) void _;
    } catch (e) {
      expect(e).to.be.instanceOf(AppError);
      return e as AppError;
    }
    throw new Error('the file was read without a refusal');
  };

  const plainFiles = [
    'a,b\n1,2\n',
    'a,b\n1,2',
    'a,b\r\n1,2\r\n',
    'a,b\r\n1,2',
    'a,b\n\n1,2\n\n',
    'a,b\r\n\r\n1,2\r\n,,\r\n',
    '\ufeffa,b\n1,2\n',
    '\ufeffa,b\r\n1,,2,\r\n',
    'x',
    '\n',
    '\n\n',
    'ắ,ệ\nĐặng Văn Ánh,Ý\n',
    ',\n,\n',
    'a,b\n \n',
    "a,b\n1;2,3\t4,it's\n",
  ];

  it('reads plain files (no quotes, one line-end style) by the fast path, with the same records as csv-parse', async () => {
    for (const content of plainFiles) {
      const p = file(content);
      const { plain, crlf } = await isPlainCsv(p);
      expect(plain, JSON.stringify(content)).to.equal(true);
      expect(crlf, JSON.stringify(content)).to.equal(content.includes('\r\n'));
      expect(await records(readCsvPlain(p, crlf)), JSON.stringify(content)).to.deep.equal(reference(content));
      expect(await records(readRollFile(p, 'csv')), JSON.stringify(content)).to.deep.equal(reference(content));
    }
  });

  it('reads quoted cells, embedded commas, quotes and line ends, CR or mixed line ends through csv-parse', async () => {
    const others = [
      'a,b\n1,"2"\n',
      'a,b\n"Nguyễn, Văn","say ""hi"""\n',
      'a,b\r\n"line one\r\nline two",x\r\n3,4\r\n',
      'a,b\n"multi\nline",x\n',
      'a\rb\r',
      'a,b\r\n1,2\n3,4\r\n',
      'a,b\n1,2\r',
      '\ufeff"national_id",full_name\r\n"001040123456",An\r\n',
    ];
    for (const content of others) {
      const p = file(content);
      expect((await isPlainCsv(p)).plain, JSON.stringify(content)).to.equal(false);
      expect(await records(readRollFile(p, 'csv')), JSON.stringify(content)).to.deep.equal(reference(content));
    }
  });

  it('gives the same records either way for a large generated file crossing many read chunks', async () => {
    const lines = ['national_id,full_name,phone'];
    for (let i = 0; i < 30_000; i++) lines.push(`${String(i).padStart(12, '0')},Nguyễn Thị Ánh ${i % 97},${i % 3 ? '' : '0912345678'}`);
    for (const eol of ['\n', '\r\n']) {
      const content = lines.join(eol) + eol;
      const p = file(content);
      const { plain, crlf } = await isPlainCsv(p);
      expect(plain).to.equal(true);
      const fast = await records(readCsvPlain(p, crlf));
      expect(fast).to.deep.equal(await records(readCsvGeneral(p)));
      expect(fast).to.have.length(30_001);
    }
  });

  it('yields only the rows asked for on the fast path, numbered and split as without the filter; every row otherwise', async () => {
    const lines = ['national_id,full_name'];
    for (let i = 0; i < 20_000; i++) lines.push(`${String(i).padStart(12, '0')},Nguyễn Thị Ánh ${i}`);
    const wanted = new Set([1, 2, 777, 10_000, 19_999, 20_001]); // the header, rows across read chunks, the last line
    for (const content of [lines.join('\n') + '\n', lines.join('\r\n')]) {
      const p = file(content);
      const all = await records(readRollFile(p, 'csv'));
      const asked: number[] = [];
      const kept = await records(
        readRollFile(p, 'csv', (rowNo) => {
          asked.push(rowNo);
          return wanted.has(rowNo);
        }),
      );
      expect(kept).to.deep.equal(all.filter((r) => wanted.has(r.rowNo)));
      expect(asked).to.deep.equal(all.map((r) => r.rowNo)); // every row once, in order
    }
    const quoted = file('a,b\n"1",2\n3,4\n');
    expect(await records(readRollFile(quoted, 'csv', (rowNo) => rowNo === 3))).to.have.length(3);
  });

  it('refuses bytes that are not UTF-8, UTF-16 and NUL bytes with FILE_NOT_UTF8 on the fast path too', async () => {
    const good = 'national_id,full_name\n001040123456,Nguyen Van An\n'.repeat(5000);
    const latin1 = file(Buffer.concat([Buffer.from(good), Buffer.from('001040123456,Lê Hà\n', 'latin1')]));
    expect((await isPlainCsv(latin1)).plain).to.equal(true);
    const e = await refusal(readRollFile(latin1, 'csv'));
    expect(e.code).to.equal('FILE_NOT_UTF8');
    expect(e.message).to.match(/near byte \d+/);
    const utf16 = file(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('a,b\n1,2\n', 'utf16le')]));
    expect((await refusal(readRollFile(utf16, 'csv'))).code).to.equal('FILE_NOT_UTF8');
    const noBom = file(Buffer.from('a,b\n1,2\n', 'utf16le'));
    const e16 = await refusal(readRollFile(noBom, 'csv'));
    expect(e16.code).to.equal('FILE_NOT_UTF8');
    expect(e16.message).to.include('UTF-16');
    // a multi-byte character cut at the end of the file
    const cut = file(Buffer.concat([Buffer.from('a,b\n1,'), Buffer.from('ệ').subarray(0, 2)]));
    expect((await refusal(readRollFile(cut, 'csv'))).code).to.equal('FILE_NOT_UTF8');
  });

  it('refuses a huge line with LINE_TOO_LONG without holding it: at the end, in the middle, without any line end, and quoted', async () => {
    const head = 'national_id,full_name\n001040123456,An\n';
    const cases = [
      `${head}${'9'.repeat(100 * 1024)}\n`,
      `${head}${'9'.repeat(100 * 1024)}\n001040123456,An\n`,
      '9'.repeat(3 * 1024 * 1024),
      `${head}"${'9'.repeat(100 * 1024)}",x\n`,
    ];
    for (const content of cases) {
      const e = await refusal(readRollFile(file(content), 'csv'));
      expect(e.code, content.slice(0, 30)).to.equal('LINE_TOO_LONG');
      expect(e.message).to.include('64 KB');
      expect(e.message).not.to.include('9'.repeat(20));
    }
  });

  it('refuses broken quoting with MALFORMED_CSV naming the line', async () => {
    for (const content of ['a,b\n1,"2\n', 'a,b\n1,"2"x\n', 'a,b\n1,2"3"\n']) {
      const e = await refusal(readRollFile(file(content), 'csv'));
      expect(e.code, content).to.equal('MALFORMED_CSV');
      expect(e.message).to.match(/line \d+/);
    }
  });

  describe('XLSX within limits (a small file that inflates to gigabytes)', () => {
    const HEADER = ['national_id', 'full_name'];
    const xlsx = (content: Buffer): string => {
      const p = path.join(dir, `w${n++}.xlsx`);
      writeFileSync(p, content);
      return p;
    };
    const tight = (o: Partial<WorkbookLimits>): WorkbookLimits => ({ ...WORKBOOK_LIMITS, ...o });

    it('refuses a 300 KB workbook whose shared strings inflate to 300 MB with WORKBOOK_LIMIT, before inflating it', async () => {
      const bomb = await sharedStringsBomb(HEADER);
      expect(bomb.length).to.be.below(400 * 1024);
      const heap = process.memoryUsage().heapUsed;
      const started = Date.now();
      const e = await refusal(readRollFile(xlsx(bomb), 'xlsx'));
      expect(e.code).to.equal('WORKBOOK_LIMIT');
      expect(e.message).to.include('xl/sharedStrings.xml would inflate more than 200 times (limit ratio)');
      expect(Date.now() - started).to.be.below(2000);
      expect(process.memoryUsage().heapUsed - heap, 'nothing of it was held').to.be.below(32 * 1024 * 1024);
    });

    it('stops the same bomb whose zip declares 64 KB as soon as it inflates past that, with UNREADABLE_FILE', async () => {
      const e = await refusal(readRollFile(xlsx(await sharedStringsBomb(HEADER, { lie: true })), 'xlsx'));
      expect(e.code).to.equal('UNREADABLE_FILE');
      expect(e.message).to.include('xl/sharedStrings.xml is damaged or holds more than its zip declares');
    });

    it('refuses each limit passed with WORKBOOK_LIMIT naming it, and reads the same workbook within the limits', async () => {
      const cases: { limit: keyof WorkbookLimits; limits: Partial<WorkbookLimits>; parts: () => Promise<Buffer>; says: string }[] = [
        {
          limit: 'entries',
          limits: { entries: 5 },
          parts: () => zipOf([...workbookParts({ header: HEADER }), { name: 'xl/media/image1.png', chunks: [Buffer.alloc(10)] }]),
          says: 'its zip has 6 entries, more than 5',
        },
        {
          limit: 'totalBytes',
          limits: { totalBytes: 4 * 1024 * 1024 },
          parts: () => zipOf(workbookParts({ header: HEADER, sheetRows: Array.from({ length: 8000 }, (_, i) => rowXml(i + 2, 16)) })),
          says: 'its entries declare more than 4 MB uncompressed',
        },
        {
          limit: 'sharedStringsBytes',
          limits: { sharedStringsBytes: 1024 * 1024 },
          parts: () =>
            zipOf(
              workbookParts({
                header: HEADER,
                sharedStrings: [Buffer.from(Array.from({ length: 100_000 }, (_, i) => `<si><t>Nguyễn Văn ${i * 7919}</t></si>`).join(''))],
              }),
            ),
          says: 'its shared strings declare 4 MB, more than 1 MB',
        },
        {
          limit: 'sharedStrings',
          limits: { sharedStrings: 1000 },
          parts: () => zipOf(workbookParts({ header: HEADER, sharedStrings: repeat('<si><t>A</t></si>', 999) })),
          says: 'it has more than 1000 shared strings',
        },
        {
          limit: 'cellsPerRow',
          limits: { cellsPerRow: 100 },
          parts: () => zipOf(workbookParts({ header: HEADER, sheetRows: [rowXml(2, 100), rowXml(3, 50), rowXml(4, 101)] })),
          says: 'a row of xl/worksheets/sheet1.xml has more than 100 cells',
        },
        {
          limit: 'runChars',
          limits: { runChars: 100_000 },
          parts: () => zipOf(workbookParts({ header: HEADER, sharedStrings: [Buffer.from(`<si><t>${'B'.repeat(100_001)}</t></si>`)] })),
          says: 'xl/sharedStrings.xml holds a text or tag longer than 100000 characters',
        },
        {
          limit: 'partBytes',
          limits: { partBytes: 200 },
          parts: () => zipOf(workbookParts({ header: HEADER })),
          says: 'xl/_rels/workbook.xml.rels declares 279 bytes, more than 200 bytes',
        },
      ];
      for (const c of cases) {
        const p = xlsx(await c.parts());
        const e = await refusal(readRollFile(p, 'xlsx', undefined, tight(c.limits)));
        expect(e.code, e.message).to.equal('WORKBOOK_LIMIT');
        expect(e.message, e.message).to.include(`${c.says}`).and.to.include(`(limit ${c.limit})`);
        const rows = await records(readRollFile(p, 'xlsx'));
        expect(rows[0], c.limit).to.deep.equal({ rowNo: 1, cells: HEADER });
      }
    });

    it('reads rows of exactly the most cells allowed, cut anywhere by the inflating, and the sheet stored before its strings', async () => {
      const p = xlsx(await zipOf(workbookParts({ header: HEADER, sheetRows: [rowXml(2, 100), rowXml(3, 100)] })));
      const rows = await records(readRollFile(p, 'xlsx', undefined, tight({ cellsPerRow: 100 })));
      expect(rows.map((r) => [r.rowNo, r.cells.length])).to.deep.equal([
        [1, 2],
        [2, 100],
        [3, 100],
      ]);
    });
  });
});
