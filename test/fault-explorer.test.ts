import { expect } from 'chai';
import { config } from '../config';
import { describeRun, drawRun, exploreSeed, prng } from '../bench/fault-explorer';
import { checkInvariants, type FaultReport } from '../bench/fault-scenario';
import { freePort } from './helpers/ports';
import { ownRunData } from './helpers/run-data';

/**
 * The seeded fault explorer (bench/fault-explorer.ts runs 50 seeds) on a few fixed seeds at a small size: each draws
 * its faults (worker kills, Redis flushes, a database server restart, the provider off the network, and the sandbox's
 * timeouts, 5xx, duplicate and out-of-order callbacks, returns) and the run must keep every invariant.
 */
describe('fault explorer: fixed seeds', function () {
  this.timeout(300_000);
  const base = config();
  const { dbName, redisPrefix, drop } = ownRunData(base, 'explore');

  after(drop);

  it('draws the same schedule from the same seed, and different ones from different seeds', () => {
    expect(drawRun(9)).to.deep.equal(drawRun(9));
    expect(new Set(Array.from({ length: 20 }, (_, i) => describeRun(drawRun(i + 1)))).size).to.be.greaterThan(15);
    const r = prng(1);
    expect(Array.from({ length: 1000 }, r).every((x) => x >= 0 && x < 1)).to.equal(true);
  });

  it('names each broken invariant of a report', () => {
    const held: FaultReport = {
      payments: 2,
      approvedAmount: 300,
      seconds: 1,
      timedOut: false,
      kills: 0,
      flushed: false,
      afterLastFault: 1,
      providerTimeoutMs: 1000,
      fired: [],
      restarted: {},
      stderrLines: 0,
      stderrTail: [],
      byStatus: { succeeded: 1, failed: 1 },
      amounts: { paid: 100, failed: 200, returned: 0, unresolved: 0 },
      review: [],
      audit: { ok: true, checked: 3, firstBroken: null },
      sandbox: { accepted: 2, acceptedMoreThanOnce: 0, acceptedAmount: 300, succeededAmount: 100 },
      serviceSucceededAmount: 100,
      disagreements: [],
      strangers: [],
      neverAccepted: [],
      batchStatus: 'completed_with_failures',
    };
    expect(checkInvariants(held)).to.deep.equal([]);
    const broken = checkInvariants({
      ...held,
      byStatus: { succeeded: 1, review: 1 },
      amounts: { paid: 100, failed: 0, returned: 0, unresolved: 150 },
      review: [{ reference: 'B', reason: null }],
      sandbox: { ...held.sandbox, acceptedMoreThanOnce: 1, succeededAmount: 250 },
      disagreements: ['A: succeeded / FAILED'],
      neverAccepted: ['C'],
      audit: { ok: false, checked: 3, firstBroken: 'HASH_MISMATCH at 2' },
      batchStatus: 'processing',
    });
    expect(broken.join('\n')).to.match(/accepted more than once/);
    expect(broken.join('\n')).to.match(/in review without a reason/);
    expect(broken.join('\n')).to.match(/disagreement/);
    expect(broken.join('\n')).to.match(/never accepted by the provider and not in review/);
    expect(broken.join('\n')).to.match(/approved 300 đ ≠ paid 100/);
    expect(broken.join('\n')).to.match(/provider succeeded 250 đ, service paid 100 đ/);
    expect(broken.join('\n')).to.match(/audit chain broken/);
    expect(checkInvariants({ ...held, batchStatus: 'processing' })).to.deep.equal(['batch processing, not completed']);
    expect(checkInvariants({ ...held, byStatus: { succeeded: 1, unknown: 1 } })[0]).to.match(/neither final nor in review/);
  });

  // 23: the database server killed, then Redis flushed, with 10% timeouts; 28: the provider off the network, then a
  // worker killed, with 5xx, out-of-order callbacks and returns (bench/fault-explorer.ts --seed N shows the schedule)
  for (const seed of [23, 28]) {
    it(`seed ${seed} keeps every invariant: ${describeRun(drawRun(seed))}`, async () => {
      const r = await exploreSeed({ ...base, dbName, redisPrefix }, seed, {
        rows: 100,
        workers: 2,
        apiPort: await freePort(),
        sandboxPort: await freePort(),
        maxSeconds: 120,
      });
      expect(r.broken, (r.report?.stderrTail ?? []).join('\n')).to.deep.equal([]);
      expect(r.report!.payments).to.equal(100);
    });
  }
});
