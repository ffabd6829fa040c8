/**
 * The payment engine's fault test at full size (see bench/fault-scenario.ts):
 *
 *   npx tsx bench/fault-test.ts --rows 20000 --workers 2
 *
 * Besides the books, it checks the recovery target: the batch completes at most the provider's request timeout plus
 * 15 s after the last fault.
 * `--db-restart MS` also kills the database server (a MariaDB of the run's own) at 30% settled, back after MS;
 * `--provider-outage MS` takes the provider off the network at 60% settled for MS;
 * `--redis-failover MS` runs Redis as a primary, a replica and three Sentinels of the run's own and kills the primary at
 * 45% settled (the Sentinels promote the replica), starting it again after MS.
 */
process.env.NODE_ENV ??= 'development';
process.env.DB_NAME ??= 'welfare_bench_fault';
process.env.REDIS_PREFIX ??= 'welfare-bench-fault';
process.env.LOG_LEVEL ??= 'warn';

import os from 'node:os';
import { parseArgs } from 'node:util';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '20000' },
      workers: { type: 'string', default: '2' },
      'kill-every': { type: 'string', default: '3000' },
      timeout: { type: 'string', default: '1000' },
      'db-restart': { type: 'string' },
      'provider-outage': { type: 'string' },
      'redis-failover': { type: 'string' },
    },
  });
  const load = () => os.loadavg()[0]!.toFixed(1);
  const loadBefore = load();
  const { config } = await import('../config');
  const { runFaultScenario } = await import('./fault-scenario');
  const report = await runFaultScenario(config(), {
    rows: Number(values.rows),
    workers: Number(values.workers),
    killEveryMs: Number(values['kill-every']),
    flushAt: 0.4,
    timeoutShare: 0.05,
    fiveXxShare: 0.05,
    duplicateCallbackShare: 0.2,
    returnShare: 0.01,
    outOfOrderShare: 0.5,
    apiPort: 3520,
    sandboxPort: 4520,
    timeoutMs: Number(values.timeout),
    schedule: [
      ...(values['db-restart'] ? [{ at: 0.3, kind: 'db-restart' as const, downMs: Number(values['db-restart']), hard: true }] : []),
      ...(values['redis-failover'] ? [{ at: 0.45, kind: 'redis-failover' as const, downMs: Number(values['redis-failover']) }] : []),
      ...(values['provider-outage'] ? [{ at: 0.6, kind: 'provider-outage' as const, ms: Number(values['provider-outage']) }] : []),
    ],
    log: (l) => console.log(l),
  });
  console.log(JSON.stringify({ ...report, disagreements: report.disagreements.slice(0, 20) }, null, 2));
  const target = report.providerTimeoutMs / 1000 + 15;
  const recovered = report.afterLastFault <= target;
  console.log(
    `recovery: ${report.afterLastFault.toFixed(1)} s from the last fault to completion (target ≤ ${target} s: provider timeout ` +
      `${report.providerTimeoutMs} ms + 15 s) ${recovered ? 'MET' : 'MISSED'}; whole run ${report.seconds.toFixed(1)} s, ` +
      `${report.kills} kills; load ${loadBefore} → ${load()}`,
  );
  const ok =
    recovered &&
    report.sandbox.acceptedMoreThanOnce === 0 &&
    report.sandbox.accepted === report.payments &&
    report.sandbox.acceptedAmount === report.approvedAmount &&
    report.sandbox.succeededAmount === report.serviceSucceededAmount &&
    report.disagreements.length === 0 &&
    report.strangers.length === 0 &&
    report.neverAccepted.length === 0;
  console.log(ok ? 'PASS: every reference accepted exactly once, totals agree, every payment final, recovered in time' : 'FAIL');
  process.exit(ok ? 0 : 1);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
