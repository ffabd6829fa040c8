import { z } from 'zod';
import { pageOf, pageQuery } from '../../platform/http/pagination';
import { boolQuery } from '../../platform/http/schemas';

export const importStatus = z.enum(['queued', 'running', 'completed', 'failed']);

export const rollImportSchema = z
  .object({
    id: z.string(),
    fileName: z.string(),
    format: z.enum(['csv', 'xlsx']),
    fileSha256: z.string(),
    fileSize: z.number().int(),
    status: importStatus.describe('queued → running → completed | failed (a failed import imported nothing)'),
    phase: z.string().nullable().describe('While running: reading, checking, merging'),
    progress: z.object({ rowsRead: z.number().int(), rowsValid: z.number().int(), rowsInvalid: z.number().int() }),
    result: z.object({
      beneficiariesCreated: z.number().int(),
      enrolmentsCreated: z.number().int(),
      enrolmentsUpdated: z.number().int(),
      enrolmentsUnchanged: z.number().int(),
      nameMismatches: z.number().int().describe("Accepted rows whose account name differs from the person's name (flagged for review)"),
    }),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    uploadedBy: z.number().int(),
    scopeAreaId: z.number().int().nullable(),
    createdAt: z.string(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
  })
  .meta({ id: 'RollImport' });

export const problemSchema = z
  .object({
    row: z.number().int().describe('Row in the file (1 = header, 0 = the file as a whole)'),
    column: z.string().nullable(),
    code: z.string(),
    message: z.string(),
  })
  .meta({ id: 'RollImportProblem' });

export const listImportsQuery = z.strictObject({
  ...pageQuery,
  status: importStatus.optional(),
  mine: boolQuery.optional().describe('Only my uploads'),
});

export const importPage = pageOf(rollImportSchema).meta({ id: 'RollImportPage' });
export const problemPage = pageOf(problemSchema).meta({ id: 'RollImportProblemPage' });
/** Narrows an import's problems; the CSV download takes the same filter. */
export const problemFilterQuery = {
  code: z
    .string()
    .regex(/^[A-Z][A-Z0-9_]{0,39}$/, 'must be a problem code, e.g. NATIONAL_ID_FORMAT')
    .optional()
    .describe('Only problems with this code'),
  column: z.string().min(1).max(64).optional().describe('Only problems in this column of the file (as the problem names it)'),
};

export const problemsQuery = z.strictObject({ ...pageQuery, ...problemFilterQuery });
export const problemsCsvQuery = z.strictObject(problemFilterQuery);
