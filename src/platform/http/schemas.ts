import { z } from 'zod';

/** A query flag: exactly `true` or `false` (a typo is an error, not a silent false). */
export const boolQuery = z.enum(['true', 'false']).transform((v) => v === 'true');

/** A fresh code from the caller's authenticator app, required in the request that moves money (step-up). */
export const stepUpCode = z
  .string()
  .regex(/^\d{6}$/, 'must be 6 digits')
  .describe('A fresh 6-digit code from your authenticator app; each code is good once');

/** One line of human text: NFC, trimmed, no control characters. */
export const plainText = (max: number) =>
  z
    .string()
    .overwrite((v) => v.normalize('NFC').trim())
    .min(1)
    .max(max)
    .regex(/^[^\p{Cc}]*$/u, 'must not contain control characters');

/** The id of a row keyed by INT UNSIGNED (users, role grants, areas, programmes, providers): a positive whole number. */
export const intId = z.coerce.number().int().positive().max(4294967295);

/**
 * The id of a row keyed by BIGINT (batches, beneficiaries, roll imports, exports, statements, reconciliation runs and
 * exceptions): kept a decimal string end to end, never a JavaScript number.
 */
export const bigId = z.string().regex(/^\d{1,19}$/, 'must be a numeric id');

/** Path parameters of a route on one INT-keyed row (`/…/:id`). */
export const intIdParams = z.strictObject({ id: intId });

/** Path parameters of a route on one BIGINT-keyed row (`/…/:id`). */
export const bigIdParams = z.strictObject({ id: bigId });

/** An optional area filter of a list or report: an area id, whose subtree is meant, in the caller's scope. */
export const areaQuery = (description: string) => z.coerce.number().int().positive().optional().describe(description);
