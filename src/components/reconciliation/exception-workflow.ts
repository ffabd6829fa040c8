import type { DataSource, EntityManager } from 'typeorm';
import { conflict, forbidden, invalid } from '../../platform/errors';
import type { Actor, Principal, Role } from '../../platform/security';
import type { AuditService } from '../audit';
import { findException } from './recon-reads';
import type { NoteKind, Resolution } from './recon-states';
import { exceptionView, type ExceptionRow, type ExceptionView } from './recon-views';

/** The columns a step of the workflow may set (version moves on with every step). */
type ExceptionChange = Partial<
  Pick<
    ExceptionRow,
    | 'status'
    | 'assigned_to'
    | 'assigned_at'
    | 'resolution'
    | 'resolution_note'
    | 'resolution_batch_id'
    | 'proposed_by'
    | 'proposed_at'
    | 'resolved_by'
    | 'resolved_by_name'
    | 'resolved_at'
  >
>;

interface Step {
  action: string;
  note: { kind: NoteKind; body: string | null };
  set: ExceptionChange;
}

/**
 * What staff do with an exception: assign it, comment, resolve it with a
 * reason; a write-off is proposed by one person and confirmed or rejected by
 * another. Every step is one transaction on the locked row: the change, a
 * note and the audit event.
 */
export class ExceptionWorkflow {
  constructor(
    private readonly ds: DataSource,
    private readonly audit: AuditService,
  ) {}

  private async change(
    actor: Actor,
    p: Principal,
    id: string,
    version: number | undefined,
    fn: (em: EntityManager, r: ExceptionRow) => Promise<Step>,
  ): Promise<ExceptionView> {
    await this.ds.transaction(async (em) => {
      const r = await findException(em, p, id, true);
      if (version !== undefined && Number(r.version) !== version) {
        throw conflict('EXCEPTION_CHANGED', `exception ${id} changed since you read it (version ${r.version}); read it again`, {
          version: Number(r.version),
        });
      }
      const { action, note, set } = await fn(em, r);
      const cols = Object.keys(set) as (keyof ExceptionChange)[];
      await em.query(
        `UPDATE recon_exceptions SET ${cols.map((c) => `${c} = ?`).join(', ')}${cols.length ? ', ' : ''}version = version + 1 WHERE id = ?`,
        [...cols.map((c) => set[c]), id],
      );
      await em.query('INSERT INTO recon_exception_notes (exception_id, kind, body, user_id, username) VALUES (?, ?, ?, ?, ?)', [
        id,
        note.kind,
        note.body,
        actor.userId,
        actor.username,
      ]);
      await this.audit.record(em, actor, {
        action,
        entityType: 'recon_exception',
        entityId: id,
        areaId: r.area_id === null ? null : Number(r.area_id),
        before: { status: r.status, assignedTo: r.assigned_to, resolution: r.resolution },
        after: { ...set, note: note.body },
      });
    });
    return exceptionView(await findException(this.ds, p, id));
  }

  async assign(actor: Actor, p: Principal, id: string, userId: number, version?: number): Promise<ExceptionView> {
    return this.change(actor, p, id, version, async (em, r) => {
      if (r.status === 'resolved') throw conflict('EXCEPTION_RESOLVED', `exception ${id} is resolved`);
      const [u] = (await em.query(
        `SELECT u.id, u.username, u.roles, a.path FROM users u LEFT JOIN areas a ON a.id = u.area_id WHERE u.id = ? AND u.active = 1`,
        [userId],
      )) as { id: number; username: string; roles: string; path: string | null }[];
      if (!u) throw invalid('USER_NOT_FOUND', `no active user ${userId}`);
      const roles = String(u.roles).split(',') as Role[];
      if (!roles.some((x) => x === 'staff' || x === 'admin')) throw invalid('USER_CANNOT_WORK_EXCEPTIONS', `${u.username} is not staff`);
      if (u.path !== null && (r.area_path === null || !String(r.area_path).startsWith(u.path))) {
        throw invalid('USER_OUT_OF_SCOPE', `${u.username}'s area does not cover this exception`);
      }
      return {
        action: 'reconciliation.exception_assigned',
        note: { kind: 'assigned', body: `assigned to ${u.username}` },
        set: { assigned_to: userId, assigned_at: new Date() },
      };
    });
  }

  async comment(actor: Actor, p: Principal, id: string, body: string): Promise<ExceptionView> {
    return this.change(actor, p, id, undefined, async () => ({
      action: 'reconciliation.exception_commented',
      note: { kind: 'comment', body },
      set: {},
    }));
  }

  /**
   * Resolves an exception with a reason. A write-off is only proposed: a
   * second person confirms it (confirmWriteOff). `resent` names the batch that
   * pays it again, which must hold the payment's beneficiary and month live.
   */
  async resolve(
    actor: Actor,
    p: Principal,
    id: string,
    input: { resolution: Resolution; note: string; batchId?: string | undefined; version?: number | undefined },
  ): Promise<ExceptionView> {
    return this.change(actor, p, id, input.version, async (em, r) => {
      if (r.status === 'resolved') throw conflict('EXCEPTION_RESOLVED', `exception ${id} is already resolved (${r.resolution})`);
      if (r.status === 'writeoff_proposed')
        throw conflict('WRITEOFF_PENDING', `a write-off of exception ${id} waits for a second person: confirm or reject it`);
      if (input.resolution === 'resent') {
        if (!input.batchId) throw invalid('BATCH_REQUIRED', 'a "resent" resolution names the batch that pays it again (batchId)');
        if (Number(r.batch_id) === 0) throw invalid('NOT_A_PAYMENT', 'this line is no payment of ours: nothing to resend');
        const [again] = (await em.query(
          `SELECT n.batch_id FROM payments o JOIN payments n ON n.beneficiary_id = o.beneficiary_id AND n.programme_id = o.programme_id
             AND n.period = o.period AND n.slot = o.slot AND n.live = 1
           WHERE o.batch_id = ? AND o.seq = ? AND n.batch_id = ?`,
          [r.batch_id, r.seq, input.batchId],
        )) as { batch_id: string }[];
        if (!again) throw invalid('BATCH_DOES_NOT_PAY_IT', `batch ${input.batchId} holds no live payment of this person and month`);
      } else if (input.batchId) {
        throw invalid('BATCH_NOT_EXPECTED', 'batchId goes only with the "resent" resolution');
      }
      if (input.resolution === 'written_off') {
        return {
          action: 'reconciliation.writeoff_proposed',
          note: { kind: 'writeoff_proposed', body: input.note },
          set: {
            status: 'writeoff_proposed',
            resolution: 'written_off',
            resolution_note: input.note,
            proposed_by: actor.userId,
            proposed_at: new Date(),
          },
        };
      }
      return {
        action: 'reconciliation.exception_resolved',
        note: { kind: 'resolved', body: input.note },
        set: {
          status: 'resolved',
          resolution: input.resolution,
          resolution_note: input.note,
          resolution_batch_id: input.batchId ?? null,
          resolved_by: actor.userId,
          resolved_by_name: actor.username,
          resolved_at: new Date(),
        },
      };
    });
  }

  /** The second person of a write-off: never the one who proposed it. */
  async confirmWriteOff(actor: Actor, p: Principal, id: string, note: string, version?: number): Promise<ExceptionView> {
    return this.change(actor, p, id, version, async (_em, r) => {
      if (r.status !== 'writeoff_proposed') throw conflict('NO_WRITEOFF_PROPOSED', `exception ${id} has no write-off waiting`);
      if (r.proposed_by !== null && Number(r.proposed_by) === actor.userId) {
        throw forbidden('FOUR_EYES', 'a write-off needs a second person: you proposed this one');
      }
      return {
        action: 'reconciliation.writeoff_confirmed',
        note: { kind: 'writeoff_confirmed', body: note },
        set: { status: 'resolved', resolved_by: actor.userId, resolved_by_name: actor.username, resolved_at: new Date() },
      };
    });
  }

  async rejectWriteOff(actor: Actor, p: Principal, id: string, note: string, version?: number): Promise<ExceptionView> {
    return this.change(actor, p, id, version, async (_em, r) => {
      if (r.status !== 'writeoff_proposed') throw conflict('NO_WRITEOFF_PROPOSED', `exception ${id} has no write-off waiting`);
      return {
        action: 'reconciliation.writeoff_rejected',
        note: { kind: 'writeoff_rejected', body: note },
        set: { status: 'open', resolution: null, resolution_note: null, proposed_by: null, proposed_at: null },
      };
    });
  }
}
