import type { MigrationInterface, QueryRunner } from 'typeorm';

const TABLE = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';
const ASCII = 'CHARACTER SET ascii COLLATE ascii_bin';

/**
 * Payment batches: a batch is a snapshot of what is owed for one programme, a
 * period (or, for arrears, a range of periods) and an area subtree; each of its
 * payments copies the amount and destination as they stood at creation.
 *
 * `payments.live` is 1 while a payment still counts (is, or will be, paid) and
 * NULL once it no longer does (excluded, batch cancelled, failed and released
 * for a retry). The unique key over (beneficiary, programme, period, slot,
 * live) is what makes "no one is owed twice" a database guarantee: NULLs never
 * collide, so only one live payment per slot can exist. `slot` is 0 for the
 * regular monthly payment and, for an arrears payment, the total the month is
 * brought up to, so each correction of a month is paid once.
 */
export class CreateBatches1764500000000 implements MigrationInterface {
  name = 'CreateBatches1764500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE batches (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
      reference_prefix VARCHAR(32) ${ASCII} NOT NULL,
      kind VARCHAR(16) ${ASCII} NOT NULL,
      programme_id INT UNSIGNED NOT NULL,
      period_from INT UNSIGNED NOT NULL,
      period_to INT UNSIGNED NOT NULL,
      area_id INT UNSIGNED NOT NULL,
      area_path VARCHAR(255) ${ASCII} NOT NULL,
      title VARCHAR(200) NULL,
      status VARCHAR(32) ${ASCII} NOT NULL,
      status_reason VARCHAR(500) NULL,
      version INT UNSIGNED NOT NULL DEFAULT 1,
      item_count INT UNSIGNED NOT NULL DEFAULT 0,
      total_amount BIGINT NOT NULL DEFAULT 0,
      held_count INT UNSIGNED NOT NULL DEFAULT 0,
      excluded_count INT UNSIGNED NOT NULL DEFAULT 0,
      flagged_count INT UNSIGNED NOT NULL DEFAULT 0,
      left_out_count INT UNSIGNED NOT NULL DEFAULT 0,
      check_status VARCHAR(16) ${ASCII} NOT NULL DEFAULT 'pending',
      check_detail VARCHAR(500) NULL,
      scheduled_for DATETIME(3) NULL,
      scheduled_by INT UNSIGNED NULL,
      funds_hold_reason VARCHAR(1000) NULL,
      funds_checked_at DATETIME(3) NULL,
      created_by INT UNSIGNED NOT NULL,
      submitted_by INT UNSIGNED NULL,
      approved_by INT UNSIGNED NULL,
      retry_of BIGINT UNSIGNED NULL,
      created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      submitted_at DATETIME(3) NULL,
      approved_at DATETIME(3) NULL,
      released_at DATETIME(3) NULL,
      completed_at DATETIME(3) NULL,
      PRIMARY KEY (id),
      UNIQUE KEY uq_batches_prefix (reference_prefix),
      KEY ix_batches_status (status, scheduled_for),
      KEY ix_batches_programme (programme_id, period_from),
      KEY ix_batches_area (area_path, id),
      CONSTRAINT fk_batches_programme FOREIGN KEY (programme_id) REFERENCES programmes (id),
      CONSTRAINT fk_batches_area FOREIGN KEY (area_id) REFERENCES areas (id),
      CONSTRAINT fk_batches_created_by FOREIGN KEY (created_by) REFERENCES users (id)
    ) ${TABLE}`);

    // every state change of a batch: who, when, why, and what the batch held at that moment
    await q.query(`CREATE TABLE batch_transitions (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
      batch_id BIGINT UNSIGNED NOT NULL,
      from_status VARCHAR(32) ${ASCII} NULL,
      to_status VARCHAR(32) ${ASCII} NOT NULL,
      reason VARCHAR(1000) NULL,
      actor_user_id INT UNSIGNED NULL,
      actor_username VARCHAR(64) NOT NULL,
      version INT UNSIGNED NOT NULL,
      item_count INT UNSIGNED NOT NULL,
      total_amount BIGINT NOT NULL,
      request_id VARCHAR(128) ${ASCII} NULL,
      occurred_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      PRIMARY KEY (id),
      KEY ix_batch_transitions_batch (batch_id, id),
      CONSTRAINT fk_batch_transitions_batch FOREIGN KEY (batch_id) REFERENCES batches (id)
    ) ${TABLE}`);

    // everyone whose work is in the batch (created, submitted, reviewed items): none of them may approve it
    await q.query(`CREATE TABLE batch_makers (
      batch_id BIGINT UNSIGNED NOT NULL,
      user_id INT UNSIGNED NOT NULL,
      first_action VARCHAR(32) ${ASCII} NOT NULL,
      created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      PRIMARY KEY (batch_id, user_id),
      CONSTRAINT fk_batch_makers_batch FOREIGN KEY (batch_id) REFERENCES batches (id)
    ) ${TABLE}`);

    // A payment is (batch, seq); its reference is the batch's unique prefix + '-' + seq, so references are unique by
    // construction (no index of their own: a payment is found from its reference through the prefix). In a regular
    // batch seq is the beneficiary's id (one payment per person and month), so generation writes the primary key in
    // order; `id` is a global number for what needs one column (key rotation pages by it).
    await q.query(`CREATE TABLE payments (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
      batch_id BIGINT UNSIGNED NOT NULL,
      seq BIGINT UNSIGNED NOT NULL,
      reference VARCHAR(64) ${ASCII} NOT NULL,
      kind VARCHAR(16) ${ASCII} NOT NULL,
      beneficiary_id BIGINT UNSIGNED NOT NULL,
      enrolment_id BIGINT UNSIGNED NOT NULL,
      programme_id INT UNSIGNED NOT NULL,
      period INT UNSIGNED NOT NULL,
      slot BIGINT NOT NULL DEFAULT 0,
      live TINYINT NULL DEFAULT 1,
      amount BIGINT NOT NULL,
      base_level BIGINT NOT NULL,
      coefficient_x100 SMALLINT UNSIGNED NOT NULL,
      paid_before BIGINT NOT NULL DEFAULT 0,
      area_id INT UNSIGNED NOT NULL,
      full_name VARCHAR(100) NOT NULL,
      channel VARCHAR(8) ${ASCII} NOT NULL,
      bank_bin CHAR(6) ${ASCII} NULL,
      wallet_provider VARCHAR(20) ${ASCII} NULL,
      account_enc VARBINARY(128) NULL,
      account_masked VARCHAR(19) ${ASCII} NULL,
      wallet_enc VARBINARY(128) NULL,
      wallet_masked VARCHAR(19) ${ASCII} NULL,
      account_name VARCHAR(100) NULL,
      review VARCHAR(16) ${ASCII} NOT NULL DEFAULT 'included',
      review_reason VARCHAR(500) NULL,
      reviewed_by INT UNSIGNED NULL,
      name_mismatch TINYINT(1) NOT NULL DEFAULT 0,
      lookup_status VARCHAR(16) ${ASCII} NULL,
      lookup_name VARCHAR(100) NULL,
      flagged TINYINT(1) NOT NULL DEFAULT 0,
      status VARCHAR(16) ${ASCII} NOT NULL DEFAULT 'pending',
      provider_id INT UNSIGNED NULL,
      claim_token CHAR(24) ${ASCII} NULL,
      claimed_at DATETIME(3) NULL,
      attempts INT UNSIGNED NOT NULL DEFAULT 0,
      inquiries INT UNSIGNED NOT NULL DEFAULT 0,
      next_attempt_at DATETIME(3) NULL,
      queued_until DATETIME(3) NULL,
      transfer_id VARCHAR(64) NULL,
      failure_code VARCHAR(32) ${ASCII} NULL,
      last_error VARCHAR(500) NULL,
      sent_at DATETIME(3) NULL,
      settled_at DATETIME(3) NULL,
      created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      PRIMARY KEY (batch_id, seq),
      UNIQUE KEY uq_payments_id (id),
      UNIQUE KEY uq_payments_live (beneficiary_id, programme_id, period, slot, live),
      KEY ix_payments_work (batch_id, status, next_attempt_at),
      CONSTRAINT fk_payments_batch FOREIGN KEY (batch_id) REFERENCES batches (id)
    ) ${TABLE}`);

    // every status change of a payment: from, to, what caused it (send, callback, inquiry, sweeper, staff)
    await q.query(`CREATE TABLE payment_events (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
      batch_id BIGINT UNSIGNED NOT NULL,
      seq BIGINT UNSIGNED NOT NULL,
      from_status VARCHAR(16) ${ASCII} NULL,
      to_status VARCHAR(16) ${ASCII} NOT NULL,
      source VARCHAR(16) ${ASCII} NOT NULL,
      detail VARCHAR(500) NULL,
      occurred_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      PRIMARY KEY (id),
      KEY ix_payment_events_payment (batch_id, seq, id)
    ) ${TABLE}`);

    // every status event a provider posted (contract section 4), kept whether or not it matched a payment
    await q.query(`CREATE TABLE provider_events (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
      provider_id INT UNSIGNED NOT NULL,
      event_id VARCHAR(128) NOT NULL,
      reference VARCHAR(64) ${ASCII} NOT NULL,
      transfer_id VARCHAR(64) NULL,
      status VARCHAR(16) ${ASCII} NOT NULL,
      amount BIGINT NOT NULL,
      failure_code VARCHAR(32) ${ASCII} NULL,
      occurred_at VARCHAR(40) NOT NULL,
      outcome VARCHAR(24) ${ASCII} NOT NULL,
      received_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      PRIMARY KEY (id),
      UNIQUE KEY uq_provider_events (provider_id, event_id),
      KEY ix_provider_events_reference (reference)
    ) ${TABLE}`);

    // who the generation left out, and why (e.g. already in another batch's live payment)
    await q.query(`CREATE TABLE batch_left_out (
      batch_id BIGINT UNSIGNED NOT NULL,
      enrolment_id BIGINT UNSIGNED NOT NULL,
      period INT UNSIGNED NOT NULL,
      beneficiary_id BIGINT UNSIGNED NOT NULL,
      reason VARCHAR(32) ${ASCII} NOT NULL,
      other_batch_id BIGINT UNSIGNED NULL,
      other_reference VARCHAR(64) ${ASCII} NULL,
      detail VARCHAR(500) NULL,
      PRIMARY KEY (batch_id, enrolment_id, period),
      CONSTRAINT fk_batch_left_out_batch FOREIGN KEY (batch_id) REFERENCES batches (id)
    ) ${TABLE}`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE batch_left_out');
    await q.query('DROP TABLE provider_events');
    await q.query('DROP TABLE payment_events');
    await q.query('DROP TABLE payments');
    await q.query('DROP TABLE batch_makers');
    await q.query('DROP TABLE batch_transitions');
    await q.query('DROP TABLE batches');
  }
}
