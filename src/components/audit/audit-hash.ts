import { createHmac } from 'node:crypto';

export const GENESIS_HASH = '0'.repeat(64);

/** JSON with object keys sorted at every level, so that the same value always hashes the same. */
export function canonicalJson(value: unknown): string {
  // amounts are BigInt (money is never a float): kept exact as a decimal string rather than refused by JSON.stringify
  if (typeof value === 'bigint') return JSON.stringify(value.toString());
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return canonicalJson((value as { toJSON: () => unknown }).toJSON());
  }
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

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
