import { Readable } from 'node:stream';
import { csvText } from '../../platform/export/cells';
import type { AuditEvent } from './audit.service';

const CSV_COLUMNS = [
  'id',
  'occurredAt',
  'actorUserId',
  'actorUsername',
  'actorRoles',
  'action',
  'entityType',
  'entityId',
  'areaId',
  'requestId',
  'source',
  'summary',
  'prevHash',
  'hash',
] as const;

/** The audit trail as CSV text, one line per event in the order given (the export streams them oldest first). */
export function auditCsv(events: AsyncIterable<AuditEvent>): Readable {
  const records = (async function* () {
    for await (const e of events) {
      yield [
        e.id,
        e.occurredAt,
        e.actorUserId,
        e.actorUsername,
        e.actorRoles.join(' '),
        e.action,
        e.entityType,
        e.entityId,
        e.areaId,
        e.requestId,
        e.source,
        JSON.stringify(e.summary),
        e.prevHash,
        e.hash,
      ];
    }
  })();
  return Readable.from(csvText(CSV_COLUMNS, records));
}
