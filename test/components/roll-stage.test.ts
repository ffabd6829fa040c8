import { expect } from 'chai';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { TsvWriter } from '../../src/components/beneficiaries/roll-import/tsv-writer';
import {
  FINGERPRINT_BYTES,
  FINGERPRINTS_PER_ROW,
  fingerprintInto,
  NO_FINGERPRINT,
  RepeatFinder,
} from '../../src/components/beneficiaries/roll-import/repeats';
import { DataCipher } from '../../src/platform/crypto';
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

describe('roll staging keyed hashes', () => {
  // The keyed hashes stored on the roll (beneficiaries, enrolments) were made by the import's earlier hash code: these
  // are its outputs, so that a staged hash keeps finding the stored person and account.
  const KEY = 'q3JhbmRvbS1rZXktZm9yLXRlc3RzLW9ubHktMzItYnl0';
  const KEYS = ['short', KEY, 'x'.repeat(64), 'y'.repeat(65), 'k'.repeat(200), 'khóa bí mật'];
  const VECTORS: [key: string, purpose: string, value: string, hex: string][] = [
    [KEY, 'nid', '001040123456', '0b08d44ca92d606fc3bf5fc5d9e3629532b1f1c88af2a60947cb83a78283fccf'],
    [KEY, 'phone', '0912345678', '6f8d8430feb044f36abcf2624eab5442637b81704b726ed94823041b2267f90d'],
    [KEY, 'account', '970436:1234567890123', 'c61841ad0b16ac677969dbf6769c3783e70c7eb98a17db59f8ebf2c01aef08a6'],
    [KEY, 'wallet', 'MOMO:0912345678', '0480ad0105e6253ad91a1339dd5c156a2cb9848310ebc1d247596b1dd1dcbf2c'],
    ['short', 'nid', '', '36cf855d7fc1de0137c002080b6f21d663e6ae70e486bc69808e78a785552c28'],
    ['x'.repeat(64), 'account', `970436:${'9'.repeat(48)}`, '5d133af9306caa8820a972d24cb6477fe12fe77563be394888dab0db7696e684'],
    ['khóa bí mật', 'wallet', 'Nguyễn Văn Ánh', 'fa3447aeac5d0ad35266674876d9731fc885f962a3a894ee04b36ff440c9da39'],
    ['k'.repeat(200), 'phone', '0'.repeat(120), '96961a54b76dedaefd8eda9a1bcbfacfdd2f66e01f1c07bb8cec35e576904368'],
  ];
  /** SHA-256 of the hashes of every key above, purpose, and value length from 0 to 199 (ASCII, or Vietnamese every fifth). */
  const ALL = '430bbf4aebafc05dee9f37d577dca3dd243c8bd2608ed39795775264601efdfb';
  const value = (len: number) =>
    len % 5 === 0 ? 'ệ'.repeat(len) : Array.from({ length: len }, (_, i) => String.fromCharCode(48 + ((i * 7 + len) % 75))).join('');
  const cipher = (hmacKey: string) => new DataCipher(new Map([['k1', randomBytes(32)]]), 'k1', hmacKey);
  const allOf = (hash: (key: string) => (purpose: string, value: string) => Buffer) => {
    const all = createHash('sha256');
    for (const key of KEYS) {
      const h = hash(key);
      for (let len = 0; len < 200; len++) for (const purpose of ['nid', 'phone', 'account', 'wallet']) all.update(h(purpose, value(len)));
    }
    return all.digest('hex');
  };

  it('makes the same bytes as the hashes stored on the roll, for every message length and key kind', () => {
    for (const [key, purpose, v, hex] of VECTORS) {
      expect(cipher(key).lookupHash(purpose, v).toString('hex'), `${purpose} ${v.length}`).to.equal(hex);
      expect(createHmac('sha256', key).update(`${purpose}\n${v}`).digest('hex')).to.equal(hex);
    }
    expect(
      allOf((key) => {
        const c = cipher(key);
        return (p, v) => c.lookupHash(p, v);
      }),
    ).to.equal(ALL);
  });
});
