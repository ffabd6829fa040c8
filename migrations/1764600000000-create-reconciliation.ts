import type { MigrationInterface, QueryRunner } from 'typeorm';

const TABLE = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';
const ASCII = 'CHARACTER SET ascii COLLATE ascii_bin';

/**
 * Reconciliation: a provider's statement for a business date (its book of
 * record) matched line by line against the payments, each line and each
 * payment that should have appeared put in exactly one category, and every
 * item that did not match turned into an exception that staff work.
 *
 * A statement is identified by its provider, business date and the SHA-256 of
 * its content: receiving the same statement again finds the one already
 * there (and its run) and changes nothing. A different statement for the same
 * provider and date supersedes the earlier one.
 *
 * `statement_lines` is keyed by (statement, batch, seq, line): the lines of a
 * payment sit together, in the payments' own key order, so matching joins the
 * two tables in step and "which expected payments have no line" is a key
 * lookup. Lines whose reference is not a payment have batch 0 and seq 0.
 * A pay point's results file says who was paid, not how much: its lines have
 * no amount or currency, and only their status is compared.
 */
export class CreateReconciliation1764600000000 implements MigrationInterface {
  name = 'CreateReconciliation1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE statements (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
      provider_id INT UNSIGNED NOT NULL,
      business_date DATE NOT NULL,
      source VARCHAR(16) ${ASCII} NOT NULL,
      sha256 CHAR(64) ${ASCII} NOT NULL,
      file_name VARCHAR(255) NULL,
      line_count INT UNSIGNED NOT NULL DEFAULT 0,
      total_amount BIGINT NOT NULL DEFAULT 0,
      status VARCHAR(16) ${ASCII} NOT NULL DEFAULT 'received',
      problems JSON NULL,
      superseded_by BIGINT UNSIGNED NULL,
      received_by INT UNSIGNED NULL,
      received_by_name VARCHAR(64) NOT NULL,
      received_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      PRIMARY KEY (id),
      UNIQUE KEY uq_statements_content (provider_id, business_date, sha256),
      KEY ix_statements_date (business_date, provider_id),
      CONSTRAINT fk_statements_provider FOREIGN KEY (provider_id) REFERENCES providers (id)
    ) ${TABLE}`);

    await q.query(`CREATE TABLE statement_lines (
      statement_id BIGINT UNSIGNED NOT NULL,
      batch_id BIGINT UNSIGNED NOT NULL,
      seq BIGINT UNSIGNED NOT NULL,
      line_no INT UNSIGNED NOT NULL,
      reference VARCHAR(64) ${ASCII} NOT NULL,
      transfer_id VARCHAR(64) NULL,
      status VARCHAR(16) ${ASCII} NOT NULL,
      amount BIGINT NULL,
      currency CHAR(3) ${ASCII} NULL,
      failure_code VARCHAR(32) ${ASCII} NULL,
      occurred_at VARCHAR(40) ${ASCII} NOT NULL,
      category VARCHAR(24) ${ASCII} NULL,
      service_status VARCHAR(16) ${ASCII} NULL,
      service_amount BIGINT NULL,
      settled TINYINT(1) NOT NULL DEFAULT 0,
      PRIMARY KEY (statement_id, batch_id, seq, line_no),
      CONSTRAINT fk_statement_lines_statement FOREIGN KEY (statement_id) REFERENCES statements (id)
    ) ${TABLE}`);

    // one run per statement; its totals are count and amount per category
    await q.query(`CREATE TABLE recon_runs (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
      provider_id INT UNSIGNED NOT NULL,
      business_date DATE NOT NULL,
      statement_id BIGINT UNSIGNED NOT NULL,
      status VARCHAR(16) ${ASCII} NOT NULL,
      superseded_by BIGINT UNSIGNED NULL,
      line_count INT UNSIGNED NOT NULL DEFAULT 0,
      matched_count INT UNSIGNED NOT NULL DEFAULT 0,
      matched_amount BIGINT NOT NULL DEFAULT 0,
      amount_mismatch_count INT UNSIGNED NOT NULL DEFAULT 0,
      amount_mismatch_amount BIGINT NOT NULL DEFAULT 0,
      status_mismatch_count INT UNSIGNED NOT NULL DEFAULT 0,
      status_mismatch_amount BIGINT NOT NULL DEFAULT 0,
      missing_count INT UNSIGNED NOT NULL DEFAULT 0,
      missing_amount BIGINT NOT NULL DEFAULT 0,
      unknown_count INT UNSIGNED NOT NULL DEFAULT 0,
      unknown_amount BIGINT NOT NULL DEFAULT 0,
      duplicate_count INT UNSIGNED NOT NULL DEFAULT 0,
      duplicate_amount BIGINT NOT NULL DEFAULT 0,
      settled_count INT UNSIGNED NOT NULL DEFAULT 0,
      error VARCHAR(1000) NULL,
      started_by INT UNSIGNED NULL,
      started_by_name VARCHAR(64) NOT NULL,
      started_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      finished_at DATETIME(3) NULL,
      PRIMARY KEY (id),
      UNIQUE KEY uq_recon_runs_statement (statement_id),
      KEY ix_recon_runs_provider_date (provider_id, business_date),
      KEY ix_recon_runs_date (business_date),
      CONSTRAINT fk_recon_runs_statement FOREIGN KEY (statement_id) REFERENCES statements (id),
      CONSTRAINT fk_recon_runs_provider FOREIGN KEY (provider_id) REFERENCES providers (id)
    ) ${TABLE}`);

    // every item of a run that did not match: staff assign, comment and resolve it (write-offs by two people)
    await q.query(`CREATE TABLE recon_exceptions (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
      run_id BIGINT UNSIGNED NOT NULL,
      provider_id INT UNSIGNED NOT NULL,
      business_date DATE NOT NULL,
      category VARCHAR(24) ${ASCII} NOT NULL,
      reference VARCHAR(64) ${ASCII} NOT NULL,
      batch_id BIGINT UNSIGNED NOT NULL,
      seq BIGINT UNSIGNED NOT NULL,
      line_no INT UNSIGNED NOT NULL DEFAULT 0,
      area_id INT UNSIGNED NULL,
      area_path VARCHAR(255) ${ASCII} NULL,
      statement_status VARCHAR(16) ${ASCII} NULL,
      statement_amount BIGINT NULL,
      service_status VARCHAR(16) ${ASCII} NULL,
      service_amount BIGINT NULL,
      status VARCHAR(24) ${ASCII} NOT NULL DEFAULT 'open',
      version INT UNSIGNED NOT NULL DEFAULT 1,
      assigned_to INT UNSIGNED NULL,
      assigned_at DATETIME(3) NULL,
      resolution VARCHAR(24) ${ASCII} NULL,
      resolution_note VARCHAR(1000) NULL,
      resolution_batch_id BIGINT UNSIGNED NULL,
      proposed_by INT UNSIGNED NULL,
      proposed_at DATETIME(3) NULL,
      resolved_by INT UNSIGNED NULL,
      resolved_by_name VARCHAR(64) NULL,
      resolved_at DATETIME(3) NULL,
      created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      PRIMARY KEY (id),
      UNIQUE KEY uq_recon_exceptions_item (run_id, batch_id, seq, line_no),
      KEY ix_recon_exceptions_open (status, provider_id, business_date),
      KEY ix_recon_exceptions_payment (batch_id, seq),
      KEY ix_recon_exceptions_area (area_path, id),
      CONSTRAINT fk_recon_exceptions_run FOREIGN KEY (run_id) REFERENCES recon_runs (id)
    ) ${TABLE}`);

    await q.query(`CREATE TABLE recon_exception_notes (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
      exception_id BIGINT UNSIGNED NOT NULL,
      kind VARCHAR(24) ${ASCII} NOT NULL,
      body VARCHAR(2000) NULL,
      user_id INT UNSIGNED NULL,
      username VARCHAR(64) NOT NULL,
      created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      PRIMARY KEY (id),
      KEY ix_recon_exception_notes (exception_id, id),
      CONSTRAINT fk_recon_exception_notes FOREIGN KEY (exception_id) REFERENCES recon_exceptions (id)
    ) ${TABLE}`);

    // every export an auditor made: what, by whom, when, and the manifest of the file
    await q.query(`CREATE TABLE exports (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
      kind VARCHAR(32) ${ASCII} NOT NULL,
      format VARCHAR(8) ${ASCII} NOT NULL,
      params JSON NOT NULL,
      full_values TINYINT(1) NOT NULL DEFAULT 0,
      status VARCHAR(16) ${ASCII} NOT NULL DEFAULT 'running',
      row_count INT UNSIGNED NULL,
      total_amount BIGINT NULL,
      bytes BIGINT UNSIGNED NULL,
      sha256 CHAR(64) ${ASCII} NULL,
      file_name VARCHAR(255) NULL,
      error VARCHAR(1000) NULL,
      user_id INT UNSIGNED NOT NULL,
      username VARCHAR(64) NOT NULL,
      area_path VARCHAR(255) ${ASCII} NULL,
      created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      finished_at DATETIME(3) NULL,
      PRIMARY KEY (id),
      KEY ix_exports_user (user_id, id)
    ) ${TABLE}`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['exports', 'recon_exception_notes', 'recon_exceptions', 'recon_runs', 'statement_lines', 'statements']) {
      await q.query(`DROP TABLE IF EXISTS ${t}`);
    }
  }
}
