import type { DataSource, EntityManager } from 'typeorm';
import { conflict, notFound } from '../../platform/errors';
import type { Actor } from '../../platform/security';
import type { AuditService } from '../audit';
import { isDuplicateKey } from '../../platform/db';

export const WALLET_KINDS = ['ewallet', 'mobile_money'] as const;
export type WalletKind = (typeof WALLET_KINDS)[number];

export interface Bank {
  /** 6-digit NAPAS BIN */
  bin: string;
  shortName: string;
  name: string;
  active: boolean;
}

export interface WalletProvider {
  code: string;
  name: string;
  kind: WalletKind;
  /** most that may be paid into one account in a month, whole đồng; null = no cap */
  monthlyCap: number | null;
  active: boolean;
}

interface BankRow {
  bin: string;
  short_name: string;
  name: string;
  active: number;
}

interface WalletRow {
  code: string;
  name: string;
  kind: WalletKind;
  monthly_cap: string | null;
  active: number;
}

const toBank = (r: BankRow): Bank => ({ bin: r.bin, shortName: r.short_name, name: r.name, active: r.active === 1 });

const toWallet = (r: WalletRow): WalletProvider => ({
  code: r.code,
  name: r.name,
  kind: r.kind,
  monthlyCap: r.monthly_cap === null ? null : Number(r.monthly_cap),
  active: r.active === 1,
});

const clean = (text: string) => text.normalize('NFC').trim();

/*
 * Audit summaries leave the BIN out: the redaction masks any run of 6 digits in
 * a string, and the event's entityId already carries it. Names go under keys
 * the redaction leaves alone (it masks `name`); they are institutions, not people.
 */
const bankAudit = (b: Omit<Bank, 'bin'>) => ({ shortName: b.shortName, bankName: b.name, active: b.active });
const walletAudit = (w: WalletProvider) => ({
  code: w.code,
  providerName: w.name,
  kind: w.kind,
  monthlyCap: w.monthlyCap,
  active: w.active,
});

/** Banks and wallet providers a beneficiary can be paid through; kept as data, edited by administrators. */
export class ReferenceService {
  constructor(
    private readonly ds: DataSource,
    private readonly audit: AuditService,
  ) {}

  async listBanks(f: { active?: boolean | undefined } = {}): Promise<Bank[]> {
    const rows = (await this.ds.query(
      `SELECT bin, short_name, name, active FROM banks ${f.active === undefined ? '' : 'WHERE active = ?'} ORDER BY short_name, bin`,
      f.active === undefined ? [] : [f.active ? 1 : 0],
    )) as BankRow[];
    return rows.map(toBank);
  }

  private async bankRow(em: EntityManager, bin: string, lock = false): Promise<BankRow> {
    const [r] = (await em.query(`SELECT bin, short_name, name, active FROM banks WHERE bin = ?${lock ? ' FOR UPDATE' : ''}`, [
      bin,
    ])) as BankRow[];
    if (!r) throw notFound('BANK_NOT_FOUND', `no bank with BIN ${bin}`);
    return r;
  }

  async getBank(bin: string): Promise<Bank> {
    return toBank(await this.bankRow(this.ds.manager, bin));
  }

  async createBank(actor: Actor, input: { bin: string; shortName: string; name: string; active?: boolean | undefined }): Promise<Bank> {
    const bank: Bank = { bin: input.bin, shortName: clean(input.shortName), name: clean(input.name), active: input.active ?? true };
    await this.ds.transaction(async (em) => {
      await em
        .query('INSERT INTO banks (bin, short_name, name, active) VALUES (?, ?, ?, ?)', [
          bank.bin,
          bank.shortName,
          bank.name,
          bank.active ? 1 : 0,
        ])
        .catch((e: unknown) => {
          throw isDuplicateKey(e) ? conflict('BANK_EXISTS', `bin: a bank with BIN ${bank.bin} is already in the list`) : e;
        });
      await this.audit.record(em, actor, { action: 'bank.create', entityType: 'bank', entityId: bank.bin, after: bankAudit(bank) });
    });
    return this.getBank(bank.bin);
  }

  async updateBank(
    actor: Actor,
    bin: string,
    input: { shortName?: string | undefined; name?: string | undefined; active?: boolean | undefined },
  ): Promise<Bank> {
    await this.ds.transaction(async (em) => {
      const before = toBank(await this.bankRow(em, bin, true));
      const after: Bank = {
        ...before,
        ...(input.shortName !== undefined ? { shortName: clean(input.shortName) } : {}),
        ...(input.name !== undefined ? { name: clean(input.name) } : {}),
        ...(input.active !== undefined ? { active: input.active } : {}),
      };
      await em.query('UPDATE banks SET short_name = ?, name = ?, active = ? WHERE bin = ?', [
        after.shortName,
        after.name,
        after.active ? 1 : 0,
        bin,
      ]);
      await this.audit.record(em, actor, {
        action: 'bank.update',
        entityType: 'bank',
        entityId: bin,
        before: bankAudit(before),
        after: bankAudit(after),
      });
    });
    return this.getBank(bin);
  }

  async listWalletProviders(f: { active?: boolean | undefined } = {}): Promise<WalletProvider[]> {
    const rows = (await this.ds.query(
      `SELECT code, name, kind, monthly_cap, active FROM wallet_providers ${f.active === undefined ? '' : 'WHERE active = ?'} ORDER BY code`,
      f.active === undefined ? [] : [f.active ? 1 : 0],
    )) as WalletRow[];
    return rows.map(toWallet);
  }

  private async walletRow(em: EntityManager, code: string, lock = false): Promise<WalletRow> {
    const [r] = (await em.query(
      `SELECT code, name, kind, monthly_cap, active FROM wallet_providers WHERE code = ?${lock ? ' FOR UPDATE' : ''}`,
      [code],
    )) as WalletRow[];
    if (!r) throw notFound('WALLET_PROVIDER_NOT_FOUND', `no wallet provider with code ${code}`);
    return r;
  }

  async getWalletProvider(code: string): Promise<WalletProvider> {
    return toWallet(await this.walletRow(this.ds.manager, code));
  }

  async createWalletProvider(
    actor: Actor,
    input: { code: string; name: string; kind: WalletKind; monthlyCap: number | null; active?: boolean | undefined },
  ): Promise<WalletProvider> {
    const w: WalletProvider = {
      code: input.code,
      name: clean(input.name),
      kind: input.kind,
      monthlyCap: input.monthlyCap,
      active: input.active ?? true,
    };
    await this.ds.transaction(async (em) => {
      await em
        .query('INSERT INTO wallet_providers (code, name, kind, monthly_cap, active) VALUES (?, ?, ?, ?, ?)', [
          w.code,
          w.name,
          w.kind,
          w.monthlyCap,
          w.active ? 1 : 0,
        ])
        .catch((e: unknown) => {
          throw isDuplicateKey(e) ? conflict('WALLET_PROVIDER_EXISTS', `code: a wallet provider ${w.code} is already in the list`) : e;
        });
      await this.audit.record(em, actor, {
        action: 'wallet_provider.create',
        entityType: 'wallet_provider',
        entityId: w.code,
        after: walletAudit(w),
      });
    });
    return this.getWalletProvider(w.code);
  }

  async updateWalletProvider(
    actor: Actor,
    code: string,
    input: {
      name?: string | undefined;
      kind?: WalletKind | undefined;
      monthlyCap?: number | null | undefined;
      active?: boolean | undefined;
    },
  ): Promise<WalletProvider> {
    await this.ds.transaction(async (em) => {
      const before = toWallet(await this.walletRow(em, code, true));
      const after: WalletProvider = {
        ...before,
        ...(input.name !== undefined ? { name: clean(input.name) } : {}),
        ...(input.kind !== undefined ? { kind: input.kind } : {}),
        ...(input.monthlyCap !== undefined ? { monthlyCap: input.monthlyCap } : {}),
        ...(input.active !== undefined ? { active: input.active } : {}),
      };
      await em.query('UPDATE wallet_providers SET name = ?, kind = ?, monthly_cap = ?, active = ? WHERE code = ?', [
        after.name,
        after.kind,
        after.monthlyCap,
        after.active ? 1 : 0,
        code,
      ]);
      await this.audit.record(em, actor, {
        action: 'wallet_provider.update',
        entityType: 'wallet_provider',
        entityId: code,
        before: walletAudit(before),
        after: walletAudit(after),
      });
    });
    return this.getWalletProvider(code);
  }
}
