import { z } from 'zod';
import { pageOf, pageQuery } from '../../platform/http/pagination';
import { areaQuery, boolQuery, plainText } from '../../platform/http/schemas';
import { parsePeriod } from '../../platform/period';
import { ADDRESS_MAX, NAME_MAX, OPENING_HOURS_MAX, OPERATOR_TYPES, POINT_CODE, POINT_KINDS } from './point-values';

export const pointKind = z
  .enum(POINT_KINDS)
  .describe('atm, bank_branch, bank_agent (a bank’s), post_office (the postal operator’s), mobile_money_agent (a wallet provider’s)');
export const operatorType = z.enum(OPERATOR_TYPES);

const operator = z
  .string()
  .regex(/^[A-Za-z0-9]{2,20}$/, 'must be a bank BIN, a wallet provider code or VNPOST')
  .toUpperCase()
  .describe('The operator: a bank’s 6-digit NAPAS BIN, a wallet provider’s code (e.g. VIETTELMONEY) or the postal operator (VNPOST)');

const pointCode = z
  .string()
  .regex(POINT_CODE, 'must be 1-40 letters, digits or . _ / - (the operator’s own code of the point)')
  .describe('The operator’s own code of the point (ATM id, branch or agent code); with the operator, the point’s identity');

const latitude = z.number().min(-90).max(90).describe('Decimal degrees, at most 6 decimals; with longitude, or neither');
const longitude = z.number().min(-180).max(180).describe('Decimal degrees, at most 6 decimals; with latitude, or neither');
const sixDecimals = (v: number | null | undefined) => v === null || v === undefined || Math.round(v * 1e6) / 1e6 === v;
const openingHours = plainText(OPENING_HOURS_MAX).describe(
  'Opening hours as one short line a recipient can read in an SMS, e.g. "T2-T6 7:30-17:00; T7 7:30-11:30"',
);

export const pointSchema = z
  .object({
    id: z.number().int(),
    kind: pointKind,
    operator: z.object({ type: operatorType, code: z.string(), name: z.string() }),
    pointCode: z.string(),
    name: z.string(),
    area: z.object({ id: z.number().int(), code: z.string(), name: z.string() }).describe('The commune the point is in'),
    address: z.string(),
    latitude: z.number().nullable(),
    longitude: z.number().nullable(),
    openingHours: z.string().nullable(),
    active: z.boolean(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'CashOutPoint' });

export const createPointBody = z
  .strictObject({
    kind: pointKind,
    operator,
    pointCode,
    name: plainText(NAME_MAX),
    areaId: z.number().int().positive().describe('The commune the point is in (an area of level commune, inside your scope)'),
    address: plainText(ADDRESS_MAX),
    latitude: latitude.nullable().optional(),
    longitude: longitude.nullable().optional(),
    openingHours: openingHours.nullable().optional(),
    active: z.boolean().optional().describe('Defaults to true'),
  })
  .refine((b) => ((b.latitude ?? null) === null) === ((b.longitude ?? null) === null), {
    message: 'give latitude and longitude together, or neither',
    path: ['longitude'],
  })
  .refine((b) => sixDecimals(b.latitude) && sixDecimals(b.longitude), { message: 'at most 6 decimals', path: ['latitude'] })
  .meta({ id: 'NewCashOutPoint' });

export const updatePointBody = z
  .strictObject({
    kind: pointKind.optional().describe('Another kind of the same operator type (an ATM that became a branch); the operator stays'),
    name: plainText(NAME_MAX).optional(),
    areaId: z.number().int().positive().optional(),
    address: plainText(ADDRESS_MAX).optional(),
    latitude: latitude.nullable().optional(),
    longitude: longitude.nullable().optional(),
    openingHours: openingHours.nullable().optional(),
    active: z.boolean().optional().describe('false deactivates the point: it stays in the registry, no longer counted'),
  })
  .refine((b) => Object.keys(b).length > 0, 'give at least one field to change')
  .refine((b) => (b.latitude === undefined) === (b.longitude === undefined), {
    message: 'change latitude and longitude together',
    path: ['longitude'],
  })
  .refine((b) => ((b.latitude ?? null) === null) === ((b.longitude ?? null) === null), {
    message: 'give latitude and longitude together, or neither',
    path: ['longitude'],
  })
  .refine((b) => sixDecimals(b.latitude) && sixDecimals(b.longitude), { message: 'at most 6 decimals', path: ['latitude'] })
  .meta({ id: 'CashOutPointChange' });

export const pointIdParams = z.strictObject({ id: z.coerce.number().int().positive().max(4294967295) });

export const listPointsQuery = z.strictObject({
  ...pageQuery,
  areaId: areaQuery('Points of this area’s subtree (a commune, or a district); default: your scope'),
  kind: pointKind.optional(),
  operator: operator.optional(),
  active: boolQuery.optional(),
});

export const pointPage = pageOf(pointSchema).meta({ id: 'CashOutPointPage' });

export const pointImportSchema = z
  .object({
    id: z.string(),
    fileName: z.string(),
    format: z.enum(['csv', 'xlsx']),
    fileSha256: z.string(),
    fileSize: z.number().int(),
    status: z
      .enum(['completed', 'failed'])
      .describe('completed: the valid rows were written; failed: the file could not be read, nothing was written'),
    rowsRead: z.number().int(),
    rowsValid: z.number().int(),
    rowsInvalid: z.number().int(),
    pointsCreated: z.number().int(),
    pointsUpdated: z.number().int(),
    pointsUnchanged: z.number().int(),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    uploadedBy: z.number().int(),
    scopeAreaId: z.number().int().nullable(),
    createdAt: z.string(),
  })
  .meta({ id: 'CashOutPointImport' });

export const pointImportPage = pageOf(pointImportSchema).meta({ id: 'CashOutPointImportPage' });

export const pointImportProblemSchema = z
  .object({
    row: z.number().int().describe('Row in the file (1 = header, 0 = the file as a whole)'),
    column: z.string().nullable(),
    code: z.string(),
    message: z.string(),
  })
  .meta({ id: 'CashOutPointImportProblem' });

export const pointImportProblemPage = pageOf(pointImportProblemSchema).meta({ id: 'CashOutPointImportProblemPage' });

export const importIdParams = z.strictObject({ id: z.string().regex(/^\d{1,19}$/, 'must be a numeric id') });
export const listImportsQuery = z.strictObject({ ...pageQuery });
export const problemsQuery = z.strictObject({ ...pageQuery });

/** `YYYY-MM` in, INT yyyymm out. */
const period = z
  .string()
  .regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be a month as YYYY-MM')
  .transform((v, ctx) => {
    const p = parsePeriod(v);
    if (p === null) {
      ctx.addIssue({ code: 'custom', message: 'must be a month as YYYY-MM from 1900 on' });
      return z.NEVER;
    }
    return p;
  });

export const accessQuery = z.strictObject({
  period: period.describe('YYYY-MM: the month paid'),
  areaId: areaQuery('Area whose communes to report on (default: your scope)'),
});

const byKind = z.object(
  Object.fromEntries(POINT_KINDS.map((k) => [k, z.number().int()])) as Record<(typeof POINT_KINDS)[number], z.ZodNumber>,
);
const operatorCount = z.object({ type: operatorType, code: z.string(), name: z.string() });

const accessFigures = {
  paidByBank: z.number().int().describe('People with a succeeded payment for the month to a bank account in the commune'),
  paidByWallet: z
    .number()
    .int()
    .describe('People with a succeeded payment for the month to an e-wallet or Mobile Money account in the commune'),
  withoutPoint: z.number().int().describe('Of them, people whose own bank or wallet provider has no active cash-out point in the commune'),
  points: z.number().int().describe('Active cash-out points'),
  pointsByKind: byKind,
};

export const accessReportSchema = z
  .object({
    period: z.string(),
    area: z.object({ id: z.number().int(), code: z.string(), name: z.string() }).nullable(),
    definition: z.string(),
    total: z.object(accessFigures),
    communes: z.array(
      z.object({
        area: z.object({ id: z.number().int(), code: z.string(), name: z.string() }),
        ...accessFigures,
        pointsByOperator: z.array(operatorCount.extend({ points: z.number().int() })),
        gaps: z
          .array(operatorCount.extend({ people: z.number().int() }))
          .describe('Operators paid into in the commune with no active point there, and how many people each'),
      }),
    ),
  })
  .meta({ id: 'NetworkAccess' });
