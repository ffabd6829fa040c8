import type { DataSource } from 'typeorm';
import { likePrefix } from '../../platform/db';
import { formatPeriod, type Period } from '../../platform/period';
import { monthPayments, type AreaRef, type Cell, type ExportSource } from '../exports';
import { POINT_KINDS, operatorName, type OperatorType, type Operators, type PointKind } from './point-values';
import { loadOperators } from './points.sql';

/**
 * "Paid by bank / by wallet" is the coverage report's "paid" (exports/coverage.ts: at least one payment for the month,
 * regular or arrears, in status succeeded, in the payment's own area), narrowed to payments to a bank account (BANK)
 * or an e-wallet / Mobile Money account (WALLET), counted per commune of the payment.
 */
export const ACCESS_DEFINITION =
  'paidByBank / paidByWallet: distinct people with at least one payment for the month (regular or arrears) in status succeeded to a bank account / ' +
  'to an e-wallet or Mobile Money account, in the commune (the payment’s own area, as the batch snapshotted it); someone paid both ways counts in both. ' +
  'withoutPoint: of those people, the ones for whom a bank or wallet provider they were paid into has no active cash-out point (any kind) in that commune; ' +
  'each person once per commune. points: active cash-out points of the registry as it is now. Communes listed: those of the area with anyone paid ' +
  'without cash or any active point, ordered by withoutPoint (most first), then by people paid without cash, then by code. ' +
  'A person paid in two communes in the month counts in each, so the total is the sum of the rows.';

type ByKind = Record<PointKind, number>;

export interface AccessFigures {
  paidByBank: number;
  paidByWallet: number;
  withoutPoint: number;
  points: number;
  pointsByKind: ByKind;
}

interface OperatorRef {
  type: OperatorType;
  code: string;
  name: string;
}

export interface CommuneAccess extends AccessFigures {
  area: { id: number; code: string; name: string };
  pointsByOperator: (OperatorRef & { points: number })[];
  gaps: (OperatorRef & { people: number })[];
}

export interface AccessReport {
  period: string;
  area: { id: number; code: string; name: string } | null;
  definition: string;
  total: AccessFigures;
  communes: CommuneAccess[];
}

const noKinds = (): ByKind => Object.fromEntries(POINT_KINDS.map((k) => [k, 0])) as ByKind;

const empty = (): AccessFigures => ({ paidByBank: 0, paidByWallet: 0, withoutPoint: 0, points: 0, pointsByKind: noKinds() });

/** The operator a cashless payment went to, as the registry names operators. */
const PAYMENT_OPERATOR = `IF(p.channel = 'BANK', 'bank', 'wallet')`;
const PAYMENT_OPERATOR_CODE = `IF(p.channel = 'BANK', p.bank_bin, p.wallet_provider)`;

/** No active point of that operator in that commune: one probe of ix_cash_out_points_lookup. */
const noPoint = (type: string, code: string, area: string) =>
  `NOT EXISTS (SELECT 1 FROM cash_out_points cp WHERE cp.operator_type = ${type} AND cp.operator_code = ${code}
     AND cp.area_id = ${area} AND cp.active = 1)`;

export const ACCESS_COLUMNS = [
  'communeCode',
  'communeName',
  'paidByBank',
  'paidByWallet',
  'withoutPoint',
  'operatorsWithoutPoint',
  'points',
  ...POINT_KINDS,
  'pointsByOperator',
] as const;

/** The access report: who was paid without cash where, beside where the network lets them withdraw it. */
export class AccessReports {
  constructor(private readonly ds: DataSource) {}

  async report(area: AreaRef | null, period: Period): Promise<AccessReport> {
    const root = area?.path ?? '/';
    const m = monthPayments(root, period);
    // each person once per commune: paid by bank, by wallet, and whether an operator they were paid into has no point there
    const people = (await this.ds.query(
      `SELECT x.area_id, SUM(x.bank) AS bank, SUM(x.wallet) AS wallet, SUM(x.gap) AS gap FROM (
         SELECT p.area_id, p.beneficiary_id, MAX(p.channel = 'BANK') AS bank, MAX(p.channel = 'WALLET') AS wallet,
           MAX(${noPoint(PAYMENT_OPERATOR, PAYMENT_OPERATOR_CODE, 'p.area_id')}) AS gap
         ${m.sql} AND p.channel IN ('BANK', 'WALLET')
         GROUP BY p.area_id, p.beneficiary_id
       ) x GROUP BY x.area_id`,
      m.params,
    )) as { area_id: number; bank: string; wallet: string; gap: string }[];
    // the operators without a point, per commune, with the people paid into each
    const gaps = (await this.ds.query(
      `SELECT y.area_id, y.op_type, y.op_code, COUNT(*) AS people FROM (
         SELECT DISTINCT p.area_id, p.beneficiary_id, ${PAYMENT_OPERATOR} AS op_type, ${PAYMENT_OPERATOR_CODE} AS op_code
         ${m.sql} AND p.channel IN ('BANK', 'WALLET')
       ) y WHERE ${noPoint('y.op_type', 'y.op_code', 'y.area_id')}
       GROUP BY y.area_id, y.op_type, y.op_code`,
      m.params,
    )) as { area_id: number; op_type: OperatorType; op_code: string; people: string }[];
    const points = (await this.ds.query(
      `SELECT cp.area_id, cp.kind, cp.operator_type, cp.operator_code, COUNT(*) AS n
       FROM cash_out_points cp JOIN areas a ON a.id = cp.area_id
       WHERE cp.active = 1 AND a.path LIKE ? GROUP BY cp.area_id, cp.kind, cp.operator_type, cp.operator_code`,
      [likePrefix(root)],
    )) as { area_id: number; kind: PointKind; operator_type: OperatorType; operator_code: string; n: string }[];

    const ids = [...new Set([...people.map((r) => r.area_id), ...points.map((r) => r.area_id)])];
    const names = new Map<number, { id: number; code: string; name: string }>();
    if (ids.length) {
      for (const a of (await this.ds.query('SELECT id, code, name FROM areas WHERE id IN (?)', [ids])) as {
        id: number;
        code: string;
        name: string;
      }[]) {
        names.set(a.id, { id: a.id, code: a.code, name: a.name });
      }
    }
    const ops: Operators = await loadOperators(this.ds, false);
    const ref = (type: OperatorType, code: string): OperatorRef => ({ type, code, name: operatorName({ type, code }, ops) });
    const communes = new Map<number, CommuneAccess>();
    const commune = (id: number): CommuneAccess => {
      let c = communes.get(id);
      if (!c) {
        c = { area: names.get(id)!, ...empty(), pointsByOperator: [], gaps: [] };
        communes.set(id, c);
      }
      return c;
    };
    for (const r of people) {
      const c = commune(r.area_id);
      c.paidByBank = Number(r.bank);
      c.paidByWallet = Number(r.wallet);
      c.withoutPoint = Number(r.gap);
    }
    for (const r of gaps) commune(r.area_id).gaps.push({ ...ref(r.op_type, r.op_code), people: Number(r.people) });
    for (const r of points) {
      const c = commune(r.area_id);
      const n = Number(r.n);
      c.points += n;
      c.pointsByKind[r.kind] += n;
      const o = c.pointsByOperator.find((x) => x.type === r.operator_type && x.code === r.operator_code);
      if (o) o.points += n;
      else c.pointsByOperator.push({ ...ref(r.operator_type, r.operator_code), points: n });
    }
    const list = [...communes.values()];
    for (const c of list) {
      c.gaps.sort((a, b) => b.people - a.people || a.code.localeCompare(b.code));
      c.pointsByOperator.sort((a, b) => b.points - a.points || a.code.localeCompare(b.code));
    }
    list.sort(
      (a, b) =>
        b.withoutPoint - a.withoutPoint ||
        b.paidByBank + b.paidByWallet - (a.paidByBank + a.paidByWallet) ||
        a.area.code.localeCompare(b.area.code),
    );
    const total = empty();
    for (const c of list) {
      total.paidByBank += c.paidByBank;
      total.paidByWallet += c.paidByWallet;
      total.withoutPoint += c.withoutPoint;
      total.points += c.points;
      for (const k of POINT_KINDS) total.pointsByKind[k] += c.pointsByKind[k];
    }
    return {
      period: formatPeriod(period),
      area: area ? { id: area.id, code: area.code, name: area.name } : null,
      definition: ACCESS_DEFINITION,
      total,
      communes: list,
    };
  }

  /** The report as an export: one row per commune, in the report's order. */
  source(area: AreaRef | null, period: Period): ExportSource {
    let report: AccessReport | null = null;
    const load = async () => (report = await this.report(area, period));
    return {
      sheet: 'Network access',
      columns: ACCESS_COLUMNS,
      totals: () => ({
        rowCount: report?.communes.length ?? 0,
        totalAmount: null,
        detail: {
          period: formatPeriod(period),
          paidByBank: report?.total.paidByBank ?? 0,
          paidByWallet: report?.total.paidByWallet ?? 0,
          withoutPoint: report?.total.withoutPoint ?? 0,
          points: report?.total.points ?? 0,
          definition: ACCESS_DEFINITION,
        },
      }),
      rows: async function* () {
        const r = await load();
        yield r.communes.map((c): Cell[] => [
          c.area.code,
          c.area.name,
          c.paidByBank,
          c.paidByWallet,
          c.withoutPoint,
          c.gaps.map((g) => `${g.code}:${g.people}`).join(' '),
          c.points,
          ...POINT_KINDS.map((k) => c.pointsByKind[k]),
          c.pointsByOperator.map((o) => `${o.code}:${o.points}`).join(' '),
        ]);
      },
    };
  }
}
