/**
 * The seeded fault explorer: each seed draws a fault schedule (which faults, when, how often: worker kills, Redis
 * flushes, database server restarts, provider outages, and the sandbox's timeouts, 5xx, duplicate and out-of-order
 * callbacks and returns), runs a short batch through bench/fault-scenario.ts and checks the invariants
 * (checkInvariants: each reference accepted at most once at the provider; every payment final or in review with a
 * reason; service and provider agree per reference on status and amount; approved = paid + failed + returned +
 * unresolved; the audit chain verifies). It prints each seed's schedule and result, then the failing seeds and
 * "N of M seeds held".
 *
 *   npx tsx bench/fault-explorer.ts --seeds 50            seeds 1-50
 *   npx tsx bench/fault-explorer.ts --seed 17             seed 17 again, the same schedule
 *   npx tsx bench/fault-explorer.ts --seeds 10 --first 100 --rows 500
 *
 * A seed fixes the schedule and the sandbox's own random choices (SANDBOX_SEED); the interleaving of processes is
 * the machine's, so a rerun repeats the faults, not every timing.
 */
import { parseArgs } from 'node:util';
import type { Config } from '../config';
import { checkInvariants, runFaultScenario, type FaultEvent, type FaultOptions, type FaultReport } from './fault-scenario';

/** mulberry32: a small PRNG whose whole state is the seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface DrawnRun {
  seed: number;
  schedule: FaultEvent[];
  timeoutShare: number;
  fiveXxShare: number;
  duplicateCallbackShare: number;
  outOfOrderShare: number;
  returnShare: number;
}

/** The faults of one seed. */
export function drawRun(seed: number): DrawnRun {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const between = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
  // the point of the run a fault comes at: share of the payments that have left `pending`
  const at = (): number => Math.round((0.05 + rnd() * 0.85) * 100) / 100;
  const schedule: FaultEvent[] = [];
  for (let i = between(0, 3); i > 0; i--) schedule.push({ at: at(), kind: 'kill' });
  if (rnd() < 0.5) schedule.push({ at: at(), kind: 'flush' });
  if (rnd() < 0.4) schedule.push({ at: at(), kind: 'db-restart', downMs: between(500, 4000), hard: rnd() < 0.6 });
  if (rnd() < 0.4) schedule.push({ at: at(), kind: 'provider-outage', ms: between(1000, 8000) });
  schedule.sort((a, b) => a.at - b.at);
  return {
    seed,
    schedule,
    timeoutShare: pick([0, 0.02, 0.05, 0.1]),
    fiveXxShare: pick([0, 0.02, 0.05, 0.1]),
    duplicateCallbackShare: pick([0, 0.1, 0.3, 0.6]),
    outOfOrderShare: pick([0, 0.3, 0.7]),
    returnShare: pick([0, 0.02, 0.05]),
  };
}

export function describeRun(d: DrawnRun): string {
  const faults = d.schedule.map((e) => {
    const at = `@${Math.round(e.at * 100)}%`;
    if (e.kind === 'db-restart') return `db-${e.hard ? 'kill' : 'stop'}(${e.downMs}ms)${at}`;
    if (e.kind === 'provider-outage') return `provider-down(${e.ms}ms)${at}`;
    if (e.kind === 'redis-failover') return `redis-failover(${e.downMs}ms)${at}`;
    return `${e.kind}${at}`;
  });
  return (
    `[${faults.join(' ') || 'no process faults'}] timeouts ${d.timeoutShare}, 5xx ${d.fiveXxShare}, ` +
    `dup callbacks ${d.duplicateCallbackShare}, out of order ${d.outOfOrderShare}, returns ${d.returnShare}`
  );
}

export interface SeedResult {
  drawn: DrawnRun;
  report: FaultReport | null;
  /** the broken invariants, or the error that stopped the run */
  broken: string[];
}

/** Runs one seed's schedule and judges it. */
export async function exploreSeed(
  base: Config,
  seed: number,
  o: { rows: number; workers: number; apiPort: number; sandboxPort: number; maxSeconds?: number; log?: (l: string) => void },
): Promise<SeedResult> {
  const drawn = drawRun(seed);
  const opts: FaultOptions = {
    rows: o.rows,
    workers: o.workers,
    killEveryMs: 0,
    flushAt: 2,
    schedule: drawn.schedule,
    sandboxSeed: `explorer-${seed}`,
    timeoutShare: drawn.timeoutShare,
    fiveXxShare: drawn.fiveXxShare,
    duplicateCallbackShare: drawn.duplicateCallbackShare,
    returnShare: drawn.returnShare,
    outOfOrderShare: drawn.outOfOrderShare,
    apiPort: o.apiPort,
    sandboxPort: o.sandboxPort,
    timeoutMs: 800,
    maxSeconds: o.maxSeconds ?? 300,
    log: o.log ?? (() => undefined),
  };
  try {
    const report = await runFaultScenario(base, opts);
    return { drawn, report, broken: checkInvariants(report) };
  } catch (e) {
    return { drawn, report: null, broken: [`the run failed: ${e instanceof Error ? e.message : String(e)}`] };
  }
}

async function main(): Promise<void> {
  process.env.NODE_ENV ??= 'development';
  process.env.DB_NAME ??= 'welfare_bench_explorer';
  process.env.REDIS_PREFIX ??= 'welfare-bench-explorer';
  process.env.LOG_LEVEL ??= 'warn';
  const { values } = parseArgs({
    options: {
      seeds: { type: 'string', default: '50' },
      first: { type: 'string', default: '1' },
      seed: { type: 'string' },
      rows: { type: 'string', default: '300' },
      workers: { type: 'string', default: '2' },
      'api-port': { type: 'string', default: '3530' },
      'sandbox-port': { type: 'string', default: '4530' },
      verbose: { type: 'boolean', default: false },
    },
  });
  const { config } = await import('../config');
  const seeds =
    values.seed !== undefined ? [Number(values.seed)] : Array.from({ length: Number(values.seeds) }, (_, i) => Number(values.first) + i);
  const rows = Number(values.rows);
  const failed: SeedResult[] = [];
  const t0 = Date.now();
  for (const seed of seeds) {
    const drawn = drawRun(seed);
    console.log(`seed ${seed}: ${describeRun(drawn)}`);
    const r = await exploreSeed(config(), seed, {
      rows,
      workers: Number(values.workers),
      apiPort: Number(values['api-port']),
      sandboxPort: Number(values['sandbox-port']),
      log: values.verbose ? (l) => console.log(`  ${l}`) : undefined,
    });
    const rep = r.report;
    const facts = rep
      ? `${Math.round(rep.seconds)} s, ${JSON.stringify(rep.byStatus)}, batch ${rep.batchStatus}, ` +
        `faults at ${rep.fired.map((f) => (f.atSecond === null ? 'never' : `${f.atSecond.toFixed(1)}s`)).join('/') || '-'}, ` +
        `restarted ${JSON.stringify(rep.restarted)}`
      : 'no report';
    if (r.broken.length === 0) console.log(`  held: ${facts}`);
    else {
      failed.push(r);
      console.log(`  FAILED: ${facts}`);
      for (const b of r.broken) console.log(`    - ${b}`);
      for (const l of rep?.stderrTail ?? []) console.log(`    | ${l}`);
    }
  }
  const held = seeds.length - failed.length;
  console.log(`\n${held} of ${seeds.length} seeds held (${rows} payments each, ${Math.round((Date.now() - t0) / 1000)} s)`);
  if (failed.length) {
    console.log(`failing seeds: ${failed.map((f) => f.drawn.seed).join(', ')}`);
    console.log(`rerun one: npx tsx bench/fault-explorer.ts --seed ${failed[0]!.drawn.seed} --rows ${rows} --verbose`);
  }
  process.exit(failed.length ? 1 : 0);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
