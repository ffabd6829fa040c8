import type { DataSource } from 'typeorm';
import type winston from 'winston';
import type { DataCipher } from '../../platform/crypto';
import { foldName } from '../beneficiaries/roll-values';
import { recordAccountLookups, resetAccountLookups } from '../payments/batch-payments';
import type { LookupDestination } from '../providers/provider.port';
import type { AdapterSource } from './batch-release';
import type { LookupStatus } from './batch-views';

const PAGE = 500;
const CONCURRENCY = 16;

interface Item {
  seq: string;
  channel: 'BANK' | 'WALLET';
  bank_bin: string | null;
  wallet_provider: string | null;
  account_enc: Buffer | null;
  wallet_enc: Buffer | null;
  account_name: string | null;
  full_name: string;
  name_mismatch: number;
}

interface Route {
  channel: string;
  match_code: string;
  provider_id: number;
}

export interface CheckResult {
  checked: number;
  flagged: number;
  errors: number;
  status: 'done' | 'not_offered' | 'failed' | 'skipped';
}

/**
 * Asks each item's provider (contract section 7) whether the account exists
 * and whose it is. Items whose account is closed or unknown, or whose holder's
 * name is not the person's, are flagged for review; providers that offer no
 * lookup leave the item unflagged with NOT_OFFERED. Runs in the worker, page by
 * page, a few lookups at a time; results are written per page, so progress
 * survives a restart of the job.
 */
export class AccountChecker {
  constructor(
    private readonly ds: DataSource,
    private readonly cipher: DataCipher,
    private readonly providers: AdapterSource,
    private readonly log: winston.Logger,
  ) {}

  async run(batchId: string): Promise<CheckResult> {
    const claim = (await this.ds.query(
      `UPDATE batches SET check_status = 'running', check_detail = NULL, check_checked = 0, check_failed = 0, check_first_error = NULL
       WHERE id = ? AND check_status IN ('pending', 'running') AND status NOT IN ('cancelled')`,
      [batchId],
    )) as { affectedRows: number };
    if (claim.affectedRows !== 1) return { checked: 0, flagged: 0, errors: 0, status: 'skipped' };
    const routes = (await this.ds.query('SELECT channel, match_code, provider_id FROM provider_routes')) as Route[];
    const route = new Map(routes.map((r) => [`${r.channel}:${r.match_code}`, r.provider_id]));
    let checked = 0;
    let answered = 0;
    let errors = 0;
    let firstError: string | null = null;
    let after = 0;
    for (;;) {
      const [b] = (await this.ds.query('SELECT status FROM batches WHERE id = ?', [batchId])) as { status: string }[];
      if (!b || b.status === 'cancelled') return { checked, flagged: 0, errors, status: 'skipped' };
      const items = (await this.ds.query(
        `SELECT seq, channel, bank_bin, wallet_provider, account_enc, wallet_enc, account_name, full_name, name_mismatch
         FROM payments WHERE batch_id = ? AND seq > ? AND channel IN ('BANK', 'WALLET') AND lookup_status IS NULL
         ORDER BY seq LIMIT ${PAGE}`,
        [batchId, after],
      )) as Item[];
      if (!items.length) break;
      after = Number(items[items.length - 1]!.seq);
      const results: { seq: number; status: LookupStatus; name: string | null; flagged: boolean }[] = [];
      let next = 0;
      const worker = async () => {
        for (let i = next++; i < items.length; i = next++) {
          const it = items[i]!;
          const providerId = route.get(`${it.channel}:${it.bank_bin ?? it.wallet_provider}`) ?? route.get(`${it.channel}:*`);
          let status: LookupStatus = 'NOT_OFFERED';
          let name: string | null = null;
          try {
            const adapter = providerId === undefined ? null : await this.providers.adapterFor(providerId);
            if (adapter) {
              const dest: LookupDestination =
                it.channel === 'BANK'
                  ? { type: 'BANK_ACCOUNT', bankCode: it.bank_bin!, accountNumber: this.cipher.decrypt(it.account_enc!, 'account') }
                  : { type: 'WALLET', walletProvider: it.wallet_provider!, walletId: this.cipher.decrypt(it.wallet_enc!, 'wallet') };
              const out = await adapter.lookupAccount(dest);
              if (out.kind === 'answered') {
                status = out.status;
                name = out.accountName;
                answered += 1;
              }
            }
          } catch (e) {
            status = 'ERROR';
            errors += 1;
            firstError ??= (e as Error).message;
          }
          const nameDiffers = status === 'ACTIVE' && name !== null && foldName(name) !== foldName(it.full_name);
          const flagged = it.name_mismatch === 1 || status === 'CLOSED' || status === 'NOT_FOUND' || nameDiffers;
          results.push({ seq: Number(it.seq), status, name, flagged });
        }
      };
      await Promise.all(Array.from({ length: Math.min(CONCURRENCY, items.length) }, worker));
      checked += results.length;
      await recordAccountLookups(this.ds.manager, batchId, results);
      await this.ds.query("UPDATE batches SET check_checked = ?, check_failed = ? WHERE id = ? AND check_status = 'running'", [
        checked,
        errors,
        batchId,
      ]);
    }
    const status: CheckResult['status'] = errors > 0 ? 'failed' : answered === 0 && checked > 0 ? 'not_offered' : 'done';
    const detail =
      errors > 0 ? `${errors} of ${checked} lookups failed (first: ${firstError}); run the check again` : `${checked} accounts checked`;
    await this.ds.query(
      `UPDATE batches bt SET bt.check_status = ?, bt.check_detail = ?, bt.check_checked = ?, bt.check_failed = ?, bt.check_first_error = ?,
         bt.flagged_count = (SELECT COUNT(*) FROM payments p WHERE p.batch_id = bt.id AND p.review <> 'excluded' AND p.flagged = 1)
       WHERE bt.id = ? AND bt.check_status = 'running'`,
      [status, detail.slice(0, 500), checked, errors, (firstError as string | null)?.slice(0, 500) ?? null, batchId],
    );
    const [f] = (await this.ds.query('SELECT flagged_count FROM batches WHERE id = ?', [batchId])) as { flagged_count: number }[];
    if (errors) this.log.warn('account check: lookups failed', { batchId, errors, checked });
    return { checked, flagged: f?.flagged_count ?? 0, errors, status };
  }
}

/** Staff ask for the check again (after errors, or after roll corrections): every item is looked up afresh. */
export async function resetAccountCheck(ds: DataSource, batchId: string): Promise<void> {
  await resetAccountLookups(ds.manager, batchId);
  await ds.query(
    "UPDATE batches SET check_status = 'pending', check_detail = NULL, check_checked = NULL, check_failed = NULL, check_first_error = NULL WHERE id = ?",
    [batchId],
  );
}
