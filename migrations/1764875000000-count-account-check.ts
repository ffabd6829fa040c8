import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The account check's counts as numbers (the console words them in the reader's language), beside its English summary. */
export class CountAccountCheck1764875000000 implements MigrationInterface {
  name = 'CountAccountCheck1764875000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE batches
      ADD COLUMN check_checked INT UNSIGNED NULL AFTER check_detail,
      ADD COLUMN check_failed INT UNSIGNED NULL AFTER check_checked,
      ADD COLUMN check_first_error VARCHAR(500) NULL AFTER check_failed`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE batches DROP COLUMN check_first_error, DROP COLUMN check_failed, DROP COLUMN check_checked');
  }
}
