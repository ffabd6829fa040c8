import type { DataSource } from 'typeorm';
import type { DataCipher } from '../../platform/crypto';
import { decodeCursor, encodeCursor, type Page } from '../../platform/http/pagination';
import { formatPeriod, type Period } from '../../platform/period';
import type { AreaRef } from './export-scope';
import { streamQuery, type ExportSource } from './export-sources';

/**
 * "Paid in a month" everywhere below: the person has at least one payment for that month (payments.period, the
 * month the allowance is for, whatever batch paid it, regular or arrears) whose status is `succeeded`, in an area
 * of the subtree (the payment's own area, as the batch snapshotted it). People are counted once however many
 * payments or programmes they have.
 *
 * "Paid without cash": every succeeded payment of the person for the month went to a bank account or an e-wallet
 * (channel BANK or WALLET). A person with any succeeded CASH payment that month is "paid in cash" and is on the
 * list of people still paid in cash.
 */
export const COVERAGE_DEFINITION =
  'paid: distinct people with at least one payment for the month (regular or arrears) in status succeeded, in an area of the subtree; ' +
  'paid without cash: every such payment went to a bank account or e-wallet (BANK, WALLET); paid in cash: at least one such payment was CASH. ' +
  'A person paid in two areas of the subtree in the month is counted once, in the first of them in tree order, so the rows add up to the total. ' +
  'cashlessShare.percent = paidWithoutCash / paid × 100, rounded half up to 2 decimals (exact integer arithmetic); null when nobody was paid.';

export interface Share {
  numerator: number;
  denominator: number;
  /** paidWithoutCash / paid × 100, rounded half up to two decimals; null when nobody was paid */
  percent: string | null;
}

export interface CoverageFigures {
  paid: number;
  paidWithoutCash: number;
  paidInCash: number;
  cashlessShare: Share;
  amountPaid: number;
  amountPaidWithoutCash: number;
}

export interface CoverageRow extends CoverageFigures {
  area: { id: number; code: string; name: string };
  /** true for the row of payments made directly in the report's own area (not in a sub-area) */
  own: boolean;
}

export interface CoverageReport {
  period: string;
  area: { id: number; code: string; name: string } | null;
  definition: string;
  total: CoverageFigures;
  areas: CoverageRow[];
}

/** Exact percentage of a ratio, half up to 0.01, in integers: (n × 20000 + d) div 2d hundredths of a percent. */
export function sharePercent(numerator: number, denominator: number): Share {
  if (denominator === 0) return { numerator, denominator, percent: null };
  const bp = (BigInt(numerator) * 20000n + BigInt(denominator)) / (2n * BigInt(denominator));
  return { numerator, denominator, percent: `${bp / 100n}.${String(bp % 100n).padStart(2, '0')}` };
}

function figures(paid: number, cashless: number, amount: number, cashlessAmount: number): CoverageFigures {
  return {
    paid,
    paidWithoutCash: cashless,
    paidInCash: paid - cashless,
    cashlessShare: sharePercent(cashless, paid),
    amountPaid: amount,
    amountPaidWithoutCash: cashlessAmount,
  };
}

export interface CashRecipient {
  beneficiaryId: string;
  fullName: string;
  nationalId: string;
  dateOfBirth: string;
  phone: string | null;
  area: { code: string; name: string };
  programmes: string[];
  cashPayments: number;
  cashAmount: number;
  /** channels of the person's active enrolments now: BANK or WALLET here means an account was opened since */
  channelsNow: string[];
}

interface CashRow {
  beneficiary_id: string;
  cash_amount: string;
  cash_payments: string;
  programmes: string | null;
  full_name: string;
  national_id_masked: string;
  national_id_enc?: Buffer;
  phone_masked: string | null;
  phone_enc?: Buffer | null;
  dob: string;
  area_code: string;
  area_name: string;
  channels_now: string | null;
}

/** Payments of a month in an area subtree, found through the batches that can hold that month (their own index). */
export function monthPayments(root: string, period: Period, join = ''): { sql: string; params: unknown[] } {
  return {
    sql: `FROM batches b STRAIGHT_JOIN payments p ON p.batch_id = b.id JOIN areas a ON a.id = p.area_id ${join}
      WHERE b.period_from <= ? AND b.period_to >= ? AND (b.area_path LIKE ? OR ? LIKE CONCAT(b.area_path, '%'))
        AND p.period = ? AND p.status = 'succeeded' AND a.path LIKE ?`,
    params: [period, period, `${root}%`, root, period, `${root}%`],
  };
}

export const CASH_COLUMNS = [
  'beneficiaryId',
  'fullName',
  'nationalId',
  'dateOfBirth',
  'phone',
  'areaCode',
  'areaName',
  'programmes',
  'cashPayments',
  'cashAmount',
  'activeChannelsNow',
] as const;

/** The cashless coverage report and the list of people still paid in cash (the target list for opening accounts). */
export class Coverage {
  constructor(
    private readonly ds: DataSource,
    private readonly cipher: DataCipher,
  ) {}

  async report(area: AreaRef | null, period: Period): Promise<CoverageReport> {
    const root = area?.path ?? '/';
    const m = monthPayments(root, period);
    const rows = (await this.ds.query(
      `SELECT g.bucket, COUNT(*) AS paid, SUM(g.cash = 0) AS cashless, SUM(g.amount) AS amount, SUM(g.cashless_amount) AS cashless_amount
       FROM (
         SELECT p.beneficiary_id,
           MIN(SUBSTRING(a.path, 1, IF(LOCATE('/', a.path, ?) = 0, LENGTH(a.path), LOCATE('/', a.path, ?)))) AS bucket,
           MAX(p.channel = 'CASH') AS cash, SUM(p.amount) AS amount, SUM(IF(p.channel = 'CASH', 0, p.amount)) AS cashless_amount
         ${m.sql}
         GROUP BY p.beneficiary_id
       ) g GROUP BY g.bucket`,
      [root.length + 1, root.length + 1, ...m.params],
    )) as { bucket: string; paid: string; cashless: string; amount: string; cashless_amount: string }[];
    const children = (await this.ds.query(
      `SELECT id, code, name, path FROM areas WHERE ${area ? 'parent_id = ?' : 'parent_id IS NULL'} ORDER BY code`,
      area ? [area.id] : [],
    )) as { id: number; code: string; name: string; path: string }[];
    const byBucket = new Map(rows.map((r) => [r.bucket, r]));
    const out: CoverageRow[] = [];
    const own = area ? byBucket.get(area.path) : undefined;
    if (area && own) {
      out.push({
        area: { id: area.id, code: area.code, name: area.name },
        own: true,
        ...figures(Number(own.paid), Number(own.cashless), Number(own.amount), Number(own.cashless_amount)),
      });
    }
    for (const c of children) {
      const r = byBucket.get(c.path);
      out.push({
        area: { id: c.id, code: c.code, name: c.name },
        own: false,
        ...(r ? figures(Number(r.paid), Number(r.cashless), Number(r.amount), Number(r.cashless_amount)) : figures(0, 0, 0, 0)),
      });
    }
    const sum = (k: 'paid' | 'cashless' | 'amount' | 'cashless_amount') => rows.reduce((s, r) => s + Number(r[k]), 0);
    return {
      period: formatPeriod(period),
      area: area ? { id: area.id, code: area.code, name: area.name } : null,
      definition: COVERAGE_DEFINITION,
      total: figures(sum('paid'), sum('cashless'), sum('amount'), sum('cashless_amount')),
      areas: out,
    };
  }

  /** The query of the people paid in cash, by beneficiary id: a page after a cursor, or (limit null) all of them. */
  private cashQuery(area: AreaRef | null, period: Period, after: string | number | null, limit: number | null, reveal: boolean) {
    const root = area?.path ?? '/';
    const m = monthPayments(root, period, 'JOIN programmes pg ON pg.id = p.programme_id');
    return {
      sql: `SELECT g.beneficiary_id, g.cash_amount, g.cash_payments, g.programmes, bn.full_name, bn.national_id_masked, bn.phone_masked,
         ${reveal ? 'bn.national_id_enc, bn.phone_enc,' : ''} DATE_FORMAT(bn.date_of_birth, '%Y-%m-%d') AS dob,
         ca.code AS area_code, ca.name AS area_name,
         (SELECT GROUP_CONCAT(DISTINCT e.channel ORDER BY e.channel) FROM enrolments e
           WHERE e.beneficiary_id = g.beneficiary_id AND e.status = 'active') AS channels_now
       FROM (
         SELECT p.beneficiary_id, MIN(a.path) AS area_path, SUM(p.amount) AS cash_amount, COUNT(*) AS cash_payments,
           GROUP_CONCAT(DISTINCT pg.code ORDER BY pg.code) AS programmes
         ${m.sql} AND p.channel = 'CASH' ${after !== null ? 'AND p.beneficiary_id > ?' : ''}
         GROUP BY p.beneficiary_id ORDER BY p.beneficiary_id ${limit !== null ? 'LIMIT ?' : ''}
       ) g
       JOIN beneficiaries bn ON bn.id = g.beneficiary_id
       JOIN areas ca ON ca.path = g.area_path
       ORDER BY g.beneficiary_id`,
      params: [...m.params, ...(after !== null ? [after] : []), ...(limit !== null ? [limit] : [])],
    };
  }

  private recipient(r: CashRow, reveal: boolean): CashRecipient {
    return {
      beneficiaryId: String(r.beneficiary_id),
      fullName: r.full_name,
      nationalId: reveal && r.national_id_enc ? this.cipher.decrypt(r.national_id_enc, 'nid') : r.national_id_masked,
      dateOfBirth: r.dob,
      phone: reveal && r.phone_enc ? this.cipher.decrypt(r.phone_enc, 'phone') : r.phone_masked,
      area: { code: r.area_code, name: r.area_name },
      programmes: r.programmes ? r.programmes.split(',') : [],
      cashPayments: Number(r.cash_payments),
      cashAmount: Number(r.cash_amount),
      channelsNow: r.channels_now ? r.channels_now.split(',') : [],
    };
  }

  /** People paid in cash in the month, by beneficiary id (keyset pages). */
  async cashRecipients(
    area: AreaRef | null,
    period: Period,
    page: { limit: number; cursor?: string | undefined },
    reveal: boolean,
  ): Promise<Page<CashRecipient>> {
    const cur = decodeCursor(page.cursor, 1);
    const q = this.cashQuery(area, period, cur ? cur[0]! : null, page.limit + 1, reveal);
    const rows = (await this.ds.query(q.sql, q.params)) as CashRow[];
    const more = rows.length > page.limit;
    const kept = more ? rows.slice(0, page.limit) : rows;
    return {
      items: kept.map((r) => this.recipient(r, reveal)),
      nextCursor: more ? encodeCursor([String(kept[kept.length - 1]!.beneficiary_id)]) : null,
    };
  }

  /** The same list as an export: one grouped query, streamed (the month's cash payments are read once, not once a page). */
  cashSource(area: AreaRef | null, period: Period, full: boolean): ExportSource {
    let rowCount = 0;
    let total = 0;
    let stillNoAccount = 0;
    const q = this.cashQuery(area, period, null, null, full);
    const ds = this.ds;
    const toRecipient = (r: CashRow) => this.recipient(r, full);
    return {
      sheet: 'Paid in cash',
      columns: CASH_COLUMNS,
      totals: () => ({ rowCount, totalAmount: total, detail: { period: formatPeriod(period), withoutBankOrWalletNow: stillNoAccount } }),
      rows: async function* () {
        const runner = ds.createQueryRunner();
        await runner.connect();
        try {
          for await (const batch of streamQuery<CashRow>(runner, q.sql, q.params)) {
            yield batch.map((row) => {
              const r = toRecipient(row);
              rowCount += 1;
              total += r.cashAmount;
              if (!r.channelsNow.some((c) => c !== 'CASH')) stillNoAccount += 1;
              return [
                r.beneficiaryId,
                r.fullName,
                r.nationalId,
                r.dateOfBirth,
                r.phone,
                r.area.code,
                r.area.name,
                r.programmes.join(' '),
                r.cashPayments,
                r.cashAmount,
                r.channelsNow.join(' '),
              ];
            });
          }
        } finally {
          await runner.release();
        }
      },
    };
  }
}
