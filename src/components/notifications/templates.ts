import type { DataSource, EntityManager } from 'typeorm';
import { conflict, invalid, notFound } from '../../platform/errors';
import type { Actor } from '../../platform/security';
import type { AuditService } from '../audit';
import { checkTemplate, DEFAULT_TEMPLATES, NOTIFICATION_EVENTS, type NotificationEvent } from './notification-events';

/** The text in force for a programme and event: the latest version saved, or the built-in one (version 0). */
export interface Template {
  programmeId: number;
  event: NotificationEvent;
  version: number;
  body: string;
  /** Sent without diacritics (GSM-7, about half the segments). */
  plain: boolean;
  /** false: no message of this event is created for the programme. */
  active: boolean;
  createdBy: number | null;
  createdAt: string | null;
}

interface Row {
  programme_id: number;
  event: NotificationEvent;
  version: number;
  body: string;
  plain: number;
  active: number;
  created_by: number | null;
  created_at: Date;
}

const toTemplate = (r: Row): Template => ({
  programmeId: Number(r.programme_id),
  event: r.event,
  version: Number(r.version),
  body: r.body,
  plain: Number(r.plain) === 1,
  active: Number(r.active) === 1,
  createdBy: r.created_by,
  createdAt: r.created_at.toISOString(),
});

const builtIn = (programmeId: number, event: NotificationEvent): Template => ({
  programmeId,
  event,
  version: 0,
  body: DEFAULT_TEMPLATES[event],
  plain: false,
  active: true,
  createdBy: null,
  createdAt: null,
});

/** Templates per programme and event, every edit a new version (notification_templates, owned here). */
export class Templates {
  constructor(
    private readonly ds: DataSource,
    private readonly audit: AuditService,
  ) {}

  /** Every event's template in force for a programme. */
  async forProgramme(programmeId: number, db: DataSource | EntityManager = this.ds): Promise<Template[]> {
    await this.programmeExists(programmeId, db);
    const rows = (await db.query(
      `SELECT t.* FROM notification_templates t
       JOIN (SELECT event, MAX(version) AS version FROM notification_templates WHERE programme_id = ? GROUP BY event) m
         ON m.event = t.event AND m.version = t.version
       WHERE t.programme_id = ?`,
      [programmeId, programmeId],
    )) as Row[];
    const byEvent = new Map(rows.map((r) => [r.event, toTemplate(r)]));
    return NOTIFICATION_EVENTS.map((e) => byEvent.get(e) ?? builtIn(programmeId, e));
  }

  async current(programmeId: number, event: NotificationEvent, db: DataSource | EntityManager = this.ds): Promise<Template> {
    const [r] = (await db.query('SELECT * FROM notification_templates WHERE programme_id = ? AND event = ? ORDER BY version DESC LIMIT 1', [
      programmeId,
      event,
    ])) as Row[];
    return r ? toTemplate(r) : builtIn(programmeId, event);
  }

  /** Every version of one template, newest first (the built-in text is version 0). */
  async versions(programmeId: number, event: NotificationEvent): Promise<Template[]> {
    await this.programmeExists(programmeId, this.ds);
    const rows = (await this.ds.query('SELECT * FROM notification_templates WHERE programme_id = ? AND event = ? ORDER BY version DESC', [
      programmeId,
      event,
    ])) as Row[];
    return [...rows.map(toTemplate), builtIn(programmeId, event)];
  }

  /**
   * Saves a new version (body checked: only whitelisted placeholders). `expectedVersion`, when given, must be the
   * version in force: two people editing at once do not overwrite each other silently (409 TEMPLATE_CHANGED).
   * The primary key (programme, event, version) makes the check and the write one step. Audited.
   */
  async save(
    actor: Actor,
    programmeId: number,
    event: NotificationEvent,
    input: { body: string; plain: boolean; active: boolean; expectedVersion?: number | undefined },
  ): Promise<Template> {
    checkTemplate(input.body);
    return this.ds.transaction(async (em) => {
      await this.programmeExists(programmeId, em);
      const before = await this.current(programmeId, event, em);
      if (input.expectedVersion !== undefined && input.expectedVersion !== before.version) {
        throw conflict('TEMPLATE_CHANGED', `the template is at version ${before.version}, not ${input.expectedVersion}: reload it`);
      }
      const version = before.version + 1;
      try {
        await em.query(
          'INSERT INTO notification_templates (programme_id, event, version, body, plain, active, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)',
          [programmeId, event, version, input.body, input.plain ? 1 : 0, input.active ? 1 : 0, actor.userId],
        );
      } catch (e) {
        if ((e as { code?: string }).code === 'ER_DUP_ENTRY')
          throw conflict('TEMPLATE_CHANGED', 'someone saved this template at the same time: reload it');
        throw e;
      }
      await this.audit.record(em, actor, {
        action: 'notification_template.save',
        entityType: 'notification_template',
        entityId: `${programmeId}:${event}`,
        before: { version: before.version, body: before.body, plain: before.plain, active: before.active },
        after: { version, body: input.body, plain: input.plain, active: input.active },
      });
      return this.current(programmeId, event, em);
    });
  }

  /** The events whose messages are created for a programme (templates active). */
  async enabledEvents(programmeId: number): Promise<Set<NotificationEvent>> {
    return new Set((await this.forProgramme(programmeId)).filter((t) => t.active).map((t) => t.event));
  }

  private async programmeExists(programmeId: number, db: DataSource | EntityManager): Promise<void> {
    const [p] = (await db.query('SELECT id FROM programmes WHERE id = ?', [programmeId])) as unknown[];
    if (!p) throw notFound('PROGRAMME_NOT_FOUND', `no programme with id ${programmeId}`);
  }
}

export const parseEvent = (e: string): NotificationEvent => {
  if (!(NOTIFICATION_EVENTS as readonly string[]).includes(e))
    throw invalid('INVALID_EVENT', `event must be one of ${NOTIFICATION_EVENTS.join(', ')}`);
  return e as NotificationEvent;
};
