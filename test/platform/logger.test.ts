import { Writable } from 'node:stream';
import { expect } from 'chai';
import winston from 'winston';
import { buildLogger, logger, maskDigits, processLogger } from '../../src/platform/logger';

const MESSAGE = Symbol.for('message');

/** A logger with the real format whose output lines are collected instead of printed. */
function capture(mode: 'production' | 'development' = 'production', level = 'debug') {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const log = buildLogger({ mode, level, transports: [new winston.transports.Stream({ stream })] });
  const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
  return { log, lines, flush, json: () => lines.map((l) => JSON.parse(l) as Record<string, any>) };
}

const NATIONAL_ID = '001099012345';
const ACCOUNT = '0123456789012';
const PHONE = '0912345678';
const REQUEST_ID = '550e8400-e29b-41d4-a716-446655440000';

describe('logger: redaction of personal data and secrets', () => {
  it('replaces the values of sensitive keys in a log line', async () => {
    const { log, json, lines, flush } = capture();
    const sensitive = {
      password: 'Hunter2-Password!',
      token: 'eyJhbGciOi.secret.part',
      accessToken: 'at-123',
      authorization: 'Bearer abc.def.ghi',
      cookie: 'sid=xyz',
      nationalId: NATIONAL_ID,
      national_id: NATIONAL_ID,
      cccd: NATIONAL_ID,
      accountNumber: ACCOUNT,
      accountName: 'NGUYEN VAN A',
      accountNo: ACCOUNT,
      phone: PHONE,
      phoneNumber: PHONE,
      fullName: 'Nguyễn Văn An',
      displayName: 'Trần Thị Bình',
      name: 'Lê Văn Cường',
      dateOfBirth: '1990-01-02',
      birthDate: '1990-01-02',
      email: 'an.nguyen@example.vn',
      totpSecret: 'JBSWY3DPEHPK3PXP',
      apiKey: 'k-abc',
      clientSecret: 's-abc',
      signature: 'sig-abc',
    };
    log.info('beneficiary imported', sensitive);
    await flush();
    const [line] = json();
    for (const k of Object.keys(sensitive)) expect(line![k], k).to.equal('[redacted]');
    for (const v of Object.values(sensitive)) expect(lines[0], v).not.to.contain(v);
  });

  it('keeps ordinary fields, numbers, flags and area names readable', async () => {
    const { log, json, flush } = capture();
    log.info('area renamed', {
      areaName: 'Phường Phúc Xá',
      code: '00001',
      username: 'staff.badinh',
      count: 3,
      amount: 1500000,
      totpEnabled: true,
      passwordChanged: false,
    });
    await flush();
    expect(json()[0]).to.deep.include({
      areaName: 'Phường Phúc Xá',
      code: '00001',
      username: 'staff.badinh',
      count: 3,
      amount: 1500000,
      totpEnabled: true,
      passwordChanged: false,
      message: 'area renamed',
      level: 'info',
    });
  });

  it('redacts sensitive keys at any depth, inside objects and arrays', async () => {
    const { log, json, lines, flush } = capture();
    log.info('batch prepared', {
      batch: { id: 7, rows: [{ beneficiary: { fullName: 'Phạm Thị Dung', account: { accountNumber: ACCOUNT, bank: 'VCB' } } }] },
      auth: { headers: { authorization: 'Bearer deep.token.here' } },
      a: { b: { c: { d: { e: { password: 'very-deep-Password1' } } } } },
    });
    await flush();
    const [line] = json();
    expect(line!.batch.rows[0].beneficiary.fullName).to.equal('[redacted]');
    expect(line!.batch.rows[0].beneficiary.account).to.deep.equal({ accountNumber: '[redacted]', bank: 'VCB' });
    expect(line!.auth.headers.authorization).to.equal('[redacted]');
    expect(line!.a.b.c.d.e.password).to.equal('[redacted]');
    for (const v of ['Phạm Thị Dung', ACCOUNT, 'deep.token.here', 'very-deep-Password1']) expect(lines[0]).not.to.contain(v);
  });

  it('never writes a value nested deeper than it walks', async () => {
    const { log, lines, flush } = capture();
    let deep: Record<string, unknown> = { password: 'Bottom-Secret-Password', note: `id ${NATIONAL_ID}` };
    for (let i = 0; i < 20; i++) deep = { level: deep };
    log.info('deep', { deep });
    await flush();
    expect(lines[0]).not.to.contain('Bottom-Secret-Password');
    expect(lines[0]).not.to.contain(NATIONAL_ID);
  });

  it('survives a circular object without leaking from it', async () => {
    const { log, lines, flush } = capture();
    const loop: Record<string, unknown> = { phone: PHONE, note: `call ${PHONE}` };
    loop.self = loop;
    log.info('loop', { loop });
    await flush();
    expect(lines).to.have.length(1);
    expect(lines[0]).not.to.contain(PHONE);
  });

  it('masks digit runs of six or more inside the message and string values, keeping both ends', async () => {
    const { log, json, lines, flush } = capture();
    log.warn(`lookup of CCCD ${NATIONAL_ID} for phone ${PHONE} failed`, {
      note: `account ${ACCOUNT} rejected`,
      list: [`id:${NATIONAL_ID}`],
      code: '00001',
      year: '2026',
    });
    await flush();
    const [line] = json();
    expect(line!.message).to.equal('lookup of CCCD 00********45 for phone 09******78 failed');
    expect(line!.note).to.equal('account 01*********12 rejected');
    expect(line!.list).to.deep.equal(['id:00********45']);
    expect(line!.code, 'five digits are kept').to.equal('00001');
    expect(line!.year).to.equal('2026');
    for (const v of [NATIONAL_ID, PHONE, ACCOUNT]) expect(lines[0]).not.to.contain(v);
  });

  it('keeps a SHA-256 digest readable, but masks a digit run beside or inside other text, and 64 digits in a row', () => {
    const digest = '0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0'.replace('0112233', '0123456');
    expect(maskDigits(`file ${digest} stored`)).to.equal(`file ${digest} stored`);
    expect(maskDigits(`${digest.toUpperCase()}`)).to.equal(digest.toUpperCase());
    expect(maskDigits(`x${digest}`), 'not a digest: part of a longer word').to.contain('*');
    expect(maskDigits('1'.repeat(64))).to.equal(`11${'*'.repeat(60)}11`);
    expect(maskDigits(`id ${NATIONAL_ID} hash ${digest}`)).to.equal(`id 00********45 hash ${digest}`);
  });

  it('masks a six-digit run but not a five-digit one', () => {
    expect(maskDigits('123456')).to.equal('12**56');
    expect(maskDigits('12345')).to.equal('12345');
    expect(maskDigits('a1234567b')).to.equal('a12***67b');
  });

  it('keeps request ids readable even when a group of the UUID is all digits', async () => {
    const { log, json, flush } = capture();
    log.error(`request ${REQUEST_ID} failed`, { requestId: REQUEST_ID });
    await flush();
    const [line] = json();
    expect(line!.requestId).to.equal(REQUEST_ID);
    expect(line!.message).to.equal(`request ${REQUEST_ID} failed`);
  });

  it('logs an error meta by name, message, code and stack, with digits masked', async () => {
    const { log, json, lines, flush } = capture();
    const err = Object.assign(new Error(`duplicate account ${ACCOUNT}`), { code: 'ER_DUP_ENTRY', parameters: ['Hoàng Văn Em', ACCOUNT] });
    log.error('request failed', { err });
    await flush();
    const [line] = json();
    expect(line!.err).to.include({ name: 'Error', message: 'duplicate account 01*********12', code: 'ER_DUP_ENTRY' });
    expect(line!.err.stack).to.be.a('string').and.contain('duplicate account 01*********12');
    expect(lines[0]).not.to.contain(ACCOUNT);
    expect(lines[0]).not.to.contain('Hoàng Văn Em');
  });

  it('logs an Error passed alone without the driver properties that hold row values', async () => {
    const { log, json, lines, flush } = capture();
    const err = Object.assign(new Error(`insert failed for ${NATIONAL_ID}`), {
      query: 'INSERT INTO beneficiaries VALUES (?, ?)',
      parameters: ['Hoàng Văn Em', NATIONAL_ID],
      code: 'ER_DUP_ENTRY',
    });
    log.error(err);
    await flush();
    const [line] = json();
    expect(line!.message).to.equal('insert failed for 00********45');
    expect(line!.error).to.include({ name: 'Error', code: 'ER_DUP_ENTRY' });
    expect(lines[0]).not.to.contain('Hoàng Văn Em');
    expect(lines[0]).not.to.contain(NATIONAL_ID);
    expect(err.code, "the caller's error keeps its code").to.equal('ER_DUP_ENTRY');
    expect(err.parameters).to.deep.equal(['Hoàng Văn Em', NATIONAL_ID]);
  });

  it('drops the row values an Error carries when it is passed as the meta', async () => {
    const { log, json, lines, flush } = capture();
    const err = Object.assign(new Error('insert failed'), {
      sql: "INSERT INTO beneficiaries VALUES ('Hoàng Văn Em')",
      parameters: ['Hoàng Văn Em'],
      code: 'ER_DUP_ENTRY',
    });
    log.error('import failed:', err);
    await flush();
    const [line] = json();
    expect(line!.message).to.equal('import failed: insert failed');
    expect(line!.code).to.equal('ER_DUP_ENTRY');
    expect(lines[0]).not.to.contain('Hoàng Văn Em');
  });

  it('writes dates as ISO text rather than {}', async () => {
    const { log, json, flush } = capture();
    log.info('locked', { lockedAt: new Date('2026-03-04T05:06:07.089Z') });
    await flush();
    expect(json()[0]!.lockedAt).to.equal('2026-03-04T05:06:07.089Z');
  });

  it('scrubs the readable development line the same way', async () => {
    const { log, lines, flush } = capture('development');
    log.child({ service: 'api' }).info(`payment to ${ACCOUNT}`, { password: 'Dev-Line-Password', phone: PHONE, areaName: 'Ba Đình' });
    await flush();
    expect(lines[0]).to.match(/^\d{2}:\d{2}:\d{2}\.\d{3} .*info.* \[api\] payment to 01\*{9}12 /);
    expect(lines[0]).to.contain('"password":"[redacted]"');
    expect(lines[0]).to.contain('"areaName":"Ba Đình"');
    for (const v of [ACCOUNT, PHONE, 'Dev-Line-Password']) expect(lines[0]).not.to.contain(v);
  });

  it('scrubs what the process logger hands to its console transport', () => {
    const console = logger().transports.find((t) => t instanceof winston.transports.Console)!;
    expect(console, 'a console transport').to.exist;
    const written: string[] = [];
    const original = console.log!.bind(console);
    console.log = (info: Record<string | symbol, unknown>, next: () => void) => {
      written.push(String(info[MESSAGE]));
      next();
    };
    try {
      processLogger('test').error(`payout to ${PHONE} failed`, {
        requestId: REQUEST_ID,
        beneficiary: { fullName: 'Võ Thị Phương', nationalId: NATIONAL_ID },
      });
    } finally {
      console.log = original;
    }
    expect(written).to.have.length(1);
    expect(written[0]).to.contain('[test]');
    expect(written[0]).to.contain('payout to 09******78 failed');
    expect(written[0]).to.contain(REQUEST_ID);
    for (const v of [PHONE, NATIONAL_ID, 'Võ Thị Phương']) expect(written[0]).not.to.contain(v);
  });
});
