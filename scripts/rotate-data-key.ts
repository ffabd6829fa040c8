import 'reflect-metadata';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { closeInfra, configOrExit, openInfra } from '../src/boot';
import { buildServices } from '../src/container';
import { AppError } from '../src/platform/errors';
import { rotateDataKeys, type ColumnRotation, type KeyCount } from '../src/platform/crypto/rotation';
import { SYSTEM_ACTOR } from '../src/platform/security';
import { SEALED_COLUMNS } from '../src/sealed-columns';

/**
 * `npm run rotate-data-key [-- --dry-run]`
 * Re-encrypts under DATA_ACTIVE_KEY_ID every personal-data value sealed with
 * another key of DATA_KEYS, and prints the counts per column. With --dry-run
 * it only counts the values per key id. Refuses, changing nothing, while any
 * value is under a key missing from DATA_KEYS. Safe to run again.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'dry-run': { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write('usage: npm run rotate-data-key [-- --dry-run]\n');
    return;
  }
  const cfg = configOrExit();
  const infra = await openInfra('cli', cfg);
  try {
    const { audit } = buildServices(infra);
    const dryRun = values['dry-run'] === true;
    const report = await rotateDataKeys(infra.ds, audit, cfg, {
      dryRun,
      // each sealed column with its owner's write: rotation writes no table itself
      columns: SEALED_COLUMNS,
      actor: { ...SYSTEM_ACTOR, source: `cli:${userInfo().username}`.slice(0, 64) },
    });
    const listed = (keys: KeyCount[]) => keys.map((k) => `${k.keyId ?? '(unrecognised)'}: ${k.rows}`).join(', ');
    const sum = (keys: KeyCount[]) => keys.reduce((n, k) => n + k.rows, 0);
    process.stdout.write(`active key: ${report.activeKeyId}${dryRun ? ' (dry run: nothing changed)' : ''}\n`);
    for (const c of report.columns) {
      const old = c.found.filter((k) => k.state === 'old');
      const unknown = c.found.filter((k) => k.state === 'unknown');
      const current = sum(c.found.filter((k) => k.state === 'active'));
      const parts = dryRun
        ? [`would re-encrypt ${sum(old)}${old.length ? ` (${listed(old)})` : ''}`, `already current ${current}`]
        : [
            `re-encrypted ${c.reencrypted}${old.length ? ` (found ${listed(old)})` : ''}`,
            `already current ${current}`,
            `changed meanwhile ${c.changedConcurrently}`,
            `unreadable ${c.unreadable}${c.unreadable ? ` (ids ${c.unreadableIds.join(', ')}${c.unreadable > c.unreadableIds.length ? ', …' : ''})` : ''}`,
          ];
      if (unknown.length) parts.push(`under keys missing from DATA_KEYS ${sum(unknown)} (${listed(unknown)})`);
      process.stdout.write(`${c.table}.${c.column}: ${parts.join(', ')}\n`);
    }
    const total = (f: (c: ColumnRotation) => number) => report.columns.reduce((n, c) => n + f(c), 0);
    if (dryRun) {
      const unknown = total((c) => c.found.filter((k) => k.state === 'unknown').reduce((n, k) => n + k.rows, 0));
      if (unknown) {
        process.stderr.write(`${unknown} values are under keys missing from DATA_KEYS: a real run would refuse\n`);
        process.exitCode = 1;
      }
    } else {
      process.stdout.write(`total re-encrypted: ${total((c) => c.reencrypted)} (audit event ${report.auditEventId})\n`);
      if (total((c) => c.unreadable)) {
        process.stderr.write('some values did not decrypt and still use their old key: do not remove that key until they are dealt with\n');
        process.exitCode = 1;
      }
    }
  } catch (e) {
    if (e instanceof AppError) {
      process.stderr.write(`${e.code}: ${e.message}\n`);
      process.exitCode = 1;
    } else throw e;
  } finally {
    await closeInfra(infra);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`rotate-data-key failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
