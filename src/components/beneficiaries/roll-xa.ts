import type { DataSource, QueryRunner } from 'typeorm';
import type winston from 'winston';

/**
 * The XA transaction id of an import's second merge branch (the enrolments of a first import). Ids are numbers, so the
 * literal below needs no escaping.
 */
export function xidOf(importId: string): string {
  if (!/^\d+$/.test(importId)) throw new Error(`not an import id: ${importId}`);
  return `roll-import-${importId}`;
}

/** The import of a branch's XA id, or null for anyone else's. */
export function importOfXid(xid: string): string | null {
  return /^roll-import-(\d+)$/.exec(xid)?.[1] ?? null;
}

/**
 * One branch of a merge on a connection of its own, as an XA transaction: started, given its statements, prepared
 * once they have all run (from then on it cannot fail to commit, and it survives a crash of this process or of the
 * server), then committed after the merge's main transaction, which is the decision. A branch left prepared (this
 * process stopped between the two commits) is committed or rolled back by `RollImportRunner.recoverMerges` according
 * to the import's status, which the main transaction wrote.
 *
 * The branch runs without per-row foreign-key checks (the merge share-locks the referenced rows in its main
 * transaction); the connection's setting is restored before it goes back to the pool.
 */
export class XaBranch {
  private state: 'active' | 'idle' | 'prepared' | 'ended' = 'active';

  private constructor(
    private readonly runner: QueryRunner,
    readonly xid: string,
  ) {}

  static async start(ds: DataSource, xid: string): Promise<XaBranch> {
    const runner = ds.createQueryRunner();
    await runner.connect();
    try {
      await runner.query('SET SESSION foreign_key_checks = 0');
      await runner.query('SET TRANSACTION ISOLATION LEVEL READ COMMITTED');
      await runner.query(`XA START '${xid}'`);
    } catch (e) {
      await runner.query('SET SESSION foreign_key_checks = 1').catch(() => undefined);
      await runner.release();
      throw e;
    }
    return new XaBranch(runner, xid);
  }

  query(sql: string, params: unknown[]): Promise<unknown> {
    return this.runner.query(sql, params);
  }

  async prepare(): Promise<void> {
    await this.runner.query(`XA END '${this.xid}'`);
    this.state = 'idle';
    await this.runner.query(`XA PREPARE '${this.xid}'`);
    this.state = 'prepared';
  }

  /**
   * After the decision. Should this connection have failed, the prepared branch is committed from another one (a
   * lost connection leaves it detached, committable by anyone); failing that, recoverMerges will.
   */
  async commit(ds: DataSource, log: winston.Logger): Promise<void> {
    try {
      await this.runner.query(`XA COMMIT '${this.xid}'`);
    } catch (e) {
      log.warn('roll import: XA commit failed on its connection, trying another', { xid: this.xid, error: String(e) });
      await ds.query(`XA COMMIT '${this.xid}'`);
    }
    this.state = 'ended';
  }

  async rollback(): Promise<void> {
    if (this.state === 'active') {
      await this.runner.query(`XA END '${this.xid}'`);
      this.state = 'idle';
    }
    if (this.state === 'idle' || this.state === 'prepared') await this.runner.query(`XA ROLLBACK '${this.xid}'`);
    this.state = 'ended';
  }

  async release(): Promise<void> {
    if (this.state === 'ended') await this.runner.query('SET SESSION foreign_key_checks = 1').catch(() => undefined);
    else {
      // a connection whose branch could not be ended (it failed) is not given back to the pool in that state
      (this.runner as unknown as { databaseConnection?: { destroy?: () => void } }).databaseConnection?.destroy?.();
    }
    await this.runner.release().catch(() => undefined);
  }
}
