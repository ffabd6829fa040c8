/**
 * SMS sending rate, as production runs it (bench/notify-scenario.ts): the sandbox gateway, the API taking the
 * delivery reports and --workers worker processes each in a process of its own; N recipients' paid payments'
 * messages sent through the sandbox gateway configured at --rate messages a second. First the floor: the sandbox
 * gateway alone taking --floor sends from one keep-alive client at full speed, in the same run, so that the figure
 * can be judged on another machine. Prints messages a second to acceptance and to delivery, the load, each process's
 * CPU, and checks at the gateway's ledger that each reference was accepted once.
 *
 *   flock /tmp/bench.lock npx tsx bench/notify-send.ts --rows 20000 --rate 2000
 */
process.env.NODE_ENV ??= 'development';
process.env.DB_NAME ??= 'welfare_bench_notify_send';
process.env.REDIS_PREFIX ??= 'welfare-bench-notify-send';
process.env.LOG_LEVEL ??= 'warn';

import { parseArgs } from 'node:util';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '20000' },
      rate: { type: 'string', default: '2000' },
      workers: { type: 'string', default: '2' },
      floor: { type: 'string', default: '10000' },
      'report-slots': { type: 'string', default: '256' },
      echo: { type: 'boolean', default: false },
      // BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the service processes; --graceful lets them write it
      graceful: { type: 'boolean', default: false },
    },
  });
  const { config } = await import('../config');
  const { runSmsScenario } = await import('./notify-scenario');
  const rows = Number(values.rows);
  const r = await runSmsScenario(config(), {
    rows,
    workers: Number(values.workers),
    rate: Number(values.rate),
    apiPort: 3530,
    sandboxPort: 4530,
    gatewayTimeoutMs: 5000,
    leaseSeconds: 60,
    dispatchMs: 200,
    // a gateway's delivery workers: enough reports in flight for two a message at the rate
    behaviour: { sentMs: [0, 50], deliverMs: [0, 200], reportConcurrency: Number(values['report-slots']) },
    floor: Number(values.floor),
    killEveryMs: 0,
    flushAt: 2,
    maxSeconds: 600,
    log: (l) => console.log(l),
    echo: values.echo,
    graceful: values.graceful,
  });
  console.log(`floor (the sandbox gateway alone, one keep-alive client, 64 in flight): ${r.floorPerSecond ?? '-'} sends/s`);
  console.log(
    `accepted: ${rows} in ${r.toAccepted.toFixed(2)} s = ${Math.round(rows / r.toAccepted)} messages/s ` +
      `(10%-90%: ${r.steadyPerSecond}/s; gateway rate ${values.rate}/s)`,
  );
  console.log(`delivered or failed (reports applied): ${r.toFinal.toFixed(2)} s = ${Math.round(rows / r.toFinal)} messages/s`);
  console.log(`load average (1 min): ${r.load.before.toFixed(2)} before, ${r.load.after.toFixed(2)} after`);
  console.log(`CPU seconds during the run: ${JSON.stringify(r.cpu)}`);
  console.log(
    `gateway: ${r.ledger.messages} messages (floor included), ${r.ledger.acceptedTwice} accepted twice; ${JSON.stringify(r.ledger.stats)}`,
  );
  console.log(`messages: ${JSON.stringify(r.byStatus)}; service stderr lines: ${r.stderrLines}`);
  if (r.stderrLines) console.log(r.stderrTail.join('\n'));
  console.log(r.broken.length ? `FAIL: ${r.broken.join('; ')}` : 'PASS: each reference accepted once, every message final and agreeing');
  process.exit(r.broken.length ? 1 : 0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
