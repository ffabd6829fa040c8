import { z } from 'zod';
import { JOB_STATES } from './operations.service';

export const queueParams = z.object({
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{0,63}$/, 'must be a queue name from GET /admin/queues')
    .describe('A queue name, e.g. payments.dispatch or payments.p1'),
});

const jobState = z.enum(JOB_STATES);

const counts = z.object(
  Object.fromEntries(JOB_STATES.map((s) => [s, z.number().int().min(0)])) as Record<(typeof JOB_STATES)[number], z.ZodNumber>,
);

export const queueSchema = z
  .object({
    name: z.string(),
    kind: z.enum(['job', 'provider']).describe('job: a job of src/job-catalog.ts; provider: one provider’s send and inquiry chunks'),
    providerId: z.number().int().nullable(),
    providerName: z.string().nullable(),
    providerPaused: z.boolean().nullable().describe('The provider’s own pause (no new sends; inquiries go on); null for job queues'),
    paused: z.boolean().describe('The queue itself is paused: no worker takes any of its jobs, inquiries included'),
    counts: counts.describe('Jobs per Bull state; paused counts the waiting jobs of a paused queue'),
  })
  .meta({ id: 'Queue' });

export const queueList = z.object({ items: z.array(queueSchema) }).meta({ id: 'QueueList' });

export const jobsQuery = z.object({
  state: jobState.default('failed'),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce
    .number()
    .int()
    .min(0)
    .max(1_000_000)
    .default(0)
    .describe('Jobs to skip in that order, for the next page; the queue’s counts (GET /admin/queues) tell how many there are'),
});

export const jobSchema = z
  .object({
    id: z.string(),
    state: jobState,
    name: z.string(),
    data: z
      .record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]))
      .describe('The payload’s ids (batchId, importId, kind, fromSeq, toSeq, …); any other key shows as [hidden]'),
    failedReason: z.string().nullable().describe('The last error message, digit runs masked'),
    attemptsMade: z.number().int(),
    attempts: z.number().int(),
    createdAt: z.string(),
    processedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    dueAt: z.string().nullable().describe('Delayed jobs: when they become due'),
  })
  .meta({ id: 'QueueJob' });

export const jobList = z.object({ items: z.array(jobSchema) }).meta({ id: 'QueueJobList' });
