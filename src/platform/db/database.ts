import mysql from 'mysql2/promise';
import { DataSource, type EntityManager } from 'typeorm';
import type { Config } from '../../../config';
import { dataSourceOptions } from './options';

/** Creates the database if it does not exist (utf8mb4). */
export async function ensureDatabase(cfg: Config, database = cfg.dbName): Promise<void> {
  const conn = await mysql.createConnection({
    host: cfg.dbHost,
    port: cfg.dbPort,
    user: cfg.dbUser,
    password: cfg.dbPassword,
    connectTimeout: 10000,
  });
  try {
    await conn.query(`CREATE DATABASE IF NOT EXISTS \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  } finally {
    await conn.end();
  }
}

/**
 * Creates the database if missing, connects and applies pending migrations.
 * A named lock makes concurrent starters (API and worker) migrate one at a time.
 */
export async function openDatabase(
  cfg: Config,
  opts: { migrate?: boolean; database?: string; poolSize?: number } = {},
): Promise<DataSource> {
  const database = opts.database ?? cfg.dbName;
  await ensureDatabase(cfg, database);
  const ds = new DataSource(dataSourceOptions(cfg, { database, ...(opts.poolSize ? { poolSize: opts.poolSize } : {}) }));
  await ds.initialize();
  if (opts.migrate !== false) {
    const runner = ds.createQueryRunner();
    try {
      const [row] = (await runner.query('SELECT GET_LOCK(?, 120) AS got', [`${database}.migrate`])) as { got: number }[];
      if (row?.got !== 1) throw new Error('could not take the migration lock within 120 s');
      try {
        await ds.runMigrations({ transaction: 'each' });
      } finally {
        await runner.query('SELECT RELEASE_LOCK(?)', [`${database}.migrate`]);
      }
    } finally {
      await runner.release();
    }
  }
  return ds;
}

/** Runs fn in one transaction; everything it writes (including its audit event) commits or rolls back together. */
export function inTransaction<T>(ds: DataSource, fn: (em: EntityManager) => Promise<T>): Promise<T> {
  return ds.transaction(fn);
}
