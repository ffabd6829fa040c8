import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { config } from './config';
import { dataSourceOptions } from './src/platform/db/options';

/** For the TypeORM CLI (`npx typeorm migration:show -d dist/ormconfig.js` after `npm run build`). The service itself uses openDatabase(). */
export default new DataSource(dataSourceOptions(config()));
