import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Indexes for pay-point hand-overs read by day: the reminder collector finds the hand-overs of tomorrow, and the
 * listing of a commune's hand-overs across batches reads a date range; both by handover_date. The listing counts the
 * messages told and reminded per hand-over revision, by schedule_id (NULL for every message that is not about a
 * hand-over, so the index stays small). The paypoint_reminder event needs no schema change: events are strings.
 */
export class IndexPaypointReminders1764940000000 implements MigrationInterface {
  name = 'IndexPaypointReminders1764940000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE paypoint_schedules ADD KEY ix_paypoint_schedules_date (handover_date, area_id)');
    await q.query('ALTER TABLE notification_messages ADD KEY ix_notification_messages_schedule (schedule_id, event, status)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE notification_messages DROP KEY ix_notification_messages_schedule');
    await q.query('ALTER TABLE paypoint_schedules DROP KEY ix_paypoint_schedules_date');
  }
}
