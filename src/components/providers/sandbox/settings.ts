import { z } from 'zod';
import { FAILURE_CODES, type FailureCode } from '../provider.port';

/** Milliseconds from `[0]` to `[1]` inclusive, drawn uniformly; `[n, n]` is a fixed delay. */
export type Range = readonly [number, number];

/**
 * How the sandbox behaves: settlement, callbacks and faults. Every field can
 * be changed while it runs (`ledger.configure`, `POST /_sandbox/faults`).
 * The defaults inject no fault at all.
 */
export interface SandboxBehaviour {
  /** Delay before each contract request is handled. */
  latencyMs: Range;
  /**
   * When an accepted (PENDING) transfer settles by itself: `null` never (only
   * `ledger.settle` or `POST /_sandbox/transfers/{reference}/settle` move it);
   * `[0, 0]` at once, so that the 201 already carries SUCCEEDED or FAILED.
   */
  settleMs: Range | null;
  /**
   * Share of settling transfers that FAIL, by failure code (the shares add up
   * to at most 1). Besides these, a destination whose account number or wallet
   * id ends in `0000` always fails ACCOUNT_NOT_FOUND, one ending in `9999`
   * ACCOUNT_CLOSED, and one whose registered holder differs from the
   * transfer's accountName NAME_MISMATCH.
   */
  failShares: Partial<Record<FailureCode, number>>;
  /** Share of SUCCEEDED transfers that are later RETURNED (ACCOUNT_CLOSED), after `returnMs`. */
  returnShare: number;
  returnMs: Range;
  /** Share of transfer requests (create and inquiry) answered 503 UNAVAILABLE or 500 (half each) before anything is recorded. */
  fiveXxShare: number;
  /** Share of accepted creates (201 and 200) whose answer is never sent: the socket is destroyed after `timeoutHoldMs`. */
  timeoutShare: number;
  timeoutHoldMs: number;
  /** Contract requests in flight above which the sandbox answers 429 RATE_LIMITED (0: no limit). */
  maxInFlight: number;
  /** Retry-After (seconds) of 429 and 503 answers. */
  retryAfterSeconds: number;
  /** Share of delivered callbacks delivered once more, after `callbackDelayMs`. */
  duplicateCallbackShare: number;
  /** Share of returned transfers whose SUCCEEDED event is held back until the RETURNED event was delivered. */
  outOfOrderShare: number;
  /** Delay before each event's first delivery (jitter). */
  callbackDelayMs: Range;
  /** Backoff between failed deliveries: base, doubling, up to cap, with jitter. */
  callbackRetryBaseMs: number;
  callbackRetryCapMs: number;
  /** An event not delivered (2xx) this long after it happened is dropped. */
  callbackGiveUpMs: number;
  /** Longest wait for a callback answer. */
  callbackTimeoutMs: number;
  /** Callback requests in flight at once; the rest wait in memory. */
  callbackConcurrency: number;
}

export const DEFAULT_BEHAVIOUR: SandboxBehaviour = Object.freeze({
  latencyMs: [0, 0],
  settleMs: null,
  failShares: {},
  returnShare: 0,
  returnMs: [5000, 60000],
  fiveXxShare: 0,
  timeoutShare: 0,
  timeoutHoldMs: 30000,
  maxInFlight: 0,
  retryAfterSeconds: 1,
  duplicateCallbackShare: 0,
  outOfOrderShare: 0,
  callbackDelayMs: [0, 0],
  callbackRetryBaseMs: 500,
  callbackRetryCapMs: 60000,
  callbackGiveUpMs: 3600000,
  callbackTimeoutMs: 10000,
  callbackConcurrency: 64,
} satisfies SandboxBehaviour) as SandboxBehaviour;

const MAX_MS = 24 * 3600 * 1000;

/** A delay given as `n`, `[min, max]` or the text `"n"` / `"min-max"`. */
export const rangeSchema = z
  .union([
    z.int().min(0).max(MAX_MS),
    z.tuple([z.int().min(0).max(MAX_MS), z.int().min(0).max(MAX_MS)]).readonly(),
    z.string().regex(/^\s*\d{1,8}\s*(-\s*\d{1,8}\s*)?$/, 'must be n or min-max (milliseconds)'),
  ])
  .transform((v, ctx): Range => {
    let pair: [number, number];
    if (typeof v === 'number') pair = [v, v];
    else if (typeof v === 'string') {
      const parts = v.split('-').map((p) => Number(p.trim()));
      pair = [parts[0]!, parts[1] ?? parts[0]!];
    } else pair = [v[0], v[1]];
    if (pair[0] > pair[1]) {
      ctx.addIssue({ code: 'custom', message: 'min must not exceed max' });
      return z.NEVER;
    }
    if (pair[1] > MAX_MS) {
      ctx.addIssue({ code: 'custom', message: 'at most one day' });
      return z.NEVER;
    }
    return pair;
  });

const share = z.number().min(0).max(1);

/** Failure shares given as an object, a number (all REJECTED) or the text `"0.02"` / `"NAME_MISMATCH:0.01,REJECTED:0.02"`. */
export const failSharesSchema = z
  .union([share, z.partialRecord(z.enum(FAILURE_CODES), share), z.string()])
  .transform((v, ctx): Partial<Record<FailureCode, number>> => {
    let out: Partial<Record<FailureCode, number>>;
    if (typeof v === 'number') out = v > 0 ? { REJECTED: v } : {};
    else if (typeof v === 'object') out = { ...v };
    else {
      out = {};
      const text = v.trim();
      if (/^\d*\.?\d+$/.test(text)) {
        if (Number(text) > 0) out.REJECTED = Number(text);
      } else if (text !== '') {
        for (const part of text.split(',')) {
          const m = /^\s*([A-Z_]+)\s*:\s*(\d*\.?\d+)\s*$/.exec(part);
          if (!m || !(FAILURE_CODES as readonly string[]).includes(m[1]!)) {
            ctx.addIssue({ code: 'custom', message: `"${part.trim()}" is not CODE:share with a contract failure code` });
            return z.NEVER;
          }
          out[m[1] as FailureCode] = Number(m[2]);
        }
      }
    }
    const values = Object.values(out);
    if (values.some((s) => !(s >= 0 && s <= 1))) {
      ctx.addIssue({ code: 'custom', message: 'each share must be between 0 and 1' });
      return z.NEVER;
    }
    if (values.reduce((a, b) => a + b, 0) > 1 + 1e-9) {
      ctx.addIssue({ code: 'custom', message: 'failure shares add up to more than 1' });
      return z.NEVER;
    }
    return out;
  });

const ms = z.int().min(0).max(MAX_MS);

/** A change of behaviour: any subset of the fields, validated (POST /_sandbox/faults and `ledger.configure`). */
export const behaviourPatchSchema = z.strictObject({
  latencyMs: rangeSchema.optional(),
  settleMs: rangeSchema.nullable().optional(),
  failShares: failSharesSchema.optional(),
  returnShare: share.optional(),
  returnMs: rangeSchema.optional(),
  fiveXxShare: share.optional(),
  timeoutShare: share.optional(),
  timeoutHoldMs: ms.optional(),
  maxInFlight: z.int().min(0).max(1_000_000).optional(),
  retryAfterSeconds: z.int().min(0).max(3600).optional(),
  duplicateCallbackShare: share.optional(),
  outOfOrderShare: share.optional(),
  callbackDelayMs: rangeSchema.optional(),
  callbackRetryBaseMs: z.int().min(1).max(MAX_MS).optional(),
  callbackRetryCapMs: z.int().min(1).max(MAX_MS).optional(),
  callbackGiveUpMs: ms.optional(),
  callbackTimeoutMs: z.int().min(1).max(MAX_MS).optional(),
  callbackConcurrency: z.int().min(1).max(10_000).optional(),
});

/** What a caller may give: ranges as a number, a pair or text; failure shares as a number, an object or text. */
export type BehaviourPatch = z.input<typeof behaviourPatchSchema>;

/** The behaviour `base` changed by `patch`; throws a readable Error on an invalid patch. */
export function applyPatch(base: SandboxBehaviour, patch: unknown): SandboxBehaviour {
  const parsed = behaviourPatchSchema.safeParse(patch);
  if (!parsed.success) {
    throw new Error(parsed.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; '));
  }
  const next: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(parsed.data)) if (v !== undefined) next[k] = v;
  const out = next as unknown as SandboxBehaviour;
  if (out.callbackRetryCapMs < out.callbackRetryBaseMs) throw new Error('callbackRetryCapMs must not be below callbackRetryBaseMs');
  return Object.freeze(out);
}
