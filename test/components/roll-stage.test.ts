import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { TsvWriter } from '../../src/components/beneficiaries/tsv-writer';
import {
  FINGERPRINT_BYTES,
  FINGERPRINTS_PER_ROW,
  fingerprintInto,
  NO_FINGERPRINT,
  RepeatFinder,
} from '../../src/components/beneficiaries/roll-repeats';
import { testApp } from '../helpers/app';

/** Loads `rows` written by TsvWriter into a fresh table through LOAD DATA LOCAL INFILE, as the roll import stages them. */
async function roundTrip(write: (w: TsvWriter) => void): Promise<{ id: number; b: Buffer | null; t: string | null; n: number | null }[]> {
  const { infra } = await testApp();
  const t = 'tsv_writer_round_trip';
  await infra.ds.query(`DROP TABLE IF EXISTS ${t}`);
  await infra.ds.query(
    `CREATE TABLE ${t} (id INT NOT NULL PRIMARY KEY, b VARBINARY(600) NULL, t VARCHAR(200) CHARACTER SET utf8mb4 NULL, n INT NULL)`,
  );
  const w = new TsvWriter(64);
  const chunks: Buffer[] = [];
  write(w);
  chunks.push(w.take());
  const runner = infra.ds.createQueryRunner();
  const conn = (await runner.connect()) as {
    query(o: object, cb: (e: Error | null, r?: { affectedRows: number; warningStatus: number }) => void): void;
  };
  try {
    const res = await new Promise<{ affectedRows: number; warningStatus: number }>((resolve, reject) =>
      conn.query(
        {
          sql: `LOAD DATA LOCAL INFILE 'x' INTO TABLE ${t} CHARACTER SET binary FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\'
                LINES TERMINATED BY '\\n' (id, b, t, n)`,
          infileStreamFactory: () => Readable.from(chunks),
        },
        (e, r) => (e ? reject(e) : resolve(r!)),
      ),
    );
    expect(res.warningStatus).to.equal(0);
  } finally {
    await runner.release();
  }
  const rows = await infra.ds.query(`SELECT id, b, t, n FROM ${t} ORDER BY id`);
  await infra.ds.query(`DROP TABLE ${t}`);
  return rows;
}

describe('roll staging through LOAD DATA (TsvWriter)', () => {
  it('keeps every byte value, text with tabs, newlines, backslashes and NUL, Vietnamese text, numbers and NULLs', async () => {
    const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const text = 'Nguyễn Văn Ánh\t\\N\n\\\0 end';
    const rows = await roundTrip((w) => {
      w.int(1);
      w.bytes(every);
      w.text(text);
      w.int(-42);
      w.endRow();
      w.int(2);
      w.bytesOrNull(null);
      w.textOrNull(null);
      w.intOrNull(null);
      w.endRow();
      w.int(3);
      w.bytes(Buffer.alloc(0));
      w.text('');
      w.int(0);
      w.endRow();
    });
    expect(rows).to.have.length(3);
    expect(Buffer.compare(rows[0]!.b!, every)).to.equal(0);
    expect(rows[0]!.t).to.equal(text);
    expect(Number(rows[0]!.n)).to.equal(-42);
    expect([rows[1]!.b, rows[1]!.t, rows[1]!.n]).to.deep.equal([null, null, null]);
    expect(rows[2]!.b!.length).to.equal(0);
    expect(rows[2]!.t).to.equal('');
  });

  it('hands over its buffer once a chunk is full', () => {
    const w = new TsvWriter(16);
    expect(w.full).to.equal(false);
    w.text('0123456789abcdef');
    expect(w.full).to.equal(true);
    expect(w.take().toString()).to.equal('0123456789abcdef');
    expect(w.length).to.equal(0);
  });
});

describe('TsvWriter fast paths', () => {
  it('writes integers and short ASCII text as the general path does', () => {
    const w = new TsvWriter(1024);
    const ints = [0, 7, 10, 99, 100, 202401, 4294967295, 999999999999999, -1, 1e15, 2 ** 53 + 2];
    for (const n of ints) w.int(n);
    w.endRow();
    expect(w.take().toString()).to.equal(`${ints.map(String).join('\t')}\n`);
    const texts = ['', 'M', '2024-01-15', '0012******89', 'nguyen van an', 'a\\b', 'tab\there', 'nl\nx', 'nul\0', 'Ánh', 'x'.repeat(70)];
    for (const t of texts) w.text(t);
    w.endRow();
    const escaped = (t: string) => t.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\0/g, '\\0');
    expect(w.take().toString()).to.equal(`${texts.map(escaped).join('\t')}\n`);
  });
});

describe('RepeatFinder (national IDs and accounts on several rows, by fingerprint)', () => {
  /** Random distinct 32-byte "hashes". */
  const hashes = (n: number) => Array.from({ length: n }, () => randomBytes(32));
  const fingerprints = (rows: [Buffer, Buffer | null][]) => {
    const fps = new Uint32Array(rows.length * FINGERPRINTS_PER_ROW);
    rows.forEach(([nid, account], k) => {
      fingerprintInto(nid, fps, k * FINGERPRINTS_PER_ROW);
      if (account) fingerprintInto(account, fps, k * FINGERPRINTS_PER_ROW + 2);
      else fps[k * FINGERPRINTS_PER_ROW + 2] = NO_FINGERPRINT;
    });
    return fps;
  };
  const prefixes = (found: [number, Buffer][], kind: number) =>
    found
      .filter(([k]) => k === kind)
      .map(([, p]) => p.toString('hex'))
      .sort();

  it('hands on every value met again, across batches, with the first bytes of its hash; accounts only where a row has one', () => {
    const f = new RepeatFinder();
    const nids = hashes(100_000);
    const accounts = hashes(100_000);
    const rows = nids.map((n, k): [Buffer, Buffer | null] => [n, k % 3 === 0 ? null : accounts[k]!]);
    f.note(fingerprints(rows), rows.length);
    const early = f.take();
    // rows 17 and 99,999 again in a later batch (row 17 twice), and the account of row 1 for another person
    const again: [Buffer, Buffer | null][] = [
      [nids[17]!, null],
      [nids[99_999]!, null],
      [randomBytes(32), accounts[1]!],
      [nids[17]!, null],
    ];
    f.note(fingerprints(again), again.length);
    expect(f.waiting).to.equal(4);
    const found = f.take();
    expect(f.take()).to.deep.equal([]);
    const head = (b: Buffer) => b.subarray(0, FINGERPRINT_BYTES).toString('hex');
    expect(prefixes(found, 0)).to.deep.equal([head(nids[17]!), head(nids[17]!), head(nids[99_999]!)].sort());
    expect(prefixes(found, 1)).to.deep.equal([head(accounts[1]!)]);
    // values met once are rarely taken for repeats: the two bitmaps are 2^24 bits each
    expect(early.length, 'false candidates among 100,000 distinct values').to.be.lessThan(20);
  });

  it('splits the first six bytes of a keyed hash into two 24-bit halves', () => {
    const fps = new Uint32Array(2);
    fingerprintInto(Buffer.from('a1b2c3d4e5f6ff', 'hex'), fps, 0);
    expect([...fps]).to.deep.equal([0xa1b2c3, 0xd4e5f6]);
  });
});
