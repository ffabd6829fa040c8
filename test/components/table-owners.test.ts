import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { DataSource } from 'typeorm';
import { ENCRYPTED_COLUMNS, OWNER_WRITTEN_TABLES, rotateDataKeys } from '../../src/platform/crypto/rotation';
import { SYSTEM_ACTOR } from '../../src/platform/security';

const ROOT = path.join(__dirname, '..', '..');

/** Every .ts file of the service's code (not the console), relative to the repository. */
function sources(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const rel = path.posix.join(dir, e.name);
      if (e.isDirectory()) {
        if (rel !== 'src/web') walk(rel);
      } else if (e.name.endsWith('.ts')) out.push(rel);
    }
  };
  for (const dir of ['src', 'jobs', 'scripts']) walk(dir);
  return out;
}

/** Files holding an SQL statement that writes `table` (INSERT, UPDATE with it as the first table, DELETE, REPLACE). */
function writersOf(table: string): string[] {
  const write = new RegExp(`\\b(?:INSERT(?:\\s+IGNORE)?\\s+INTO|REPLACE\\s+INTO|DELETE\\s+FROM|UPDATE)\\s+\`?${table}\`?(?![\\w])`, 'i');
  return sources().filter((f) => write.test(readFileSync(path.join(ROOT, f), 'utf8')));
}

describe('table owners', () => {
  it('only the payments component writes payments, and only its events module writes payment_events', () => {
    const outside = writersOf('payments').filter((f) => !f.startsWith('src/components/payments/'));
    expect(outside, 'files outside src/components/payments writing payments').to.deep.equal([]);
    expect(writersOf('payment_events')).to.deep.equal(['src/components/payments/payment-events.ts']);
  });

  it('only the batches component writes batches, batch_left_out and batch_makers, and only one function batch_transitions', () => {
    for (const table of ['batches', 'batch_left_out', 'batch_makers']) {
      const outside = writersOf(table).filter((f) => !f.startsWith('src/components/batches/'));
      expect(outside, `files outside src/components/batches writing ${table}`).to.deep.equal([]);
    }
    expect(writersOf('batch_transitions')).to.deep.equal(['src/components/batches/batch-transitions.ts']);
  });

  it('only the network component writes the registry of cash-out points and its imports', () => {
    for (const table of ['cash_out_points', 'cash_out_point_imports', 'cash_out_point_import_problems']) {
      const outside = writersOf(table).filter((f) => !f.startsWith('src/components/network/') && f !== 'scripts/seed.ts');
      expect(outside, `files outside src/components/network writing ${table}`).to.deep.equal([]);
      expect(writersOf(table).length, table).to.be.greaterThan(0);
    }
  });

  it('applies provider outcomes to payments in one module: the engine, callbacks, statements and pay points all use it', () => {
    const appliers = sources().filter((f) =>
      /p\.settled_at\s*=|\bsettled_at\s*=\s*CURRENT_TIMESTAMP/.test(readFileSync(path.join(ROOT, f), 'utf8')),
    );
    expect(appliers).to.deep.equal(['src/components/payments/payment-outcomes.ts']);
  });

  it('key rotation writes payments only through the payments component', async () => {
    // rotation's own statement names its table at run time, out of reach of the scan above: the owned tables are kept from it
    const sealed = new Set(ENCRYPTED_COLUMNS.map((c) => c.table));
    for (const table of ['payments', 'payment_events', 'batches', 'batch_transitions', 'batch_left_out', 'batch_makers']) {
      if (sealed.has(table)) expect(OWNER_WRITTEN_TABLES.has(table), `${table} left to rotation's own statement`).to.equal(true);
    }
    const payments = ENCRYPTED_COLUMNS.filter((c) => c.table === 'payments');
    expect(payments).to.have.length.greaterThan(0);
    // without the owner's writer it refuses before touching the database
    const refused = await rotateDataKeys({} as DataSource, { recordAlone: () => Promise.reject(new Error('no')) }, {} as never, {
      actor: SYSTEM_ACTOR,
      columns: payments,
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(String(refused)).to.contain("payments: rotation needs the owning component's writer");
    // the writer is the payments component's, and the command passes it
    expect(writersOf('payments')).to.include('src/components/payments/payment-reencryption.ts');
    const callers = sources().filter(
      (f) => f !== 'src/platform/crypto/rotation.ts' && /rotateDataKeys\(/.test(readFileSync(path.join(ROOT, f), 'utf8')),
    );
    expect(callers).to.deep.equal(['scripts/rotate-data-key.ts']);
    for (const f of callers) expect(readFileSync(path.join(ROOT, f), 'utf8'), f).to.match(/payments:\s*reencryptPaymentDestinations\b/);
  });
});
