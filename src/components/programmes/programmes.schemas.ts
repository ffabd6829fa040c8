import { z } from 'zod';
import { intId, boolQuery, plainText as text } from '../../platform/http/schemas';
import { pageOf, pageQuery } from '../../platform/http/pagination';
import { parseCoefficient } from '../../platform/money';
import { parsePeriod } from '../../platform/period';
import { MAX_BASE_LEVEL, PROGRAMME_FREQUENCIES } from './programmes.service';

export const programmeFrequency = z.enum(PROGRAMME_FREQUENCIES).describe('monthly: paid every month; one_off: paid once');

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

/** Rolls and files name a programme by its code: accepted in any case, kept in upper case. */
const code = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,32}$/, 'must be 1-32 letters, digits, _ or -')
  .toUpperCase()
  .describe('e.g. TCXH-NCT80; upper-cased');

const amount = z.number().int().positive().max(MAX_BASE_LEVEL).describe(`Whole đồng, 1 to ${MAX_BASE_LEVEL}`);

export const baseLevelSchema = z
  .object({
    effectiveFrom: z.string().describe('YYYY-MM: in force from this month until the month of the next level'),
    amount: z.number().int().describe('Base level in whole đồng per month'),
    reason: z.string().nullable().describe('Why the level was set, e.g. the decree'),
  })
  .meta({ id: 'BaseLevel' });

export const programmeSchema = z
  .object({
    id: z.number().int(),
    code: z.string(),
    name: z.string(),
    frequency: programmeFrequency,
    active: z.boolean(),
  })
  .meta({ id: 'Programme' });

export const programmeDetailSchema = programmeSchema
  .extend({ baseLevels: z.array(baseLevelSchema).describe('Oldest first') })
  .meta({ id: 'ProgrammeDetail' });

export const baseLevelSetSchema = baseLevelSchema
  .extend({
    programmeId: z.number().int(),
    previousAmount: z.number().int().nullable().describe('The amount this month had before; null when the level is new'),
  })
  .meta({ id: 'BaseLevelSet' });

export const entitlementSchema = z
  .object({
    period: z.string().describe('YYYY-MM'),
    baseLevel: z.number().int().describe('Base level in force that month, whole đồng'),
    effectiveFrom: z.string().describe('YYYY-MM from which that base level is in force'),
    coefficientX100: z.number().int().describe('The coefficient in hundredths (150 = 1.5)'),
    amount: z.number().int().describe('baseLevel × coefficient, rounded half up to whole đồng'),
  })
  .meta({ id: 'Entitlement' });

export const createProgrammeBody = z.strictObject({
  code,
  name: text(300),
  frequency: programmeFrequency,
  active: z.boolean().optional().describe('Defaults to true'),
  baseLevels: z
    .array(z.strictObject({ effectiveFrom: period, amount, reason: text(500).optional() }))
    .max(100)
    .optional()
    .superRefine((levels, ctx) => {
      const seen = new Set<number>();
      (levels ?? []).forEach((l, i) => {
        if (seen.has(l.effectiveFrom)) ctx.addIssue({ code: 'custom', path: [i, 'effectiveFrom'], message: 'the same month twice' });
        seen.add(l.effectiveFrom);
      });
    })
    .describe('Initial base levels, each in force from its month'),
});

export const updateProgrammeBody = z
  .strictObject({
    name: text(300).optional(),
    frequency: programmeFrequency.optional(),
    active: z.boolean().optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'give at least one field to change');

export const setBaseLevelBody = z.strictObject({
  amount,
  reason: text(500).describe('Why, e.g. "Nghị định 76/2024/NĐ-CP"'),
});

export const listProgrammesQuery = z.strictObject({
  ...pageQuery,
  active: boolQuery.optional(),
  q: z.string().min(1).max(100).optional().describe('Part of the code or name'),
});

export const entitlementQuery = z.strictObject({
  period: period.describe('YYYY-MM'),
  coefficient: z
    .string()
    .transform((v, ctx) => {
      const x100 = parseCoefficient(v);
      if (x100 === null || x100 < 1 || x100 > 1000) {
        ctx.addIssue({ code: 'custom', message: 'must be a decimal from 0.01 to 10 with at most two decimals, e.g. 1.5' });
        return z.NEVER;
      }
      return x100;
    })
    .describe("The beneficiary's coefficient, e.g. 1.5"),
});

export const programmePage = pageOf(programmeSchema).meta({ id: 'ProgrammePage' });
export const baseLevelParams = z.strictObject({
  id: intId,
  effectiveFrom: period.describe('YYYY-MM'),
});
