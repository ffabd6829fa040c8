import { expect } from 'chai';
import { randomBytes, randomInt } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { PAYMENT_SEALED_COLUMNS } from '../../src/components/payments';
import { DataCipher } from '../../src/platform/crypto';
import {
  rotateDataKeys,
  type ColumnRotation,
  type Keyring,
  type RotationOptions,
  type RotationReport,
  type SealedColumn,
} from '../../src/platform/crypto/rotation';
import { AppError } from '../../src/platform/errors';
import { SYSTEM_ACTOR } from '../../src/platform/security';
import { SEALED_COLUMNS } from '../../src/sealed-columns';
import { testApp, type TestApp } from '../helpers/app';
import { createBatch, crew, enrol, makeProgramme } from '../helpers/batches';
import { areaId as areaOf, auditCount, makeUser, TEST_TOTP_SECRET } from '../helpers/factories';
import { testWorker } from '../helpers/worker';

/**
 * The rotation runs over the whole test database, which other test files share:
 * their values are all under the configured active key, so only the rows made
 * here (sealed with `rot-old`) are re-encrypted, and assertions look at them.
 */
const OLD = 'rot-old';
const SOURCE = 'cli:rotation-test';

interface Person {
  id: string;
  nid: string;
  phone: string | null;
}

describe('data key rotation (rotateDataKeys)', () => {
  let app: TestApp;
  let ds: DataSource;
  let keyring: Keyring;
  let current: DataCipher;
  let old: DataCipher;
  let areaId: number;
  let programmeId: number;
  const made = { beneficiaries: [] as string[], enrolments: [] as string[] };

  const digits = (n: number) => Array.from({ length: n }, () => randomInt(10)).join('');
  const rotate = (opts: Partial<RotationOptions> = {}) =>
    rotateDataKeys(ds, app.services.audit, keyring, {
      actor: { ...SYSTEM_ACTOR, source: SOURCE },
      batchSize: 2,
      columns: SEALED_COLUMNS,
      ...opts,
    });
  const col = (r: RotationReport, table: string, column: string): ColumnRotation =>
    r.columns.find((c) => c.table === table && c.column === column)!;
  const rowsUnder = (c: ColumnRotation, keyId: string) => c.found.find((k) => k.keyId === keyId)?.rows ?? 0;

  async function person(cipher: DataCipher, withPhone = true): Promise<Person> {
    const nid = `0791${digits(8)}`;
    const phone = withPhone ? `09${digits(8)}` : null;
    const res = (await ds.query(
      `INSERT INTO beneficiaries (national_id_hash, national_id_enc, national_id_masked, full_name, name_search, given_search,
        date_of_birth, gender, phone_enc, phone_masked, area_id, updated_at)
       VALUES (?, ?, ?, 'Rotation Test', 'rotation test', 'test', '1950-01-01', 'F', ?, ?, ?, '2020-01-02 03:04:05.678')`,
      [randomBytes(32), cipher.encrypt(nid, 'nid'), `********${nid.slice(-4)}`, phone && cipher.encrypt(phone, 'phone'), phone, areaId],
    )) as { insertId: number | string };
    made.beneficiaries.push(String(res.insertId));
    return { id: String(res.insertId), nid, phone };
  }

  async function enrolment(cipher: DataCipher, p: Person, channel: 'bank' | 'wallet'): Promise<{ id: string; value: string }> {
    const value = digits(12);
    const res = (await ds.query(
      `INSERT INTO enrolments (beneficiary_id, programme_id, coefficient_x100, start_period, status, channel,
        bank_bin, account_enc, wallet_provider, wallet_enc, updated_at)
       VALUES (?, ?, 150, 202601, 'active', ?, ?, ?, ?, ?, '2020-01-02 03:04:05.678')`,
      [
        p.id,
        programmeId,
        channel,
        channel === 'bank' ? '970436' : null,
        channel === 'bank' ? cipher.encrypt(value, 'account') : null,
        channel === 'wallet' ? 'MOMO' : null,
        channel === 'wallet' ? cipher.encrypt(value, 'wallet') : null,
      ],
    )) as { insertId: number | string };
    made.enrolments.push(String(res.insertId));
    return { id: String(res.insertId), value };
  }

  async function beneficiary(id: string) {
    const [row] = (await ds.query('SELECT national_id_enc, phone_enc, updated_at FROM beneficiaries WHERE id = ?', [id])) as {
      national_id_enc: Buffer;
      phone_enc: Buffer | null;
      updated_at: Date;
    }[];
    return row!;
  }

  async function enrolmentRow(id: string) {
    const [row] = (await ds.query('SELECT account_enc, wallet_enc, updated_at FROM enrolments WHERE id = ?', [id])) as {
      account_enc: Buffer | null;
      wallet_enc: Buffer | null;
      updated_at: Date;
    }[];
    return row!;
  }

  async function totpSecret(userId: number): Promise<Buffer> {
    const [row] = (await ds.query('SELECT totp_secret FROM users WHERE id = ?', [userId])) as { totp_secret: Buffer }[];
    return row!.totp_secret;
  }

  before(async () => {
    app = await testApp();
    ds = app.infra.ds;
    const cfg = app.infra.cfg;
    const oldKey = randomBytes(32);
    keyring = { dataKeys: new Map([...cfg.dataKeys, [OLD, oldKey]]), dataActiveKeyId: cfg.dataActiveKeyId };
    current = app.services.cipher;
    old = new DataCipher(new Map([[OLD, oldKey]]), OLD, cfg.dataHmacKey);
    const [area] = (await ds.query('SELECT id FROM areas ORDER BY id LIMIT 1')) as { id: number }[];
    const [programme] = (await ds.query('SELECT id FROM programmes ORDER BY id LIMIT 1')) as { id: number }[];
    areaId = area!.id;
    programmeId = programme!.id;
  });

  after(async () => {
    if (made.enrolments.length) await ds.query('DELETE FROM enrolments WHERE id IN (?)', [made.enrolments]);
    if (made.beneficiaries.length) await ds.query('DELETE FROM beneficiaries WHERE id IN (?)', [made.beneficiaries]);
  });

  it('covers every encrypted column of the schema (every VARBINARY column outside the roll-import staging tables)', async () => {
    const rows = (await ds.query(
      `SELECT TABLE_NAME AS t, COLUMN_NAME AS c FROM information_schema.COLUMNS
       WHERE TABLE_SCHEMA = DATABASE() AND DATA_TYPE IN ('varbinary', 'blob', 'mediumblob', 'longblob')
         AND TABLE_NAME NOT LIKE 'roll\\_import\\_rows%'`,
    )) as { t: string; c: string }[];
    const inSchema = rows.map((r) => `${r.t}.${r.c}`).sort();
    expect(SEALED_COLUMNS.map((c) => `${c.table}.${c.column}`).sort()).to.deep.equal(inSchema);
  });

  describe('with values under an old key, an unknown key and the active key', () => {
    let a: Person;
    let b: Person;
    let fresh: Person;
    let account: { id: string; value: string };
    let wallet: { id: string; value: string };
    let freshAccount: { id: string; value: string };
    let oldUser: number;
    let freshUser: number;
    let freshBefore: { nid: Buffer; phone: Buffer; account: Buffer; totp: Buffer };

    before(async () => {
      a = await person(old);
      b = await person(old, false);
      fresh = await person(current);
      account = await enrolment(old, a, 'bank');
      wallet = await enrolment(old, b, 'wallet');
      freshAccount = await enrolment(current, fresh, 'bank');
      oldUser = (await makeUser(['staff'], { totp: true })).id;
      await ds.query('UPDATE users SET totp_secret = ? WHERE id = ?', [old.encrypt(TEST_TOTP_SECRET, `totp:${oldUser}`), oldUser]);
      freshUser = (await makeUser(['staff'], { totp: true })).id;
      const f = await beneficiary(fresh.id);
      freshBefore = {
        nid: f.national_id_enc,
        phone: f.phone_enc!,
        account: (await enrolmentRow(freshAccount.id)).account_enc!,
        totp: await totpSecret(freshUser),
      };
    });

    it('--dry-run counts the values per key id and changes nothing, recording no event', async () => {
      const events = await auditCount();
      const before = await beneficiary(a.id);
      const report = await rotate({ dryRun: true });
      expect(report.dryRun).to.equal(true);
      expect(report.auditEventId).to.equal(null);
      expect(rowsUnder(col(report, 'beneficiaries', 'national_id_enc'), OLD)).to.equal(2);
      expect(rowsUnder(col(report, 'beneficiaries', 'phone_enc'), OLD)).to.equal(1);
      expect(rowsUnder(col(report, 'enrolments', 'account_enc'), OLD)).to.equal(1);
      expect(rowsUnder(col(report, 'enrolments', 'wallet_enc'), OLD)).to.equal(1);
      expect(rowsUnder(col(report, 'users', 'totp_secret'), OLD)).to.equal(1);
      expect(col(report, 'beneficiaries', 'national_id_enc').found.find((k) => k.keyId === OLD)!.state).to.equal('old');
      expect(report.columns.every((c) => c.reencrypted === 0)).to.equal(true);
      expect((await beneficiary(a.id)).national_id_enc.equals(before.national_id_enc)).to.equal(true);
      expect(await auditCount()).to.equal(events);
    });

    it('refuses with DATA_KEY_UNKNOWN, naming the column and the count, before changing anything when a key is missing from the keyring', async () => {
      const gone = new DataCipher(new Map([['rot-gone', randomBytes(32)]]), 'rot-gone', 'x');
      const stray = await person(current);
      await ds.query('UPDATE beneficiaries SET phone_enc = ? WHERE id = ?', [gone.encrypt(stray.phone!, 'phone'), stray.id]);
      const events = await auditCount();
      const before = await beneficiary(a.id);
      try {
        const err = await rotate().then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).to.be.instanceOf(AppError);
        expect((err as AppError).code).to.equal('DATA_KEY_UNKNOWN');
        expect((err as AppError).details).to.deep.equal([{ table: 'beneficiaries', column: 'phone_enc', keyId: 'rot-gone', rows: 1 }]);
        expect((err as AppError).message).to.contain('beneficiaries.phone_enc: 1 under key rot-gone');
        const after = await beneficiary(a.id);
        expect(after.national_id_enc.equals(before.national_id_enc)).to.equal(true);
        expect(DataCipher.keyIdOf((await enrolmentRow(account.id)).account_enc!)).to.equal(OLD);
        expect(DataCipher.keyIdOf(await totpSecret(oldUser))).to.equal(OLD);
        expect(await auditCount()).to.equal(events);
      } finally {
        await ds.query('UPDATE beneficiaries SET phone_enc = NULL WHERE id = ?', [stray.id]);
      }
    });

    it('re-encrypts old-key values under the active key, page by page; they decrypt to the same plaintext and keep updated_at', async () => {
      const report = await rotate();
      expect(report.activeKeyId).to.equal(app.infra.cfg.dataActiveKeyId);
      expect(col(report, 'beneficiaries', 'national_id_enc').reencrypted).to.equal(2);
      expect(col(report, 'beneficiaries', 'phone_enc').reencrypted).to.equal(1);
      expect(col(report, 'enrolments', 'account_enc').reencrypted).to.equal(1);
      expect(col(report, 'enrolments', 'wallet_enc').reencrypted).to.equal(1);
      expect(col(report, 'users', 'totp_secret').reencrypted).to.equal(1);
      expect(report.columns.every((c) => c.unreadable === 0 && c.changedConcurrently === 0)).to.equal(true);

      // `current` holds only the active key: it decrypting them proves they moved
      const ra = await beneficiary(a.id);
      expect(DataCipher.keyIdOf(ra.national_id_enc)).to.equal(app.infra.cfg.dataActiveKeyId);
      expect(current.decrypt(ra.national_id_enc, 'nid')).to.equal(a.nid);
      expect(current.decrypt(ra.phone_enc!, 'phone')).to.equal(a.phone);
      expect(ra.updated_at.toISOString()).to.equal('2020-01-02T03:04:05.678Z');
      const rb = await beneficiary(b.id);
      expect(current.decrypt(rb.national_id_enc, 'nid')).to.equal(b.nid);
      expect(rb.phone_enc).to.equal(null);
      const ea = await enrolmentRow(account.id);
      expect(current.decrypt(ea.account_enc!, 'account')).to.equal(account.value);
      expect(ea.updated_at.toISOString()).to.equal('2020-01-02T03:04:05.678Z');
      expect(current.decrypt((await enrolmentRow(wallet.id)).wallet_enc!, 'wallet')).to.equal(wallet.value);
      expect(current.decrypt(await totpSecret(oldUser), `totp:${oldUser}`)).to.equal(TEST_TOTP_SECRET);
    });

    it('leaves values already under the active key byte-identical', async () => {
      const f = await beneficiary(fresh.id);
      expect(f.national_id_enc.equals(freshBefore.nid)).to.equal(true);
      expect(f.phone_enc!.equals(freshBefore.phone)).to.equal(true);
      expect((await enrolmentRow(freshAccount.id)).account_enc!.equals(freshBefore.account)).to.equal(true);
      expect((await totpSecret(freshUser)).equals(freshBefore.totp)).to.equal(true);
    });

    it('records one data_key.rotation event attributed to the system and the OS user, with the counts', async () => {
      const [ev] = (await ds.query("SELECT * FROM audit_events WHERE action = 'data_key.rotation' ORDER BY id DESC LIMIT 1")) as {
        id: string;
        actor_user_id: number | null;
        actor_username: string;
        source: string;
        entity_id: string;
        summary: string;
      }[];
      expect(ev).to.exist;
      expect(ev!.actor_user_id).to.equal(null);
      expect(ev!.actor_username).to.equal('system');
      expect(ev!.source).to.equal(SOURCE);
      expect(ev!.entity_id).to.equal(app.infra.cfg.dataActiveKeyId);
      const summary = JSON.parse(ev!.summary) as {
        after: { completed: boolean; columns: { table: string; column: string; reencrypted: number }[] };
      };
      expect(summary.after.completed).to.equal(true);
      const counted = Object.fromEntries(summary.after.columns.map((c) => [`${c.table}.${c.column}`, c.reencrypted]));
      expect(counted).to.deep.equal({
        'beneficiaries.national_id_enc': 2,
        'beneficiaries.phone_enc': 1,
        'enrolments.account_enc': 1,
        'enrolments.wallet_enc': 1,
        'users.totp_secret': 1,
        // answers kept for idempotency keys are sealed by the app, under the active key: none to re-encrypt
        'idempotency_keys.response_body': 0,
        // provider secrets are sealed by the app under the active key; the seeded providers have none
        'providers.secret_enc': 0,
        'sms_gateways.secret_enc': 0,
        // payments copy the roll's ciphertexts when a batch is created; this fixture has no batch
        'payments.account_enc': 0,
        'payments.wallet_enc': 0,
        // halves of temporary passwords waiting for a role grant's confirmation are sealed by the app under the active key
        'role_grants.password_part_enc': 0,
      });
    });

    it('changes nothing when run a second time', async () => {
      const before = { a: await beneficiary(a.id), account: await enrolmentRow(account.id), totp: await totpSecret(oldUser) };
      const report = await rotate();
      expect(report.columns.map((c) => c.reencrypted)).to.deep.equal(report.columns.map(() => 0));
      expect(report.columns.every((c) => rowsUnder(c, OLD) === 0)).to.equal(true);
      expect((await beneficiary(a.id)).national_id_enc.equals(before.a.national_id_enc)).to.equal(true);
      expect((await beneficiary(a.id)).phone_enc!.equals(before.a.phone_enc!)).to.equal(true);
      expect((await enrolmentRow(account.id)).account_enc!.equals(before.account.account_enc!)).to.equal(true);
      expect((await totpSecret(oldUser)).equals(before.totp)).to.equal(true);
    });
  });

  it('keeps a value rewritten between its read and its write, and counts it as changed concurrently', async () => {
    const p = await person(old, false);
    const runner = ds.createQueryRunner();
    await runner.connect();
    let rotation: Promise<RotationReport> | undefined;
    try {
      await runner.startTransaction();
      await runner.query('SELECT id FROM beneficiaries WHERE id = ? FOR UPDATE', [p.id]);
      rotation = rotate({ batchSize: 2000 });
      // the rotation has read the old value and now waits on our row lock
      for (let i = 0; ; i++) {
        const [w] = (await ds.query(
          "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE 'UPDATE `beneficiaries` %' AND INFO LIKE '%SET t.`national_id_enc` =%'",
        )) as { n: string }[];
        if (Number(w!.n) > 0) break;
        if (i > 200) throw new Error('the rotation never reached its update');
        await new Promise((r) => setTimeout(r, 25));
      }
      const rewritten = current.encrypt('079199000001', 'nid');
      await runner.query('UPDATE beneficiaries SET national_id_enc = ? WHERE id = ?', [rewritten, p.id]);
      await runner.commitTransaction();
      const report = await rotation;
      expect(col(report, 'beneficiaries', 'national_id_enc').changedConcurrently).to.equal(1);
      expect(col(report, 'beneficiaries', 'national_id_enc').reencrypted).to.equal(0);
      const row = await beneficiary(p.id);
      expect(row.national_id_enc.equals(rewritten)).to.equal(true);
      expect(current.decrypt(row.national_id_enc, 'nid')).to.equal('079199000001');
    } finally {
      if (runner.isTransactionActive) await runner.rollbackTransaction();
      await runner.release();
      await rotation?.catch(() => undefined);
    }
  });

  it('reports a value that does not decrypt under its known key as unreadable, leaves it and still re-encrypts the rest', async () => {
    const bad = await person(old, false);
    const good = await person(old, false);
    // sealed with the wrong associated data: the key is known but authentication fails
    const misfiled = old.encrypt(bad.nid, 'phone');
    await ds.query('UPDATE beneficiaries SET national_id_enc = ? WHERE id = ?', [misfiled, bad.id]);
    try {
      const report = await rotate();
      const nid = col(report, 'beneficiaries', 'national_id_enc');
      expect(nid.unreadable).to.equal(1);
      expect(nid.unreadableIds).to.deep.equal([bad.id]);
      expect(nid.reencrypted).to.equal(1);
      expect((await beneficiary(bad.id)).national_id_enc.equals(misfiled)).to.equal(true);
      expect(current.decrypt((await beneficiary(good.id)).national_id_enc, 'nid')).to.equal(good.nid);
    } finally {
      await ds.query('DELETE FROM beneficiaries WHERE id = ?', [bad.id]);
    }
  });

  it("re-encrypts payments' destinations through the payments component's writer, keeping updated_at and newer values", async () => {
    const programme = await makeProgramme();
    const first = await enrol(programme.id, { bankBin: '970436' });
    const second = await enrol(programme.id, { bankBin: '970436' });
    // the batch's account check (the worker's) writes its payments: it has finished before the values are set here
    await testWorker();
    const batch = await createBatch((await crew()).staff.token, {
      programmeId: programme.id,
      period: '2025-01',
      areaId: await areaOf('01'),
    });
    const rows = (await ds.query('SELECT id, enrolment_id FROM payments WHERE batch_id = ? ORDER BY id', [batch.id])) as {
      id: string;
      enrolment_id: string;
    }[];
    const idOf = (enrolmentId: string) => String(rows.find((r) => String(r.enrolment_id) === enrolmentId)!.id);
    const [kept, moved] = [idOf(first.enrolmentId), idOf(second.enrolmentId)];
    await ds.query("UPDATE payments SET account_enc = ?, updated_at = '2020-01-02 03:04:05.678' WHERE id = ?", [
      old.encrypt(first.account, 'account'),
      kept,
    ]);
    await ds.query("UPDATE payments SET account_enc = ?, updated_at = '2020-01-02 03:04:05.678' WHERE id = ?", [
      old.encrypt(second.account, 'account'),
      moved,
    ]);
    const payment = async (id: string) =>
      (
        (await ds.query('SELECT account_enc, updated_at FROM payments WHERE id = ?', [id])) as { account_enc: Buffer; updated_at: Date }[]
      )[0]!;
    // a value rewritten after the rotation read it (a correction) stays as written
    const newer = current.encrypt('111122223333', 'account');
    const columns: SealedColumn[] = PAYMENT_SEALED_COLUMNS.map((c) => ({
      ...c,
      write: async (d, page) => {
        await ds.query('UPDATE payments SET account_enc = ? WHERE id = ?', [newer, kept]);
        return c.write(d, page);
      },
    }));
    const report = await rotate({ columns });
    expect(col(report, 'payments', 'account_enc')).to.include({ reencrypted: 1, changedConcurrently: 1 });
    const m = await payment(moved);
    expect(current.decrypt(m.account_enc, 'account')).to.equal(second.account);
    expect(m.updated_at.toISOString()).to.equal('2020-01-02T03:04:05.678Z');
    expect((await payment(kept)).account_enc.equals(newer)).to.equal(true);
  });
});
