import { z } from 'zod';
import { pageOf, pageQuery } from '../../platform/http/pagination';
import { areaQuery, boolQuery } from '../../platform/http/schemas';

const channel = z.enum(['BANK', 'WALLET', 'CASH']);
const status = z.enum(['active', 'suspended', 'ended']);

export const beneficiaryItemSchema = z
  .object({
    id: z.string(),
    nationalId: z.string().describe('Masked (0012******89) unless revealed'),
    fullName: z.string(),
    dateOfBirth: z.string(),
    gender: z.enum(['M', 'F']),
    phone: z.string().nullable().describe('Masked unless revealed'),
    areaId: z.number().int(),
    areaCode: z.string(),
    areaName: z.string(),
  })
  .meta({ id: 'BeneficiaryListItem' });

export const enrolmentSchema = z
  .object({
    id: z.string(),
    programmeId: z.number().int(),
    programmeCode: z.string(),
    coefficient: z.string().describe('Decimal text, e.g. 1.5'),
    coefficientX100: z.number().int(),
    startPeriod: z.string(),
    endPeriod: z.string().nullable(),
    status,
    statusReason: z.string().nullable(),
    channel,
    bankCode: z.string().nullable(),
    accountNumber: z.string().nullable().describe('Masked unless revealed'),
    accountName: z.string().nullable(),
    walletProvider: z.string().nullable(),
    walletId: z.string().nullable().describe('Masked unless revealed'),
    nameMismatch: z.boolean().describe("Account name differs from the person's name (ignoring case and diacritics)"),
    version: z.number().int(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Enrolment' });

export const beneficiaryDetailSchema = beneficiaryItemSchema
  .extend({ revealed: z.boolean(), enrolments: z.array(enrolmentSchema), createdAt: z.string(), updatedAt: z.string() })
  .meta({ id: 'Beneficiary' });

export const historySchema = z
  .object({
    id: z.string(),
    enrolmentId: z.string().nullable(),
    change: z.string(),
    before: z.unknown(),
    after: z.unknown(),
    reason: z.string().nullable(),
    changedBy: z.number().int().nullable(),
    changedByUsername: z.string().nullable(),
    importId: z.string().nullable(),
    changedAt: z.string(),
  })
  .meta({ id: 'RollChange' });

export const beneficiaryPage = pageOf(beneficiaryItemSchema).meta({ id: 'BeneficiaryPage' });
export const historyPage = pageOf(historySchema).meta({ id: 'RollChangePage' });

export const searchQuery = z
  .strictObject({
    ...pageQuery,
    q: z.string().trim().min(1).max(100).optional().describe('Start of the full name, diacritics optional (nguyen van)'),
    given: z.string().trim().min(1).max(100).optional().describe('Start of the given name, diacritics optional'),
    nationalId: z
      .string()
      .regex(/^\d{12}$/, 'must be 12 digits')
      .optional()
      .describe('Exact national ID'),
    areaId: areaQuery("People of this area's subtree"),
    programmeId: z.coerce.number().int().positive().optional(),
    channel: channel.optional(),
    status: status.optional().describe('People with an enrolment in this status'),
  })
  .refine((q) => !(q.q && q.given), { message: 'give q or given, not both', path: ['given'] });

const reason = z.string().trim().min(3, 'say why, in at least 3 characters').max(500);

export const revealQuery = z
  .strictObject({
    reveal: boolQuery.optional().describe('Show full identifiers (staff, auditor); the read is audited'),
    reason: reason.optional().describe('Why the full identifiers are needed: required with reveal=true, kept in the audit event'),
  })
  .refine((q) => !q.reveal || q.reason !== undefined, { message: 'say why the full identifiers are needed', path: ['reason'] });
export const historyQuery = z.strictObject({ ...pageQuery });

export const updateBeneficiaryBody = z
  .strictObject({
    fullName: z.string().min(1).max(100).optional(),
    dateOfBirth: z.string().max(10).optional(),
    gender: z.enum(['M', 'F']).optional(),
    phone: z.string().max(20).nullable().optional(),
    areaId: z
      .number()
      .int()
      .positive()
      .optional()
      .describe('Move the person to this commune: an active commune inside your area (400 AREA_NOT_COMMUNE, 403 AREA_OUT_OF_SCOPE)'),
    updatedAt: z.iso
      .datetime()
      .optional()
      .describe("The person's updatedAt you read: refused with 409 BENEFICIARY_CHANGED if they changed since"),
    reason,
  })
  .refine((b) => Object.keys(b).some((k) => k !== 'reason' && k !== 'updatedAt'), 'give at least one field to change');

const optionalText = (max: number) => z.string().max(max).nullable().optional();

export const updateEnrolmentBody = z
  .strictObject({
    coefficient: z.string().max(10).optional().describe('Decimal, 0.5-10, at most 2 decimals'),
    startPeriod: z.string().max(7).optional(),
    endPeriod: z.string().max(7).nullable().optional(),
    channel: channel.optional().describe('Changing the channel clears the old destination: give the new one'),
    bankCode: optionalText(6),
    accountNumber: optionalText(19),
    accountName: optionalText(100),
    walletProvider: optionalText(20),
    walletId: optionalText(10),
    version: z.number().int().positive().optional().describe('The version you read: refused with 409 ENROLMENT_CHANGED if it moved on'),
    reason,
  })
  .refine((b) => Object.keys(b).some((k) => k !== 'reason' && k !== 'version'), 'give at least one field to change');

export const statusBody = z.strictObject({ reason });
export const endBody = z.strictObject({ reason, endPeriod: z.string().max(7).optional().describe('Last month paid, YYYY-MM') });
