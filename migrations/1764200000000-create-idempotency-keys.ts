import type { MigrationInterface, QueryRunner } from 'typeorm';

const TABLE = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';
const ASCII = 'CHARACTER SET ascii COLLATE ascii_bin';

/**
 * Idempotency keys of state-changing requests (the Idempotency-Key header):
 * one row per caller and key, holding the hash of the first request and, once
 * it finished, its answer to replay. A row past expires_at counts as absent.
 */
export class CreateIdempotencyKeys1764200000000 implements MigrationInterface {
  name = 'CreateIdempotencyKeys1764200000000';

  async up(q: QueryRunner): Promise<void> {
    // state: in_progress from the insert that claims the key until the answer is stored; completed from then on.
    // request_hash: HMAC-SHA-256 (DATA_HMAC_KEY) of method, route, params, query and canonical body; keyed because a
    // body may carry a temporary password. response_body: the JSON answer sealed with DataCipher (it may hold one too).
    // No foreign key to users: a short-lived record written on every such request should not lock the user row.
    await q.query(`CREATE TABLE idempotency_keys (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
      user_id INT UNSIGNED NOT NULL,
      idempotency_key VARCHAR(128) ${ASCII} NOT NULL,
      method VARCHAR(8) ${ASCII} NOT NULL,
      route VARCHAR(255) ${ASCII} NOT NULL,
      request_hash CHAR(64) ${ASCII} NOT NULL,
      state VARCHAR(16) ${ASCII} NOT NULL,
      response_status SMALLINT UNSIGNED NULL,
      response_body MEDIUMBLOB NULL,
      created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      completed_at DATETIME(3) NULL,
      expires_at DATETIME(3) NOT NULL,
      PRIMARY KEY (id),
      UNIQUE KEY uq_idempotency_keys_user_key (user_id, idempotency_key),
      KEY ix_idempotency_keys_expires (expires_at)
    ) ${TABLE}`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE idempotency_keys');
  }
}
