import type { DataSource } from 'typeorm';
import type { ReencryptedValue } from '../../platform/crypto/rotation';

/**
 * Key rotation's write of one page of payments' sealed destinations (account_enc or wallet_enc): one statement, so one
 * transaction per page. Writes: payments (that column only, `updated_at` kept: a re-encryption changes no content).
 * Invariant: a value changed since it was read (a correction, a retry batch's copy) no longer equals its old blob and
 * keeps the newer value. The page is a derived table of SELECTs joined by primary key: portable to MySQL 8 and
 * MariaDB, and linear in the page size. Answers the rows changed.
 */
export async function reencryptPaymentDestinations(ds: DataSource, column: string, page: readonly ReencryptedValue[]): Promise<number> {
  if (!page.length) return 0;
  const values = page.map((_, i) => (i === 0 ? 'SELECT ? AS id, ? AS old_v, ? AS new_v' : 'SELECT ?, ?, ?')).join(' UNION ALL ');
  const params = page.flatMap((p) => [BigInt(p.id), p.old, p.next]);
  let res: { affectedRows?: number };
  if (column === 'account_enc') {
    res = (await ds.query(
      `UPDATE payments t JOIN (${values}) v ON t.id = v.id AND t.account_enc = v.old_v
       SET t.account_enc = v.new_v, t.updated_at = t.updated_at`,
      params,
    )) as { affectedRows?: number };
  } else if (column === 'wallet_enc') {
    res = (await ds.query(
      `UPDATE payments t JOIN (${values}) v ON t.id = v.id AND t.wallet_enc = v.old_v
       SET t.wallet_enc = v.new_v, t.updated_at = t.updated_at`,
      params,
    )) as { affectedRows?: number };
  } else throw new Error(`payments has no sealed column ${column}`);
  return res.affectedRows ?? 0;
}
