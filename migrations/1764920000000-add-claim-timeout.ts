import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A send claim records the request timeout its requests go out with (payments.claim_timeout_ms), so that the claims of
 * a worker that is gone go to a status inquiry only once that timeout has passed, even when the provider's timeout was
 * shortened while the requests were in flight. Added alone: instant on MariaDB 10.11 and MySQL 8.
 */
export class AddClaimTimeout1764920000000 implements MigrationInterface {
  name = 'AddClaimTimeout1764920000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE payments ADD COLUMN claim_timeout_ms INT UNSIGNED NULL AFTER claimed_by');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE payments DROP COLUMN claim_timeout_ms');
  }
}
