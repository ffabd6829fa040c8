import { z } from 'zod';

/** A query flag: exactly `true` or `false` (a typo is an error, not a silent false). */
export const boolQuery = z.enum(['true', 'false']).transform((v) => v === 'true');

/** One line of human text: NFC, trimmed, no control characters. */
export const plainText = (max: number) =>
  z
    .string()
    .overwrite((v) => v.normalize('NFC').trim())
    .min(1)
    .max(max)
    .regex(/^[^\p{Cc}]*$/u, 'must not contain control characters');
