import type { MigrationInterface, QueryRunner } from 'typeorm';
import { fillLeftOutFacts } from '../src/components/batches/left-out-facts';

/**
 * What a left-out row's detail says, as values the console words in the reader's language: for arrears, what is owed
 * now and what the live payments add up to; for a retry, the payment retried and its status. The English detail
 * stays beside them. Rows written before are filled from that detail, whose two shapes the generation wrote.
 */
export class StructureLeftOut1764885000000 implements MigrationInterface {
  name = 'StructureLeftOut1764885000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE batch_left_out
      ADD COLUMN owed BIGINT NULL AFTER detail,
      ADD COLUMN paid_live BIGINT NULL AFTER owed,
      ADD COLUMN retried_reference VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL AFTER paid_live,
      ADD COLUMN retried_status VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NULL AFTER retried_reference`);
    await fillLeftOutFacts(q, 'batch_left_out');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      'ALTER TABLE batch_left_out DROP COLUMN retried_status, DROP COLUMN retried_reference, DROP COLUMN paid_live, DROP COLUMN owed',
    );
  }
}
