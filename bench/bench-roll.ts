import type { DataSource } from 'typeorm';
import type { DataCipher } from '../src/platform/crypto';

/**
 * A roll of `rows` people in the demo wards, written with set-based SQL (ids 1..rows): 60% bank, 20% wallet, 20% cash
 * (or 40% wallet and no cash with `cash: false`), coefficients 1.0-3.0, 2% with a name mismatch. Returns the
 * programme (TCXH-NCT80) they are enrolled in.
 */
export async function writeRoll(ds: DataSource, cipher: DataCipher, rows: number, opts: { cash?: boolean } = {}): Promise<{ id: number }> {
  const cash = opts.cash === false ? 0 : 1;
  const [prog] = (await ds.query("SELECT id FROM programmes WHERE code = 'TCXH-NCT80'")) as { id: number }[];
  await ds.query('DROP TABLE IF EXISTS bench_digits, bench_seq');
  await ds.query('CREATE TABLE bench_digits (d TINYINT UNSIGNED NOT NULL PRIMARY KEY) ENGINE=InnoDB');
  await ds.query('INSERT INTO bench_digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)');
  await ds.query('CREATE TABLE bench_seq (n INT UNSIGNED NOT NULL PRIMARY KEY) ENGINE=InnoDB');
  await ds.query(
    `INSERT INTO bench_seq (n)
     SELECT x.n FROM (
       SELECT 1 + a.d + 10*b.d + 100*c.d + 1000*e.d + 10000*f.d + 100000*g.d + 1000000*h.d AS n
       FROM bench_digits a, bench_digits b, bench_digits c, bench_digits e, bench_digits f, bench_digits g, bench_digits h
     ) x WHERE x.n <= ? ORDER BY x.n`,
    [rows],
  );
  const wards = (await ds.query("SELECT id FROM areas WHERE level = 'commune' ORDER BY id")) as { id: number }[];
  const nid = cipher.encrypt('001040123456', 'nid');
  const acct = cipher.encrypt('102012345678', 'account');
  const wal = cipher.encrypt('0912345678', 'wallet');
  const wardCase = `CASE s.n % ${wards.length} ${wards.map((w, i) => `WHEN ${i} THEN ${w.id}`).join(' ')} END`;
  await ds.query(
    `INSERT INTO beneficiaries (id, national_id_hash, national_id_enc, national_id_masked, full_name, name_search, given_search, date_of_birth, gender, area_id)
     SELECT s.n, UNHEX(SHA2(CONCAT('nid', s.n), 256)), ?, '0010******56', CONCAT('Nguyễn Văn ', s.n), CONCAT('nguyen van ', s.n),
       CONCAT(s.n, ' nguyen van'), '1940-03-15', 'M', ${wardCase}
     FROM bench_seq s`,
    [nid],
  );
  await ds.query(
    `INSERT INTO enrolments (beneficiary_id, programme_id, coefficient_x100, start_period, status, channel, bank_bin, account_hash, account_enc,
       account_masked, account_name, wallet_provider, wallet_hash, wallet_enc, wallet_masked, name_mismatch)
     SELECT s.n, ?, 100 + 50 * (s.n % 5), 202401, 'active',
       CASE WHEN s.n % 10 < 6 THEN 'BANK' WHEN s.n % 10 < 8 OR ? = 0 THEN 'WALLET' ELSE 'CASH' END,
       CASE WHEN s.n % 10 < 6 THEN '970436' END,
       CASE WHEN s.n % 10 < 6 THEN UNHEX(SHA2(CONCAT('acct', s.n), 256)) END,
       CASE WHEN s.n % 10 < 6 THEN ? END,
       CASE WHEN s.n % 10 < 6 THEN '1020********78' END,
       CASE WHEN s.n % 10 < 8 OR ? = 0 THEN CONCAT('NGUYEN VAN ', s.n) END,
       CASE WHEN s.n % 10 IN (6, 7) OR (? = 0 AND s.n % 10 >= 6) THEN 'MOMO' END,
       CASE WHEN s.n % 10 IN (6, 7) OR (? = 0 AND s.n % 10 >= 6) THEN UNHEX(SHA2(CONCAT('wallet', s.n), 256)) END,
       CASE WHEN s.n % 10 IN (6, 7) OR (? = 0 AND s.n % 10 >= 6) THEN ? END,
       CASE WHEN s.n % 10 IN (6, 7) OR (? = 0 AND s.n % 10 >= 6) THEN '09******78' END,
       s.n % 50 = 0
     FROM bench_seq s`,
    [prog!.id, cash, acct, cash, cash, cash, cash, wal, cash],
  );
  await ds.query('DROP TABLE bench_seq, bench_digits');
  return prog!;
}
