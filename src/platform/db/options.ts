import path from 'node:path';
import type { DataSourceOptions } from 'typeorm';
import type { Config } from '../../../config';

const ROOT = path.join(__dirname, '..', '..', '..');

/** Connection options from the validated config. The schema comes only from migrations. */
export function dataSourceOptions(cfg: Config, overrides: Partial<{ database: string; poolSize: number }> = {}): DataSourceOptions {
  return {
    type: 'mysql',
    host: cfg.dbHost,
    port: cfg.dbPort,
    username: cfg.dbUser,
    password: cfg.dbPassword,
    database: overrides.database ?? cfg.dbName,
    charset: 'utf8mb4_unicode_ci',
    timezone: 'Z',
    supportBigNumbers: true,
    bigNumberStrings: true,
    poolSize: overrides.poolSize ?? cfg.dbPoolSize,
    synchronize: false,
    migrationsRun: false,
    migrationsTableName: 'schema_migrations',
    entities: [path.join(ROOT, 'src/components/**/*.entity.{ts,js}')],
    migrations: [path.join(ROOT, 'migrations/*.{ts,js}')],
    logging: false,
    extra: { connectTimeout: 10000, dateStrings: false },
  };
}
