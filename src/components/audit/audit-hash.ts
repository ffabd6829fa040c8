import { createHmac } from 'node:crypto';

import { canonicalJson } from '../../platform/canonical-json';

export { canonicalJson };

export const GENESIS_HASH = '0'.repeat(64);

export interface HashedFields {
  id: string;
  occurredAt: Date;
  actorUserId: number | null;
  actorUsername: string;
  actorRoles: string;
  action: string;
  entityType: string;
  entityId: string | null;
  areaId: number | null;
  requestId: string | null;
  source: string | null;
  summary: string;
}

/**
 * hash = HMAC-SHA256(chain key, prev_hash + every stored field): editing any
 * field, or removing a row, breaks the chain, and without the key nobody can
 * recompute a chain that verifies.
 */
export function eventHash(key: string, prevHash: string, e: HashedFields): string {
  const body = canonicalJson([
    e.id,
    e.occurredAt.toISOString(),
    e.actorUserId,
    e.actorUsername,
    e.actorRoles,
    e.action,
    e.entityType,
    e.entityId,
    e.areaId,
    e.requestId,
    e.source,
    e.summary,
  ]);
  return createHmac('sha256', key).update(`${prevHash}\n${body}`).digest('hex');
}
