import { expect } from 'chai';
import { config } from '../config';
import { runSmsScenario } from '../bench/notify-scenario';
import { freePort } from './helpers/ports';
import { ownRunData } from './helpers/run-data';

/**
 * The notification fault run at CI size (bench/notify-fault-test.ts runs it at 20,000): real sandbox, API and worker
 * processes, 5% of the gateway's answers lost after accepting, 5% 5xx before accepting, duplicated and reordered
 * delivery reports, every worker killed with SIGKILL once mid-sending (and started again), the run's Redis keys deleted
 * once; counted at the gateway's own ledger.
 */
describe('SMS notifications under faults (worker processes killed, Redis keys deleted)', function () {
  // about 40 s on a quiet machine; starting five node processes takes a minute and more on a loaded one
  this.timeout(240_000);
  const base = config();
  const { dbName, redisPrefix, drop } = ownRunData(base, 'notify_fault');

  after(drop);

  it('tells every recipient exactly once, each reference accepted once at the gateway, every message final and agreeing with it', async () => {
    const rows = 1000;
    const report = await runSmsScenario(
      { ...base, dbName, redisPrefix },
      {
        rows,
        workers: 2,
        // slow enough that the kill finds messages waiting and claims in flight
        rate: 300,
        apiPort: await freePort(),
        sandboxPort: await freePort(),
        gatewayTimeoutMs: 800,
        leaseSeconds: 10,
        dispatchMs: 200,
        behaviour: {
          sentMs: [0, 100],
          deliverMs: [0, 300],
          timeoutShare: 0.05,
          timeoutHoldMs: 1600,
          fiveXxShare: 0.05,
          duplicateReportShare: 0.3,
          reorderShare: 0.3,
          reportRetryBaseMs: 200,
          reportConcurrency: 64,
        },
        floor: 0,
        killEveryMs: 60_000,
        maxKills: 1,
        flushAt: 0.5,
        maxSeconds: 180,
        log: () => undefined,
      },
    );
    expect(report.kills).to.equal(1);
    expect(report.flushed).to.equal(true);
    expect(report.ledger.stats.timedOut, 'answers lost after accepting').to.be.above(0);
    expect(report.ledger.stats.fiveXx, '5xx before accepting').to.be.above(0);
    expect(report.ledger.acceptedTwice).to.equal(0);
    expect(report.broken, report.stderrTail.join('\n')).to.deep.equal([]);
    expect(report.messages).to.equal(rows);
    expect((report.byStatus.delivered ?? 0) + (report.byStatus.failed ?? 0)).to.equal(rows);
  });
});
