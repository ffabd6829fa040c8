import type { DataSource, EntityManager } from 'typeorm';
import { marks } from '../../platform/db';
import { GroupedApplier, type GroupingOptions } from '../../platform/grouped-applier';
import { retryOnDeadlock } from '../payments';
import { fromGateway, mayBecomeFrom, type MessageStatus } from './messages.sql';
import type { SmsStatus } from './sms-wire';

export type ReportOutcome = 'applied' | 'already' | 'unmatched';

/** A verified delivery report's facts: what the gateway says a reference became. */
export interface GatewayReport {
  reference: string;
  status: SmsStatus;
  errorCode: string | null;
}

interface Pending {
  gatewayId: number;
  report: GatewayReport;
  /** when it was received: the time written with the status it moves to */
  now: Date;
}

/** Reports applied in one transaction at most, how long the first waits for others, groups applied at once. */
export type ReportBatcherOptions = GroupingOptions;

export const REPORT_BATCHER_DEFAULTS: ReportBatcherOptions = { maxBatch: 500, maxWaitMs: 5, maxGroups: 2 };

/**
 * Delivery reports applied in groups: the reports that arrive within a few milliseconds (or up to maxBatch) are
 * applied in one transaction, their messages read under lock at once and each status written by one statement, so
 * that a gateway's stream of two reports per message costs a handful of statements per hundred reports instead of
 * two per report. The rules are those of one report at a time: forward only (reports of one message in arrival
 * order), `applied` when a report moved its message, `already` for one applied before or one that would move it
 * backwards, `unmatched` for a reference this gateway never got from us. Each request is answered after the commit,
 * with its own outcome; a group that fails is applied again one report at a time, so that one report's trouble never
 * fails its neighbours.
 */
export class ReportBatcher {
  private readonly groups: GroupedApplier<Pending, ReportOutcome>;

  constructor(
    private readonly ds: DataSource,
    opts: ReportBatcherOptions = REPORT_BATCHER_DEFAULTS,
  ) {
    this.groups = new GroupedApplier((group) => this.applyGroup(group), opts);
  }

  submit(gatewayId: number, report: GatewayReport, now: Date = new Date()): Promise<ReportOutcome> {
    return this.groups.submit({ gatewayId, report, now });
  }

  private applyGroup(group: Pending[]): Promise<ReportOutcome[]> {
    return retryOnDeadlock(() => this.ds.transaction('READ COMMITTED', (em) => this.apply(em, group)));
  }

  private async apply(em: EntityManager, group: Pending[]): Promise<ReportOutcome[]> {
    // the messages named, locked in the unique key's order (groups and dispatchers never lock them crosswise)
    const refs = [...new Set(group.map((p) => p.report.reference))].sort();
    const rows = (await em.query(
      `SELECT reference, gateway_id, status FROM notification_messages WHERE reference IN (${marks(refs.length)}) ORDER BY reference FOR UPDATE`,
      refs,
    )) as { reference: string; gateway_id: number | null; status: MessageStatus }[];
    const current = new Map(rows.map((r) => [r.reference, { gatewayId: r.gateway_id, status: r.status }]));
    const moved = new Map<string, GatewayReport & { now: Date }>();
    const outcomes = group.map(({ gatewayId, report, now }): ReportOutcome => {
      const m = current.get(report.reference);
      if (!m || m.gatewayId === null || Number(m.gatewayId) !== gatewayId) return 'unmatched';
      if (!mayBecomeFrom(report.status).includes(m.status)) return 'already';
      m.status = fromGateway(report.status);
      moved.set(report.reference, { ...report, now });
      return 'applied';
    });
    // one statement per status the messages end in (and error code), with the latest time of its reports
    const byTarget = new Map<string, { report: GatewayReport; at: Date; refs: string[] }>();
    for (const [reference, report] of moved) {
      const key = `${report.status}|${report.errorCode ?? ''}`;
      const g = byTarget.get(key) ?? { report, at: report.now, refs: [] };
      if (report.now > g.at) g.at = report.now;
      g.refs.push(reference);
      byTarget.set(key, g);
    }
    for (const { report, at, refs: these } of byTarget.values()) {
      const to = fromGateway(report.status);
      const final = to === 'delivered' || to === 'failed';
      await em.query(
        `UPDATE notification_messages SET status = ?, gateway_status = ?, error_code = ?, reason = ?, claim_token = NULL, next_attempt_at = NULL,
           sent_at = COALESCE(sent_at, ?), final_at = ${final ? '?' : 'final_at'}
         WHERE reference IN (${marks(these.length)})`,
        [
          to,
          report.status,
          report.errorCode,
          to === 'failed' ? (report.errorCode ?? report.status) : null,
          at,
          ...(final ? [at] : []),
          ...these,
        ],
      );
    }
    return outcomes;
  }
}
