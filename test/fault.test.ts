import { expect } from 'chai';
import { config } from '../config';
import { checkInvariants, runFaultScenario } from '../bench/fault-scenario';
import { freePort } from './helpers/ports';
import { ownRunData } from './helpers/run-data';

/**
 * The payment engine's fault test at CI size (bench/fault-test.ts runs it at
 * 20,000): real sandbox, API and worker processes, 5% timeouts after
 * accepting, 5% 5xx before accepting, duplicated and out-of-order callbacks,
 * workers killed with SIGKILL and restarted, the Redis keys deleted once; the
 * batch completes within the provider timeout plus 15 s of the last fault.
 */
describe('payment engine under faults (processes killed, Redis flushed)', function () {
  this.timeout(240_000);
  const base = config();
  const { dbName, redisPrefix, drop } = ownRunData(base, 'fault');

  after(drop);

  it('accepts every reference exactly once at the provider, totals agree, every payment final', async () => {
    const report = await runFaultScenario(
      { ...base, dbName, redisPrefix },
      {
        rows: 400,
        workers: 2,
        killEveryMs: 3000,
        // bounded: on a loaded machine a worker takes seconds to start, and the test must end within its timeout
        maxKills: 2,
        flushAt: 0.3,
        timeoutShare: 0.05,
        fiveXxShare: 0.05,
        duplicateCallbackShare: 0.3,
        returnShare: 0.02,
        outOfOrderShare: 0.5,
        apiPort: await freePort(),
        sandboxPort: await freePort(),
        timeoutMs: 800,
        log: () => undefined,
      },
    );
    expect(report.payments).to.equal(400);
    expect(report.flushed).to.equal(true);
    expect(report.kills).to.be.at.least(1);
    expect(report.sandbox.acceptedMoreThanOnce).to.equal(0);
    expect(report.sandbox.accepted).to.equal(report.payments);
    expect(report.neverAccepted).to.deep.equal([]);
    expect(report.strangers).to.deep.equal([]);
    expect(report.sandbox.acceptedAmount).to.equal(report.approvedAmount);
    expect(report.sandbox.succeededAmount).to.equal(report.serviceSucceededAmount);
    expect(report.disagreements).to.deep.equal([]);
    expect(Object.keys(report.byStatus).every((s) => ['succeeded', 'failed', 'returned'].includes(s))).to.equal(true);
    expect(report.batchStatus).to.match(/^completed/);
    // recovery in seconds with the production leases: done at most the provider timeout plus 15 s after the last fault
    expect(report.afterLastFault).to.be.at.most(report.providerTimeoutMs / 1000 + 15);
  });

  it('rides out the database server killed mid-sending, a Redis failover and the provider off the network: no process crashes, each paid once, the batch completes', async () => {
    // a MariaDB of the run's own (the shared one is never restarted), killed with SIGKILL once a fifth of the batch has
    // settled and started again 2 s later; then the Redis primary (of the run's own, found through three Sentinels)
    // killed, its replica promoted; then the provider's port refuses connections for 3 s
    const report = await runFaultScenario(
      { ...base, dbName, redisPrefix },
      {
        rows: 300,
        workers: 2,
        killEveryMs: 0,
        flushAt: 2,
        schedule: [
          { at: 0.2, kind: 'db-restart', downMs: 2000, hard: true },
          { at: 0.35, kind: 'redis-failover', downMs: 2000 },
          { at: 0.5, kind: 'provider-outage', ms: 3000 },
        ],
        timeoutShare: 0.03,
        fiveXxShare: 0.03,
        duplicateCallbackShare: 0.2,
        returnShare: 0.02,
        outOfOrderShare: 0.3,
        apiPort: await freePort(),
        sandboxPort: await freePort(),
        timeoutMs: 800,
        maxSeconds: 150,
        log: () => undefined,
      },
    );
    expect(report.fired.map((f) => f.atSecond !== null)).to.deep.equal([true, true, true]);
    // the API and the workers reconnect by themselves: none exited for the supervisor to start again
    expect(report.restarted, report.stderrTail.join('\n')).to.deep.equal({});
    expect(checkInvariants(report), report.stderrTail.join('\n')).to.deep.equal([]);
    expect(report.review).to.deep.equal([]);
    expect(report.sandbox.accepted).to.equal(300);
    expect(report.batchStatus).to.match(/^completed/);
  });
});
