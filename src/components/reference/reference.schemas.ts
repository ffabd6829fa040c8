import { z } from 'zod';
import { boolQuery, plainText as text } from '../../platform/http/schemas';
import { WALLET_KINDS } from './reference.service';

const bin = z
  .string()
  .regex(/^\d{6}$/, 'must be the 6-digit NAPAS BIN')
  .describe('6-digit NAPAS BIN, e.g. 970436');

/** Accepted in any case, kept in upper case. */
const walletCode = z
  .string()
  .regex(/^[A-Za-z0-9]{2,20}$/, 'must be 2-20 letters or digits')
  .toUpperCase()
  .describe('e.g. VIETTELMONEY; upper-cased');

export const walletKind = z.enum(WALLET_KINDS).describe('ewallet, or mobile_money (a telecom account, capped by law)');

/** Mobile Money is capped at 10 million đồng a month; the upper bound only catches a misplaced digit group. */
const monthlyCap = z
  .number()
  .int()
  .positive()
  .max(1_000_000_000)
  .nullable()
  .describe('Most that may be paid into one account in a month, whole đồng; null = no cap');

export const bankSchema = z.object({ bin: z.string(), shortName: z.string(), name: z.string(), active: z.boolean() }).meta({ id: 'Bank' });

export const walletProviderSchema = z
  .object({
    code: z.string(),
    name: z.string(),
    kind: walletKind,
    monthlyCap: z.number().int().nullable(),
    active: z.boolean(),
  })
  .meta({ id: 'WalletProvider' });

export const bankList = z.object({ items: z.array(bankSchema) }).meta({ id: 'BankList' });
export const walletProviderList = z.object({ items: z.array(walletProviderSchema) }).meta({ id: 'WalletProviderList' });

export const referenceListQuery = z.strictObject({ active: boolQuery.optional() });

export const createBankBody = z.strictObject({
  bin,
  shortName: text(40),
  name: text(200),
  active: z.boolean().optional().describe('Defaults to true'),
});

export const updateBankBody = z
  .strictObject({ shortName: text(40).optional(), name: text(200).optional(), active: z.boolean().optional() })
  .refine((b) => Object.keys(b).length > 0, 'give at least one field to change');

export const createWalletProviderBody = z.strictObject({
  code: walletCode,
  name: text(200),
  kind: walletKind,
  monthlyCap: monthlyCap.describe('Required: null says on purpose that the provider has no cap'),
  active: z.boolean().optional().describe('Defaults to true'),
});

export const updateWalletProviderBody = z
  .strictObject({
    name: text(200).optional(),
    kind: walletKind.optional(),
    monthlyCap: monthlyCap.optional(),
    active: z.boolean().optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'give at least one field to change');

export const bankParams = z.strictObject({ bin });
export const walletProviderParams = z.strictObject({ code: walletCode });
