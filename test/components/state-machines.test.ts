import { expect } from 'chai';
import fc from 'fast-check';
import type { BatchAction, BatchStatus } from '../../src/components/batches/batch-states';
import { fromProvider, MAY_BECOME, OPEN_STATUSES, type PaymentStatus } from '../../src/components/payments/payment-states';
import type { TransferStatus } from '../../src/components/providers/provider.port';
import { createBatch, crew, enrol, makeProgramme, type Crew } from '../helpers/batches';
import type { ExceptionStatus, Resolution } from '../../src/components/reconciliation/recon-states';
import type { Principal } from '../../src/platform/security';
import { testApp } from '../helpers/app';
import { areaId, freshTotp, makeUser, uniq, type TestUser } from '../helpers/factories';
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

/**
 * The exception workflow as docs/reconciliation.md states it, written out here independently of exception-workflow.ts:
 * assign and comment keep the status (assign refused once resolved); a resolution other than a write-off resolves an
 * open exception; a write-off is proposed (writeoff_proposed) and then confirmed by someone else (resolved; FOUR_EYES
 * for the proposer) or rejected (open again); nothing is resolved twice.
 */
type ExceptionStep =
  | { kind: 'assign'; by: 0 | 1 }
  | { kind: 'comment'; by: 0 | 1 }
  | { kind: 'resolve'; by: 0 | 1; resolution: Resolution }
  | { kind: 'confirm'; by: 0 | 1 }
  | { kind: 'reject'; by: 0 | 1 };

interface ExceptionModel {
  status: ExceptionStatus;
  proposer: 0 | 1 | null;
}

/** The model's answer to one step: the next state and the note it records, or the error code it is refused with. */
function exceptionStep(m: ExceptionModel, step: ExceptionStep): { next: ExceptionModel; note: string } | { refused: string } {
  switch (step.kind) {
    case 'assign':
      return m.status === 'resolved' ? { refused: 'EXCEPTION_RESOLVED' } : { next: m, note: 'assigned' };
    case 'comment':
      return { next: m, note: 'comment' };
    case 'resolve':
      if (m.status === 'resolved') return { refused: 'EXCEPTION_RESOLVED' };
      if (m.status === 'writeoff_proposed') return { refused: 'WRITEOFF_PENDING' };
      // `resent` must name the batch that pays again; the steps here name none
      if (step.resolution === 'resent') return { refused: 'BATCH_REQUIRED' };
      if (step.resolution === 'written_off') return { next: { status: 'writeoff_proposed', proposer: step.by }, note: 'writeoff_proposed' };
      return { next: { status: 'resolved', proposer: null }, note: 'resolved' };
    case 'confirm':
      if (m.status !== 'writeoff_proposed') return { refused: 'NO_WRITEOFF_PROPOSED' };
      if (m.proposer === step.by) return { refused: 'FOUR_EYES' };
      return { next: { status: 'resolved', proposer: m.proposer }, note: 'writeoff_confirmed' };
    case 'reject':
      if (m.status !== 'writeoff_proposed') return { refused: 'NO_WRITEOFF_PROPOSED' };
      return { next: { status: 'open', proposer: null }, note: 'writeoff_rejected' };
  }
}

const who = fc.constantFrom<0 | 1>(0, 1);
const exceptionSteps = fc.array(
  fc.oneof(
    fc.record({ kind: fc.constant('assign' as const), by: who }),
    fc.record({ kind: fc.constant('comment' as const), by: who }),
    // resolutions weighted towards the write-off, so that runs reach its confirmation and rejection
    fc.record({
      kind: fc.constant('resolve' as const),
      by: who,
      resolution: fc.constantFrom<Resolution>('written_off', 'written_off', 'written_off', 'refunded', 'corrected', 'no_action', 'resent'),
    }),
    fc.record({ kind: fc.constant('confirm' as const), by: who }),
    fc.record({ kind: fc.constant('reject' as const), by: who }),
  ),
  { minLength: 1, maxLength: 8 },
);

describe('state machines: the reconciliation exception workflow', () => {
  let people: [TestUser, TestUser];
  let area: { id: number; path: string };
  let statement: number | null = null;
  let runId: number | null = null;

  // the exceptions made here are not left for tests that count open exceptions
  after(async () => {
    const { infra } = await testApp();
    if (runId !== null) {
      await infra.ds.query('DELETE n FROM recon_exception_notes n JOIN recon_exceptions e ON e.id = n.exception_id WHERE e.run_id = ?', [
        runId,
      ]);
      await infra.ds.query('DELETE FROM recon_exceptions WHERE run_id = ?', [runId]);
      await infra.ds.query('DELETE FROM recon_runs WHERE id = ?', [runId]);
    }
    if (statement !== null) await infra.ds.query('DELETE FROM statements WHERE id = ?', [statement]);
  });

  before(async () => {
    people = [await makeUser(['staff']), await makeUser(['staff'])];
    const { infra } = await testApp();
    area = ((await infra.ds.query("SELECT id, path FROM areas WHERE code = '01'")) as { id: number; path: string }[])[0]!;
  });

  it('moves exactly as the documented workflow allows for any sequence of steps, versioned, noted and audited once each', async function () {
    this.timeout(120_000);
    const { infra, services } = await testApp();
    const flow = services.reconciliation.exceptions;
    const principal = (u: TestUser): Principal => ({
      userId: u.id,
      username: u.username,
      roles: u.roles,
      areaId: u.areaId,
      areaPath: null,
      sessionId: 'test',
      stage: 'full',
    });
    const actor = (u: TestUser) => ({ userId: u.id, username: u.username, roles: u.roles, requestId: null, source: 'test' });
    const [provider] = (await infra.ds.query("SELECT id FROM providers WHERE name = 'sandbox'")) as { id: number }[];
    // matched: a statement left `received` would wait for a worker for ever in the eyes of later tests
    const st = (await infra.ds.query(
      "INSERT INTO statements (provider_id, business_date, source, sha256, received_by_name, status) VALUES (?, '2031-05-02', 'upload', ?, 'test', 'matched')",
      [provider!.id, 'e'.repeat(64)],
    )) as { insertId: number };
    statement = st.insertId;
    const run = (await infra.ds.query(
      "INSERT INTO recon_runs (provider_id, business_date, statement_id, status, started_by_name) VALUES (?, '2031-05-02', ?, 'done', 'test')",
      [provider!.id, st.insertId],
    )) as { insertId: number };
    runId = run.insertId;
    let line = 0;
    await fc.assert(
      fc.asyncProperty(exceptionSteps, async (steps) => {
        line += 1;
        const ins = (await infra.ds.query(
          `INSERT INTO recon_exceptions (run_id, provider_id, business_date, category, reference, batch_id, seq, line_no, area_id, area_path)
           VALUES (?, ?, '2031-05-02', 'unknown', ?, 0, 0, ?, ?, ?)`,
          [run.insertId, provider!.id, uniq('REF'), line, area.id, area.path],
        )) as { insertId: number };
        const id = String(ins.insertId);
        let model: ExceptionModel = { status: 'open', proposer: null };
        const notes: string[] = [];
        for (const step of steps) {
          const u = people[step.by];
          const expected = exceptionStep(model, step);
          const call = (): Promise<{ status: string; version: number }> => {
            switch (step.kind) {
              case 'assign':
                return flow.assign(actor(u), principal(u), id, people[1 - step.by]!.id);
              case 'comment':
                return flow.comment(actor(u), principal(u), id, 'xem lại');
              case 'resolve':
                return flow.resolve(actor(u), principal(u), id, { resolution: step.resolution, note: 'đã xử lý' });
              case 'confirm':
                return flow.confirmWriteOff(actor(u), principal(u), id, 'đồng ý');
              case 'reject':
                return flow.rejectWriteOff(actor(u), principal(u), id, 'không đồng ý');
            }
          };
          const label = `${step.kind}${'resolution' in step ? `(${step.resolution})` : ''} by ${step.by} from ${model.status}`;
          const outcome = await call().then(
            (v) => ({ ok: v }),
            (e: { code?: string }) => ({ refused: e.code ?? String(e) }),
          );
          if ('refused' in expected) {
            expect(outcome, label).to.deep.equal({ refused: expected.refused });
            continue;
          }
          expect('ok' in outcome, `${label}: ${JSON.stringify(outcome)}`).to.equal(true);
          model = expected.next;
          notes.push(expected.note);
          expect((outcome as { ok: { status: string; version: number } }).ok.status, label).to.equal(model.status);
        }
        const [row] = (await infra.ds.query('SELECT status, version FROM recon_exceptions WHERE id = ?', [id])) as {
          status: string;
          version: number;
        }[];
        // one version per step taken, none for a refused one
        expect([row!.status, Number(row!.version)]).to.deep.equal([model.status, 1 + notes.length]);
        const kept = (await infra.ds.query('SELECT kind FROM recon_exception_notes WHERE exception_id = ? ORDER BY id', [id])) as {
          kind: string;
        }[];
        expect(kept.map((n) => n.kind)).to.deep.equal(notes);
        const [audited] = (await infra.ds.query(
          "SELECT COUNT(*) AS n FROM audit_events WHERE entity_type = 'recon_exception' AND entity_id = ?",
          [id],
        )) as { n: string }[];
        expect(Number(audited!.n)).to.equal(notes.length);
      }),
      { numRuns: 60, endOnFailure: true },
    );
  });
});
