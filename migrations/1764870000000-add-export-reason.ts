import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Why an export shows personal identifiers in full: required with full values, kept with its manifest. */
export class AddExportReason1764870000000 implements MigrationInterface {
  name = 'AddExportReason1764870000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE exports ADD COLUMN full_reason VARCHAR(500) NULL AFTER full_values');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE exports DROP COLUMN full_reason');
  }
}
