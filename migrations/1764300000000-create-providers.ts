import type { MigrationInterface, QueryRunner } from 'typeorm';

const TABLE = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';
const ASCII = 'CHARACTER SET ascii COLLATE ascii_bin';

/**
 * Payment providers as data, and the routing rule saying which provider pays
 * which enrolment channel, bank BIN or wallet provider.
 *
 * Seeded so that every environment works without more: the built-in sandbox
 * pays bank and wallet enrolments (its URL, client id and secret come from
 * SANDBOX_URL, SANDBOX_CLIENT_ID and SANDBOX_SECRET while its row leaves them
 * NULL), and cash goes to the commune pay points as a file.
 */
export class CreateProviders1764300000000 implements MigrationInterface {
  name = 'CreateProviders1764300000000';

  async up(q: QueryRunner): Promise<void> {
    // kind: sandbox (the built-in sandbox, Provider API v1), http (an external Provider API v1 implementation),
    // file (no wire API: payments leave as a file). secret_enc: DataCipher ciphertext, associated data `provider:<id>`.
    // paused: dispatch holds new sends to this provider until resumed; active = 0: retired, no route may point at it.
    await q.query(`CREATE TABLE providers (
      id INT UNSIGNED NOT NULL AUTO_INCREMENT,
      name VARCHAR(40) ${ASCII} NOT NULL,
      kind VARCHAR(16) ${ASCII} NOT NULL,
      base_url VARCHAR(500) ${ASCII} NULL,
      client_id VARCHAR(100) ${ASCII} NULL,
      secret_enc VARBINARY(256) NULL,
      timeout_ms INT UNSIGNED NOT NULL DEFAULT 10000,
      rate_limit_per_second INT UNSIGNED NULL,
      concurrency INT UNSIGNED NOT NULL DEFAULT 50,
      paused TINYINT(1) NOT NULL DEFAULT 0,
      active TINYINT(1) NOT NULL DEFAULT 1,
      created_by INT UNSIGNED NULL,
      updated_by INT UNSIGNED NULL,
      created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      PRIMARY KEY (id),
      UNIQUE KEY uq_providers_name (name)
    ) ${TABLE}`);

    // channel: the enrolments.channel values (BANK, WALLET, CASH). match_code: a bank BIN for bank, a wallet
    // provider code for wallet, or '*' for any; the exact code wins over '*'.
    await q.query(`CREATE TABLE provider_routes (
      id INT UNSIGNED NOT NULL AUTO_INCREMENT,
      channel VARCHAR(8) ${ASCII} NOT NULL,
      match_code VARCHAR(20) ${ASCII} NOT NULL DEFAULT '*',
      provider_id INT UNSIGNED NOT NULL,
      created_by INT UNSIGNED NULL,
      updated_by INT UNSIGNED NULL,
      created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      PRIMARY KEY (id),
      UNIQUE KEY uq_provider_routes (channel, match_code),
      KEY ix_provider_routes_provider (provider_id),
      CONSTRAINT fk_provider_routes_provider FOREIGN KEY (provider_id) REFERENCES providers (id)
    ) ${TABLE}`);

    await q.query(`INSERT INTO providers (name, kind) VALUES ('sandbox', 'sandbox'), ('cash-paypoints', 'file')`);
    await q.query(`INSERT INTO provider_routes (channel, match_code, provider_id)
      SELECT 'BANK', '*', id FROM providers WHERE name = 'sandbox'
      UNION ALL SELECT 'WALLET', '*', id FROM providers WHERE name = 'sandbox'
      UNION ALL SELECT 'CASH', '*', id FROM providers WHERE name = 'cash-paypoints'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE provider_routes');
    await q.query('DROP TABLE providers');
  }
}
