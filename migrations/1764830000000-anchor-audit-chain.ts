import type { MigrationInterface, QueryRunner } from 'typeorm';
import { config } from '../config';
import { headMac } from '../src/components/audit/audit-hash';

/**
 * The audit chain head gains the number of events and a MAC under AUDIT_CHAIN_KEY over last id, last hash and count:
 * someone who can write to the database, but lacks the key, can no longer cut the newest events and move the head
 * back unseen. The existing head is sealed here with the key of the process that migrates. Every export's manifest
 * carries the signed checkpoint of the chain's end when its file was written.
 */
export class AnchorAuditChain1764830000000 implements MigrationInterface {
  name = 'AnchorAuditChain1764830000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE audit_chain_head
      ADD COLUMN event_count BIGINT UNSIGNED NOT NULL DEFAULT 0,
      ADD COLUMN mac CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL`);
    await q.query('UPDATE audit_chain_head h SET event_count = (SELECT COUNT(*) FROM audit_events e WHERE e.id <= h.last_id) WHERE id = 1');
    const [head] = (await q.query('SELECT last_id, last_hash, event_count FROM audit_chain_head WHERE id = 1')) as {
      last_id: string;
      last_hash: string;
      event_count: string;
    }[];
    if (head) {
      const mac = headMac(config().auditChainKey, {
        lastId: String(head.last_id),
        lastHash: head.last_hash,
        count: Number(head.event_count),
      });
      await q.query('UPDATE audit_chain_head SET mac = ? WHERE id = 1', [mac]);
    }
    await q.query('ALTER TABLE exports ADD COLUMN audit_checkpoint TEXT NULL');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE exports DROP COLUMN audit_checkpoint');
    await q.query('ALTER TABLE audit_chain_head DROP COLUMN mac, DROP COLUMN event_count');
  }
}
