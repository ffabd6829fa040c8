import 'reflect-metadata';
import path from 'node:path';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { config, type Config } from './config';

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
    entities: [path.join(__dirname, 'src/components/**/*.entity.{ts,js}')],
    migrations: [path.join(__dirname, 'migrations/*.{ts,js}')],
    logging: false,
    extra: { connectTimeout: 10000, dateStrings: false },
  };
}

/** For the TypeORM CLI (`typeorm migration:show -d dist/ormconfig.js`). */
export default new DataSource(dataSourceOptions(config()));
