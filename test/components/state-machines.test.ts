import { expect } from 'chai';
import fc from 'fast-check';
import type { BatchAction, BatchStatus } from '../../src/components/batches/batch-states';
import { fromProvider, MAY_BECOME, OPEN_STATUSES, type PaymentStatus } from '../../src/components/payments/payment-states';
import type { TransferStatus } from '../../src/components/providers/provider.port';
import { createBatch, crew, enrol, makeProgramme, type Crew } from '../helpers/batches';
import { areaId, freshTotp } from '../helpers/factories';
import { testWorker } from '../helpers/worker';
import { get, post } from '../helpers/http';

/** What the engine does with one provider word (engine answer, inquiry, callback, statement): MAY_BECOME or nothing. */
function apply(current: PaymentStatus, word: TransferStatus): PaymentStatus {
  const target = fromProvider(word) as keyof typeof MAY_BECOME;
  return MAY_BECOME[target].includes(current) ? target : current;
}

/** Every history a provider may have for one transfer, in the order it happened there. */
const HISTORIES: TransferStatus[][] = [
  ['PENDING'],
  ['PENDING', 'SUCCEEDED'],
  ['PENDING', 'FAILED'],
  ['PENDING', 'SUCCEEDED', 'RETURNED'],
  ['SUCCEEDED'],
  ['FAILED'],
  ['SUCCEEDED', 'RETURNED'],
];

/** A delivery of a history: its words in any order, some repeated, the last word of the history always among them. */
const delivery = fc.constantFrom(...HISTORIES).chain((history) =>
  fc
    .tuple(fc.subarray(history), fc.array(fc.constantFrom(...history), { maxLength: 4 }))
    .chain(([some, repeats]) =>
      fc.shuffledSubarray([...some, ...repeats, history[history.length - 1]!], { minLength: 1 + some.length + repeats.length }),
    )
    .map((words) => ({ history, words })),
);

describe('state machines: property-based tests of the transition tables', () => {
  describe('payment: what a provider says moves a payment only forwards', () => {
    it('ends where the provider’s history ends, whatever the order and repetition of its words and whatever open state it starts from', () => {
      fc.assert(
        fc.property(delivery, fc.constantFrom(...OPEN_STATUSES), ({ history, words }, start) => {
          const end = words.reduce(apply, start);
          expect(end, `${start} + ${words.join(',')}`).to.equal(fromProvider(history[history.length - 1]!));
        }),
        { numRuns: 2000 },
      );
    });

    it('never sends a payment back to pending or sending, never leaves failed or returned, and leaves succeeded only for returned', () => {
      const ALL: PaymentStatus[] = [
        'pending',
        'sending',
        'unknown',
        'sent',
        'succeeded',
        'failed',
        'returned',
        'review',
        'held',
        'excluded',
        'cancelled',
      ];
      fc.assert(
        fc.property(
          fc.constantFrom(...ALL),
          fc.array(fc.constantFrom<TransferStatus>('PENDING', 'SUCCEEDED', 'FAILED', 'RETURNED'), { maxLength: 8 }),
          (start, words) => {
            let s = start;
            for (const w of words) {
              const next = apply(s, w);
              if (next !== s) {
                expect(['pending', 'sending'], `${s} → ${next}`).to.not.include(next);
                expect(['failed', 'returned', 'held', 'excluded', 'cancelled'], `${s} → ${next}`).to.not.include(s);
                if (s === 'succeeded') expect(next).to.equal('returned');
              }
              s = next;
            }
          },
        ),
        { numRuns: 2000 },
      );
    });
  });

  describe('batch: the API follows the documented lifecycle for any sequence of requests', () => {
    let c: Crew;
    before(async () => {
      // the account check that follows creation runs in the worker
      await testWorker();
      c = await crew();
    });

    it('moves exactly when the lifecycle allows, refuses with 409 BATCH_ILLEGAL_TRANSITION otherwise, and records each move once', async function () {
      // each run builds a programme, a person and a batch, then sends up to six requests
      this.timeout(180_000);
      await fc.assert(
        fc.asyncProperty(fc.array(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.nat()), { minLength: 1, maxLength: 8 }), async (choices) => {
          const prog = await makeProgramme();
          await enrol(prog.id, { area: '00001' });
          const b = await createBatch(c.staff.token, { programmeId: prog.id, period: '2024-09', areaId: await areaId('01') });
          let model: BatchStatus = 'draft';
          const moves: [BatchStatus, BatchStatus][] = [];
          for (const [kind, pick] of choices) {
            // most steps take a move the lifecycle allows, cancel (which ends the run) rarely, so that runs reach the later
            // statuses; one step in five asks for any action, allowed or not
            const allowed = ACTIONS.filter((a) => LIFECYCLE[a].from.includes(model) && (a !== 'cancel' || kind === 2));
            const action = kind >= 2 && allowed.length ? allowed[pick % allowed.length]! : ACTIONS[pick % ACTIONS.length]!;
            const r = await request(c, b, action);
            const legal = LIFECYCLE[action].from.includes(model);
            if (!legal) {
              expect([r.status, r.body.error?.code], `${action} from ${model}: ${JSON.stringify(r.body)}`).to.deep.equal([
                409,
                'BATCH_ILLEGAL_TRANSITION',
              ]);
              continue;
            }
            expect(r.status, `${action} from ${model}: ${JSON.stringify(r.body)}`).to.equal(200);
            const to = LIFECYCLE[action].to;
            moves.push([model, to]);
            model = to;
            expect(r.body.status).to.equal(model);
          }
          expect((await get(`/batches/${b.id}`, c.staff.token)).body.status).to.equal(model);
          const log = await get(`/batches/${b.id}/transitions`, c.staff.token);
          const recorded = (log.body as { from: BatchStatus | null; to: BatchStatus }[]).map((t) => [t.from, t.to]);
          expect(recorded).to.deep.equal([[null, 'draft'], ...moves]);
        }),
        { numRuns: 20, endOnFailure: true },
      );
    });
  });
});

// release starts paying (and completes by itself): the engine's own tests cover it; the rest is driven here
const ACTIONS = ['submit', 'approve', 'reject', 'cancel', 'schedule'] as const satisfies readonly BatchAction[];

/**
 * The lifecycle as docs/batches.md states it, written out here independently of the service's TRANSITIONS, so that a
 * change to the table that breaks the documented lifecycle fails this test.
 */
const LIFECYCLE: Record<(typeof ACTIONS)[number], { from: BatchStatus[]; to: BatchStatus }> = {
  submit: { from: ['draft', 'rejected'], to: 'submitted' },
  approve: { from: ['submitted'], to: 'approved' },
  reject: { from: ['submitted'], to: 'rejected' },
  cancel: { from: ['draft', 'submitted', 'rejected', 'approved', 'scheduled'], to: 'cancelled' },
  schedule: { from: ['approved', 'scheduled'], to: 'scheduled' },
};

async function request(c: Crew, b: { id: string; itemCount: number; totalAmount: number }, action: (typeof ACTIONS)[number]) {
  switch (action) {
    case 'approve':
      return post(
        `/batches/${b.id}/approve`,
        { itemCount: b.itemCount, totalAmount: b.totalAmount, totp: await freshTotp(c.approver) },
        c.approver.token,
      );
    case 'reject':
      return post(`/batches/${b.id}/reject`, { reason: 'kiểm tra lại' }, c.approver.token);
    case 'cancel':
      return post(`/batches/${b.id}/cancel`, { reason: 'hủy thử' }, c.staff.token);
    case 'schedule':
      return post(`/batches/${b.id}/schedule`, { at: new Date(Date.now() + 3_600_000).toISOString() }, c.staff.token);
    default:
      return post(`/batches/${b.id}/submit`, {}, c.staff.token);
  }
}
