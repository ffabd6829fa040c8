/**
 * Recipients and their paid payments written set-based for the SMS runs (bench/notify-send.ts, the notification
 * fault run): N beneficiaries, each with a mobile number of their own (09 and the recipient's number), and a completed
 * batch of N succeeded bank payments, one per recipient; collecting it makes N `payment_paid` messages.
 */
import type { DataSource } from 'typeorm';
import type { DataCipher } from '../src/platform/crypto';

/** The mobile number of recipient `seq` (1-based). */
export const phoneOf = (seq: number): string => `09${String(seq).padStart(8, '0')}`;

/** `status`: the batch's; one other than processing or completed is not collected until it changes. */
export async function writePaidBatch(ds: DataSource, cipher: DataCipher, rows: number, status = 'completed'): Promise<{ batchId: string }> {
  const [prog] = (await ds.query('SELECT id FROM programmes ORDER BY id LIMIT 1')) as { id: number }[];
  const [staff] = (await ds.query("SELECT id FROM users WHERE username = 'staff'")) as { id: number }[];
  const [area] = (await ds.query("SELECT id, path FROM areas WHERE code = '00001'")) as { id: number; path: string }[];
  const nid = cipher.encrypt('001090000001', 'nid');
  const account = cipher.encrypt('1234567890', 'account');
  // a number of their own each (the gateway's ledger tells recipients apart by it): sealed here, 1,000 rows a statement
  for (let from = 1; from <= rows; from += 1000) {
    const to = Math.min(rows, from + 999);
    const values: unknown[] = [];
    for (let seq = from; seq <= to; seq++) values.push(seq, seq, nid, area!.id, cipher.encrypt(phoneOf(seq), 'phone'));
    await ds.query(
      `INSERT INTO beneficiaries (id, national_id_hash, national_id_enc, national_id_masked, full_name, name_search, given_search, date_of_birth, gender, area_id, phone_enc)
       VALUES ${Array.from({ length: to - from + 1 }, () => `(?, UNHEX(SHA2(?, 256)), ?, '0010******01', 'Nguyễn Văn An', 'nguyen van an', 'an nguyen van', '1940-03-15', 'M', ?, ?)`).join(', ')}`,
      values,
    );
  }
  // its accounts checked, as any batch that was paid: a pending check would set the workers and the sandbox checking
  // every account against the payment sandbox while the messages are sent
  const b = (await ds.query(
    `INSERT INTO batches (reference_prefix, kind, programme_id, period_from, period_to, area_id, area_path, status, created_by, check_status)
     VALUES ('B202612BENCHSMS', 'regular', ?, 202612, 202612, ?, ?, ?, ?, 'done')`,
    [prog!.id, area!.id, area!.path, status, staff!.id],
  )) as { insertId: number };
  for (let from = 1; from <= rows; from += 100_000) {
    const to = Math.min(rows, from + 99_999);
    await ds.query(
      `INSERT INTO payments (batch_id, seq, reference, kind, beneficiary_id, enrolment_id, programme_id, period, slot, amount, base_level,
         coefficient_x100, area_id, full_name, channel, bank_bin, account_enc, account_masked, status)
       SELECT ?, s.seq, CONCAT('B202612BENCHSMS-', s.seq), 'regular', s.seq, s.seq, ?, 202612, 0, 750000, 500000, 150, ?, 'Nguyễn Văn An',
         'BANK', '970436', ?, '12****90', 'succeeded'
       FROM seq_${from}_to_${to} s`,
      [b.insertId, prog!.id, area!.id, account],
    );
  }
  return { batchId: String(b.insertId) };
}
