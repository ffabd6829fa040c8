import type { QueryRunner } from 'typeorm';

/**
 * Fills the facts of left-out rows that have only their English sentence (written before the facts were columns):
 * `owed N, in live payments M` (arrears) or `payment REF STATUS` (retry). Run by the migration that added the columns.
 */
export async function fillLeftOutFacts(q: Pick<QueryRunner, 'query'>, table: string): Promise<void> {
  await q.query(`UPDATE ${table}
    SET owed = CAST(SUBSTRING_INDEX(SUBSTRING_INDEX(detail, ',', 1), ' ', -1) AS SIGNED),
      paid_live = CAST(SUBSTRING_INDEX(detail, ' ', -1) AS SIGNED)
    WHERE owed IS NULL AND detail REGEXP '^owed -?[0-9]+, in live payments -?[0-9]+$'`);
  await q.query(`UPDATE ${table}
    SET retried_reference = SUBSTRING_INDEX(SUBSTRING_INDEX(detail, ' ', 2), ' ', -1),
      retried_status = SUBSTRING_INDEX(detail, ' ', -1)
    WHERE retried_reference IS NULL AND detail REGEXP '^payment [!-~]{1,64} (failed|returned)$'`);
}
