import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { SEALED_COLUMNS } from '../../src/sealed-columns';

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

  it('key rotation writes no table itself: each sealed column is declared, with its write, by the owner of its table', () => {
    // the owner of each sealed table (docs/architecture.md); the rotation's statement names its table at run time, out
    // of reach of the scans above, so where each column is declared is what keeps rotation inside the owner
    const owners: Record<string, string> = {
      beneficiaries: 'src/components/beneficiaries/',
      enrolments: 'src/components/beneficiaries/',
      payments: 'src/components/payments/',
      users: 'src/components/auth/',
      role_grants: 'src/components/auth/',
      providers: 'src/components/providers/',
      sms_gateways: 'src/components/notifications/',
      idempotency_keys: 'src/platform/http/',
    };
    const declaring = (table: string) =>
      sources().filter((f) => new RegExp(`ownedColumn\\(\\{\\s*table:\\s*'${table}'`).test(readFileSync(path.join(ROOT, f), 'utf8')));
    for (const table of new Set(SEALED_COLUMNS.map((c) => c.table))) {
      const files = declaring(table);
      expect(files.length, `${table} declared somewhere`).to.be.greaterThan(0);
      expect(
        files.filter((f) => !f.startsWith(owners[table] ?? '?')),
        `${table} declared outside its owner`,
      ).to.deep.equal([]);
    }
    // nothing else asks rotation to write: the one command passes the owners' list, and rotation's module has no table name
    const callers = sources().filter(
      (f) => f !== 'src/platform/crypto/rotation.ts' && /rotateDataKeys\(/.test(readFileSync(path.join(ROOT, f), 'utf8')),
    );
    expect(callers).to.deep.equal(['scripts/rotate-data-key.ts']);
    expect(readFileSync(path.join(ROOT, callers[0]!), 'utf8')).to.match(/columns:\s*SEALED_COLUMNS\b/);
    const rotation = readFileSync(path.join(ROOT, 'src/platform/crypto/rotation.ts'), 'utf8');
    for (const table of Object.keys(owners)) expect(rotation, `rotation.ts names ${table}`).not.to.match(new RegExp(`'${table}'`));
  });
});
