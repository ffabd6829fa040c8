import mysql from 'mysql2/promise';
import type { Config } from '../../config';
import { createRedis } from '../../src/platform/redis';

/**
 * A run of service processes of its own (the fault runs), in a database and Redis prefix named after the suite's:
 * the names, and the cleanup that drops both afterwards.
 */
export function ownRunData(base: Config, suffix: string): { dbName: string; redisPrefix: string; drop: () => Promise<void> } {
  const dbName = `${base.dbName}_${suffix}`;
  const redisPrefix = `${base.redisPrefix}-${suffix.replace(/_/g, '-')}`;
  return {
    dbName,
    redisPrefix,
    drop: async () => {
      const conn = await mysql.createConnection({ host: base.dbHost, port: base.dbPort, user: base.dbUser, password: base.dbPassword });
      await conn.query(`DROP DATABASE IF EXISTS \`${dbName}\``);
      await conn.end();
      const redis = createRedis(base);
      const keys = await redis.keys(`${redisPrefix}:*`);
      if (keys.length) await redis.del(...keys);
      await redis.quit();
    },
  };
}
