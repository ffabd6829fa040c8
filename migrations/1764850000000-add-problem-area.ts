import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The area a roll import problem concerns when that area may lie outside the import's (PERSON_OUT_OF_SCOPE: where
 * the person is on the roll). The stored message says only that the row cannot be accepted; a reader whose scope
 * covers this area is told why when the problems are listed.
 */
export class AddProblemArea1764850000000 implements MigrationInterface {
  name = 'AddProblemArea1764850000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE roll_import_problems ADD COLUMN area_id INT UNSIGNED NULL');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE roll_import_problems DROP COLUMN area_id');
  }
}
