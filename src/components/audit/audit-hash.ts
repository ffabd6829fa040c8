import { createHmac, timingSafeEqual } from 'node:crypto';

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

/** The end of the chain as the head row records it: the last event's id and hash and how many events there are. */
export interface ChainEnd {
  lastId: string;
  lastHash: string;
  count: number;
}

/** A signed record of the chain's end at a moment, kept where a database writer cannot reach it. */
export interface Checkpoint extends ChainEnd {
  at: string;
  mac: string;
}

/**
 * The head's MAC: someone who can write to the database but lacks the key
 * cannot move the head (to hide a removed tail) and give it a MAC that checks.
 */
export function headMac(key: string, h: ChainEnd): string {
  return createHmac('sha256', key).update(`audit-head\n${h.lastId}\n${h.lastHash}\n${h.count}`).digest('hex');
}

/** A checkpoint's MAC; the label keeps a head's MAC from passing as a checkpoint's. */
export function checkpointMac(key: string, c: ChainEnd & { at: string }): string {
  return createHmac('sha256', key).update(`audit-checkpoint\n${c.lastId}\n${c.lastHash}\n${c.count}\n${c.at}`).digest('hex');
}

export function macMatches(expected: string, given: string | null | undefined): boolean {
  if (typeof given !== 'string' || given.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(expected), Buffer.from(given));
}
