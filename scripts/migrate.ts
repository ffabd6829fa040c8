import 'reflect-metadata';
import { configOrExit } from '../src/boot';
import { openDatabase } from '../src/platform/db';

/** `npm run db:migrate`: creates the database if missing and applies pending migrations. */
async function main(): Promise<void> {
  const cfg = configOrExit();
  const ds = await openDatabase(cfg);
  const applied = (await ds.query('SELECT name FROM schema_migrations ORDER BY id')) as { name: string }[];
  process.stdout.write(`database ${cfg.dbName} is at ${applied.length} migration(s): ${applied.map((m) => m.name).join(', ')}\n`);
  await ds.destroy();
}

main().catch((e: unknown) => {
  process.stderr.write(`migration failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
