import 'reflect-metadata';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { configOrExit } from '../src/boot';
import { openDatabase } from '../src/platform/db';
import { seedDemo, seedDemoBatch, seedDemoNetwork, seedDemoRoll } from './seed';
import { SUPERVISOR_DEFAULTS, Supervisor } from './supervisor';
import { buildWebIfStale } from './web';

/**
 * The worker's V8 heap: with the old generation capped, V8 collects a roll import's garbage (and the byte buffers it
 * holds on to) instead of letting it pile up, for a little more CPU in its collector threads; smaller semi-spaces lower
 * the peak further at the same speed (docs/benchmarks.md has the figures). The worker's jobs stream their data; none
 * holds more than a few batches. `npm run worker` uses the same flags.
 */
const WORKER_NODE_FLAGS = ['--max-old-space-size=192', '--max-semi-space-size=8'];

/**
 * `npm start`: creates and migrates the database, seeds the demo data on an
 * empty database (development), then runs the API, the worker and (outside
 * production) the sandbox provider as separate processes, after building the console (dist/web) if it is stale. One that crashes is
 * started again (Supervisor: after 1 s, doubling to 30 s while it keeps
 * crashing) and the others go on; SIGTERM/SIGINT is passed to all, and the exit
 * code says whether each stopped cleanly.
 */
async function main(): Promise<void> {
  const cfg = configOrExit();
  const ds = await openDatabase(cfg);
  if (cfg.demoSeed && (await seedDemo(ds, cfg))) {
    process.stdout.write(
      'demo data seeded: users admin, admin2, staff, approver.badinh, auditor (see README); the console is at the API’s address (HTTP_PORT)\n',
    );
  }
  if (cfg.demoSeed) {
    const people = await seedDemoRoll(ds, cfg);
    if (people)
      process.stdout.write(`demo roll imported: ${people} rows of TCXH-NCT80 (a few with problems, see GET /api/v1/roll-imports)\n`);
    const points = await seedDemoNetwork(ds, cfg);
    if (points) process.stdout.write(`demo withdrawal network: ${points} cash-out points (GET /api/v1/cash-out-points)\n`);
    const batch = await seedDemoBatch(ds, cfg);
    if (batch)
      process.stdout.write(`demo batch ${batch.id} created as draft: ${batch.items} payments in Quận Ba Đình (GET /api/v1/batches)\n`);
  }
  await ds.destroy();
  // the console is served from dist/web: built here when missing or older than its sources; the API runs without it
  await buildWebIfStale((line) => process.stdout.write(`${line}\n`)).catch((e: unknown) => {
    process.stderr.write(`building the console failed; GET / will say so: ${e instanceof Error ? e.message : String(e)}\n`);
  });

  const root = path.join(__dirname, '..');
  const run =
    (file: string, nodeFlags: string[] = []) =>
    (): ChildProcess =>
      spawn(process.execPath, [...nodeFlags, '--import', 'tsx', path.join(root, file)], { stdio: 'inherit', env: process.env, cwd: root });
  const children: Record<string, () => ChildProcess> = {
    api: run('src/server.ts'),
    worker: run('jobs/worker.ts', WORKER_NODE_FLAGS),
  };
  // the built-in sandbox provider, which the seeded routes pay bank and wallet enrolments through (never in production)
  if (cfg.mode !== 'production') children.sandbox = run('src/sandbox-server.ts');
  const supervisor = new Supervisor(children, { ...SUPERVISOR_DEFAULTS, log: (line) => process.stderr.write(`${line}\n`) });
  supervisor.start();
  process.on('SIGTERM', () => void supervisor.stop('SIGTERM'));
  process.on('SIGINT', () => void supervisor.stop('SIGTERM'));
  process.exit((await supervisor.done) ? 0 : 1);
}

main().catch((e: unknown) => {
  process.stderr.write(`start failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
