import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { config } from '../config';
import { HttpProviderAdapter } from '../src/components/providers';
import { signedRequest } from './helpers/sandbox';
import { HEADER, rollRows } from '../bench/roll-generator';
import { DEMO_ROLL } from '../scripts/demo-data';
import { validateRow } from '../src/components/beneficiaries/roll-validation';
import { foldName } from '../src/components/beneficiaries/roll-values';
import { freePort } from './helpers/ports';

const ROOT = path.join(__dirname, '..');

function runSandbox(env: Record<string, string>): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/sandbox-server.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let all = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (all += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (all += d));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { child, output: () => all, exited };
}

describe('src/sandbox-server.ts: the sandbox provider as a process', () => {
  let proc: ReturnType<typeof runSandbox> | undefined;

  afterEach(async () => {
    if (proc && proc.child.exitCode === null && proc.child.signalCode === null) {
      proc.child.kill('SIGKILL');
      await proc.exited;
    }
    proc = undefined;
  });

  it('serves Provider API v1 on SANDBOX_PORT with the config client id and secret, and exits 0 on SIGTERM', async () => {
    const cfg = config();
    const port = await freePort();
    proc = runSandbox({ SANDBOX_PORT: String(port), LOG_LEVEL: 'info' });
    const adapter = new HttpProviderAdapter({
      baseUrl: `http://127.0.0.1:${port}`,
      clientId: cfg.sandboxClientId,
      secret: cfg.sandboxSecret,
      timeoutMs: 2000,
    });
    try {
      const deadline = Date.now() + 15_000;
      let balance: { currency: string; available: number } | undefined;
      while (!balance) {
        balance = await adapter.balance().catch(() => undefined);
        if (balance) break;
        if (proc.child.exitCode !== null) throw new Error(`sandbox exited:\n${proc.output()}`);
        if (Date.now() > deadline) throw new Error(`sandbox not answering:\n${proc.output()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(balance).to.deep.equal({ currency: 'VND', available: 1_000_000_000_000 });
      expect(proc.output()).to.include(`listening on http://127.0.0.1:${port}`);
    } finally {
      adapter.close();
    }
    proc.child.kill('SIGTERM');
    expect(await proc.exited).to.equal(0);
  });

  it('takes its settlement and faults from SANDBOX_* variables and serves the signed /_sandbox admin surface', async () => {
    const cfg = config();
    const port = await freePort();
    proc = runSandbox({
      SANDBOX_PORT: String(port),
      SANDBOX_SETTLE_MS: '0',
      SANDBOX_FAIL_SHARE: 'LIMIT_EXCEEDED:1',
      SANDBOX_SEED: 'process-seed',
      SANDBOX_FLOAT: '9000000',
      SANDBOX_MAX_IN_FLIGHT: '7',
    });
    const base = `http://127.0.0.1:${port}`;
    const adapter = new HttpProviderAdapter({ baseUrl: base, clientId: cfg.sandboxClientId, secret: cfg.sandboxSecret, timeoutMs: 2000 });
    try {
      const deadline = Date.now() + 15_000;
      while (!(await adapter.balance().catch(() => undefined))) {
        if (proc.child.exitCode !== null) throw new Error(`sandbox exited:\n${proc.output()}`);
        if (Date.now() > deadline) throw new Error(`sandbox not answering:\n${proc.output()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const out = await adapter.send({
        reference: 'PROC-1',
        amount: 100000,
        destination: { type: 'WALLET', walletProvider: 'MOMO', walletId: '0912345678', accountName: 'LE THI C' },
      });
      expect(out.kind === 'accepted' && out.transfer).to.include({ status: 'FAILED', failureCode: 'LIMIT_EXCEEDED' });
      const res = await signedRequest(base, cfg.sandboxClientId, cfg.sandboxSecret, 'GET', '/_sandbox/ledger');
      expect(res.status).to.equal(200);
      const summary = JSON.parse(res.body) as { seed: string; accepted: number; available: number; behaviour: { maxInFlight: number } };
      expect(summary).to.include({ seed: 'process-seed', accepted: 1, available: 9_000_000 });
      expect(summary.behaviour.maxInFlight).to.equal(7);
    } finally {
      adapter.close();
    }
  });

  it('with DEMO_SEED, answers the account lookup of every payable row of the demo roll with that row’s name, so the account check flags none', async () => {
    const cfg = config();
    const port = await freePort();
    proc = runSandbox({ SANDBOX_PORT: String(port), DEMO_SEED: 'true' });
    const adapter = new HttpProviderAdapter({
      baseUrl: `http://127.0.0.1:${port}`,
      clientId: cfg.sandboxClientId,
      secret: cfg.sandboxSecret,
      timeoutMs: 2000,
    });
    try {
      const deadline = Date.now() + 15_000;
      while (!(await adapter.balance().catch(() => undefined))) {
        if (proc.child.exitCode !== null) throw new Error(`sandbox exited:\n${proc.output()}`);
        if (Date.now() > deadline) throw new Error(`sandbox not answering:\n${proc.output()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      // the rows the import accepts, as it stores them (the demo banks and wallets are in the seeded reference data)
      const ref = { isKnownBank: (b: string) => b !== '999999', isKnownWalletProvider: () => true };
      const payable = [...rollRows(DEMO_ROLL)]
        .map((cells) => validateRow(Object.fromEntries(HEADER.map((h, i) => [h, cells[i]])), ref).row)
        .filter((r) => r !== null && r.channel !== 'CASH');
      expect(payable.length).to.be.greaterThan(30);
      for (const r of payable) {
        const out = await adapter.lookupAccount(
          r!.channel === 'BANK'
            ? { type: 'BANK_ACCOUNT', bankCode: r!.bankCode!, accountNumber: r!.accountNumber! }
            : { type: 'WALLET', walletProvider: r!.walletProvider!, walletId: r!.walletId! },
        );
        // the account check flags an item whose lookup is not ACTIVE or answers another name than the person's
        expect(out, r!.fullName).to.deep.equal({ kind: 'answered', status: 'ACTIVE', accountName: r!.accountName });
        expect(foldName(out.kind === 'answered' ? out.accountName! : ''), r!.fullName).to.equal(foldName(r!.fullName));
      }
    } finally {
      adapter.close();
    }
  });

  it('refuses to run in production', async () => {
    // a complete production configuration: the refusal is the sandbox's own, not a missing key
    proc = runSandbox({
      NODE_ENV: 'production',
      SANDBOX_PORT: String(await freePort()),
      DB_HOST: 'db.internal',
      DB_USER: 'welfare',
      DB_PASSWORD: 'Db-Password-Prod-77',
      REDIS_URL: 'redis://redis.internal:6379',
      PUBLIC_BASE_URL: 'https://chitra.example.gov.vn',
      JWT_SECRET: 'jwt-Secret-For-Production-4f9c2a7e81d3b6',
      DATA_HMAC_KEY: 'hmac-Secret-For-Production-0b7e55c1a9f2d4',
      SANDBOX_SECRET: 'sandbox-Secret-For-Production-9a1c3e5f7b',
      AUDIT_CHAIN_KEY: 'audit-Chain-Key-For-Production-5d8e2b4a16',
      METRICS_TOKEN: 'metrics-Token-For-Production-3c6f9a2d8e1b',
      DATA_KEYS: `k2026:${Buffer.alloc(32, 42).toString('base64')}`,
      DATA_ACTIVE_KEY_ID: 'k2026',
      DEMO_SEED: 'false',
    });
    const code = await proc.exited;
    expect(code, proc.output()).to.equal(78);
    expect(proc.output()).to.include('does not run with NODE_ENV=production');
  });
});
