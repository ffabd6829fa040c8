/**
 * The notification fault run at full size (bench/notify-scenario.ts): 20,000 paid payments' messages sent by worker
 * processes through the sandbox gateway (its own process) while it loses 5% of its answers after accepting, answers
 * 5% with 5xx before accepting, duplicates a fifth of its reports and holds back the SENT report of a third until the
 * final one went out; every worker is killed with SIGKILL (and started again) every few seconds while messages wait,
 * and the run's Redis keys are deleted once. Counted at the gateway's own ledger: every reference accepted once,
 * every recipient told once, every message final and agreeing with the ledger.
 *
 *   flock /tmp/bench.lock npx tsx bench/notify-fault-test.ts --rows 20000 --workers 2
 */
process.env.NODE_ENV ??= 'development';
process.env.DB_NAME ??= 'welfare_bench_notify_fault';
process.env.REDIS_PREFIX ??= 'welfare-bench-notify-fault';
process.env.LOG_LEVEL ??= 'warn';

import { parseArgs } from 'node:util';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '20000' },
      workers: { type: 'string', default: '2' },
      rate: { type: 'string', default: '2000' },
      'kill-every': { type: 'string', default: '3000' },
      timeout: { type: 'string', default: '1000' },
      echo: { type: 'boolean', default: false },
    },
  });
  const { config } = await import('../config');
  const { runSmsScenario } = await import('./notify-scenario');
  const timeoutMs = Number(values.timeout);
  const r = await runSmsScenario(config(), {
    rows: Number(values.rows),
    workers: Number(values.workers),
    rate: Number(values.rate),
    apiPort: 3540,
    sandboxPort: 4540,
    gatewayTimeoutMs: timeoutMs,
    // longer than a claim takes to be sent (its size at the rate, plus the gateway's timeout), shorter than production
    leaseSeconds: 10,
    dispatchMs: 200,
    behaviour: {
      sentMs: [0, 100],
      deliverMs: [0, 400],
      timeoutShare: 0.05,
      timeoutHoldMs: timeoutMs * 2,
      fiveXxShare: 0.05,
      duplicateReportShare: 0.2,
      reorderShare: 0.3,
      reportRetryBaseMs: 200,
      reportConcurrency: 256,
    },
    floor: 0,
    killEveryMs: Number(values['kill-every']),
    flushAt: 0.4,
    maxSeconds: 900,
    log: (l) => console.log(l),
    echo: values.echo,
  });
  const verdict = (ok: boolean, what: string) => console.log(`${ok ? 'PASS' : 'FAIL'}: ${what}`);
  const has = (word: string) => r.broken.some((b) => b.includes(word));
  console.log(
    `${r.messages} messages: none waiting after ${r.toAccepted.toFixed(1)} s, all final after ${r.toFinal.toFixed(1)} s ` +
      `(${r.afterLastFault.toFixed(1)} s after the last fault); ${r.kills} kills (every worker and one alone in turn), Redis keys deleted: ${r.flushed}`,
  );
  console.log(
    `load average (1 min): ${r.load.before.toFixed(2)} before, ${r.load.after.toFixed(2)} after; CPU seconds ${JSON.stringify(r.cpu)}`,
  );
  console.log(`gateway: ${JSON.stringify(r.ledger.stats)}; messages ${JSON.stringify(r.byStatus)}`);
  console.log(`service processes started again after exiting by themselves: ${JSON.stringify(r.restarted)}; stderr lines ${r.stderrLines}`);
  verdict(!has('accepted more than once'), `every reference accepted once at the gateway (acceptedTwice ${r.ledger.acceptedTwice})`);
  verdict(!has('told more than once') && !has('never told'), 'every recipient told exactly once');
  verdict(!has('no message of the run'), 'nothing at the gateway that is not a message of the run');
  verdict(!has('not final') && !has('not finished'), 'every message final (delivered or failed)');
  verdict(!has('disagreeing'), "every message's status agrees with the gateway's ledger");
  verdict(r.kills > 0 && r.flushed, 'the faults happened (workers killed, Redis keys deleted)');
  if (r.broken.length) console.log(r.broken.join('\n'));
  const ok = r.broken.length === 0 && r.kills > 0 && r.flushed;
  console.log(ok ? 'PASS' : 'FAIL');
  process.exit(ok ? 0 : 1);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
