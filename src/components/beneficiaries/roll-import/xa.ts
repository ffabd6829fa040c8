import type { DataSource, QueryRunner } from 'typeorm';
import type winston from 'winston';

/**
 * The XA transaction id of an import's second merge branch (the enrolments of a first import). XA ids are
 * server-wide, like the import lock: the database's name is part of it, so that recovery in one database never
 * touches another's branch. Import ids are numbers and database names are checked, so the literal needs no escaping.
 */
export function xidOf(database: string, importId: string): string {
  if (!/^\d+$/.test(importId)) throw new Error(`not an import id: ${importId}`);
  if (!XID_DATABASE.test(database)) throw new Error(`database name not usable in an XA id: ${database}`);
  return `roll-import:${database}:${importId}`;
}

/** Database names that fit an XA id literal (64 bytes with the prefix and an import id). */
export const XID_DATABASE = /^[A-Za-z0-9_$-]{1,32}$/;

/** The import of a branch's XA id in `database`, or null for any other branch. */
export function importOfXid(database: string, xid: string): string | null {
  const prefix = `roll-import:${database}:`;
  if (!xid.startsWith(prefix)) return null;
  const id = xid.slice(prefix.length);
  return /^\d+$/.test(id) ? id : null;
}

/**
 * One branch of a merge on a connection of its own, as an XA transaction: started, given its statements, prepared
 * once they have all run (from then on it cannot fail to commit, and it survives a crash of this process or of the
 * server), then committed after the merge's main transaction, which is the decision. A branch left prepared (this
 * process stopped between the two commits) is committed or rolled back by `recoverMerges` according to whether
 * the main transaction committed.
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

  /**
   * `bulk`: the branch inserts into a table that is empty (the first import of a roll), and runs without unique
   * checks so that the server builds its indexes in bulk (see merge.ts for why that is safe).
   */
  static async start(ds: DataSource, xid: string, bulk = false): Promise<XaBranch> {
    const runner = ds.createQueryRunner();
    await runner.connect();
    try {
      await runner.query(`SET SESSION foreign_key_checks = 0, unique_checks = ${bulk ? 0 : 1}`);
      await runner.query('SET TRANSACTION ISOLATION LEVEL READ COMMITTED');
      await runner.query(`XA START '${xid}'`);
    } catch (e) {
      await runner.query('SET SESSION foreign_key_checks = 1, unique_checks = 1').catch(() => undefined);
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
    if (this.state === 'ended') await this.runner.query('SET SESSION foreign_key_checks = 1, unique_checks = 1').catch(() => undefined);
    else {
      // a connection whose branch could not be ended (it failed) is not given back to the pool in that state
      (this.runner as unknown as { databaseConnection?: { destroy?: () => void } }).databaseConnection?.destroy?.();
    }
    await this.runner.release().catch(() => undefined);
  }
}

/**
 * The database's name when this database user can see prepared XA branches (so that recoverMerges can finish an
 * interrupted merge) and the name fits the branches' ids; null when merges must not use a branch.
 */
export async function xaDatabaseOf(ds: DataSource, log: winston.Logger): Promise<string | null> {
  try {
    const [{ db }] = (await ds.query('SELECT DATABASE() AS db')) as [{ db: string | null }];
    await ds.query('XA RECOVER');
    return db !== null && XID_DATABASE.test(db) ? db : null;
  } catch (e) {
    log.warn('roll import: XA RECOVER not allowed; first imports merge on one connection', { error: String(e) });
    return null;
  }
}

/**
 * Finishes the merges a stopped process left half-committed in `database`: a prepared enrolment branch is committed
 * when the main transaction of its merge committed (its `roll.import_completed` audit event exists), rolled back
 * otherwise. Only under the import lock, where no merge is running.
 */
export async function recoverMerges(ds: DataSource, database: string, log: winston.Logger): Promise<void> {
  const branches = (await ds.query('XA RECOVER')) as { data: string | Buffer }[];
  for (const b of branches) {
    const xid = String(b.data);
    const importId = importOfXid(database, xid);
    if (importId === null) continue;
    const [{ n: decided }] = (await ds.query(
      `SELECT EXISTS (SELECT 1 FROM audit_events WHERE entity_type = 'roll_import' AND entity_id = ? AND action = 'roll.import_completed') AS n`,
      [importId],
    )) as [{ n: number | string }];
    const verb = Number(decided) === 1 ? 'COMMIT' : 'ROLLBACK';
    await ds.query(`XA ${verb} '${xidOf(database, importId)}'`);
    log.warn('roll import: interrupted merge finished', { importId, outcome: verb.toLowerCase() });
  }
}
