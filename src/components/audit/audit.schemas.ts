import { areaQuery } from '../../platform/http/schemas';
import { z } from 'zod';
import { pageOf, pageQuery } from '../../platform/http/pagination';

export const auditEventSchema = z
  .object({
    id: z.string(),
    occurredAt: z.string(),
    actorUserId: z.number().int().nullable().describe('null for the system (scheduled jobs, command line)'),
    actorUsername: z.string(),
    actorRoles: z.array(z.string()),
    action: z.string(),
    entityType: z.string(),
    entityId: z.string().nullable(),
    areaId: z.number().int().nullable(),
    requestId: z.string().nullable(),
    source: z.string().nullable().describe('Client address, or cli:<os user>'),
    summary: z.unknown().describe('before/after summary without personal data'),
    prevHash: z.string(),
    hash: z.string(),
  })
  .meta({ id: 'AuditEvent' });

const date = z.iso
  .datetime({ offset: true })
  .or(z.iso.date())
  .transform((v) => new Date(v));

export const auditFilterQuery = {
  from: date.optional().describe('Events at or after this time (ISO 8601)'),
  to: date.optional().describe('Events before this time (ISO 8601)'),
  actorUserId: z.coerce.number().int().positive().optional(),
  action: z.string().max(64).optional(),
  entityType: z.string().max(40).optional(),
  entityId: z.string().max(64).optional(),
  areaId: areaQuery("Events of this area's subtree"),
  requestId: z.string().max(128).optional(),
};

export const listAuditQuery = z.strictObject({ ...pageQuery, ...auditFilterQuery });
export const exportAuditQuery = z.strictObject({ ...auditFilterQuery });

export const auditPage = pageOf(auditEventSchema).meta({ id: 'AuditEventPage' });

export const verifySchema = z
  .object({
    ok: z.boolean(),
    checked: z.number().int().describe('Events verified before the first broken link, or all of them'),
    lastId: z.string().nullable().describe('Last event verified as intact'),
    firstBroken: z
      .object({
        id: z.string().nullable().describe('null when the event is outside your area'),
        code: z
          .enum([
            'HEAD_MISSING',
            'EVENTS_MISSING',
            'LINK_BROKEN',
            'EVENT_ALTERED',
            'HEAD_MISMATCH',
            'HEAD_INVALID',
            'TRUNCATED',
            'CHECKPOINT_MISMATCH',
            'CHECKPOINT_INVALID',
          ])
          .describe(
            'HEAD_INVALID: the chain head was rewritten without the key; TRUNCATED: the chain holds fewer events than the latest checkpoint',
          ),
        reason: z.string(),
      })
      .nullable(),
    checkpoint: z
      .object({ lastId: z.string(), count: z.number().int(), at: z.string() })
      .nullable()
      .describe('The latest signed checkpoint (AUDIT_CHECKPOINT_DIR) the chain was held against; null when none was taken yet'),
    note: z.string().nullable().describe('Says so when no checkpoint was taken yet'),
  })
  .meta({ id: 'AuditVerification' });
