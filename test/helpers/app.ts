import 'reflect-metadata';
import type { Server } from 'node:http';
import { rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import mysql from 'mysql2/promise';
import { config } from '../../config';
import { buildApp } from '../../src/app';
import { closeInfra, openInfra } from '../../src/boot';
import { buildServices, type Infra, type Services } from '../../src/container';
import { seedDemo } from '../../scripts/seed';

export interface TestApp {
  url: string;
  infra: Infra;
  services: Services;
  server: Server;
}

let running: Promise<TestApp> | undefined;

async function dropDatabase(): Promise<void> {
  const cfg = config();
  const conn = await mysql.createConnection({ host: cfg.dbHost, port: cfg.dbPort, user: cfg.dbUser, password: cfg.dbPassword });
  try {
    await conn.query(`DROP DATABASE IF EXISTS \`${cfg.dbName}\``);
  } finally {
    await conn.end();
  }
}

async function start(): Promise<TestApp> {
  const cfg = config();
  if (!cfg.dbName.startsWith('welfare_test')) throw new Error(`refusing to run tests against database ${cfg.dbName}`);
  await dropDatabase();
  // the checkpoints anchor this database's chain: a new database starts without them
  await rm(cfg.auditCheckpointDir, { recursive: true, force: true });
  const infra = await openInfra('test', cfg);
  await seedDemo(infra.ds, cfg);
  // the API and the test worker (helpers/worker.ts) run in this process on these same services
  const services = buildServices(infra, 'worker');
  const server = buildApp(infra, services).listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, infra, services, server };
}

/** The real app on a free port, against this run's own database (created, migrated and seeded once). */
export function testApp(): Promise<TestApp> {
  running ??= start();
  return running;
}

export async function stopTestApp(): Promise<void> {
  if (!running) return;
  const app = await running;
  running = undefined;
  await new Promise<void>((resolve) => {
    app.server.close(() => resolve());
    app.server.closeAllConnections();
  });
  const keys = await app.infra.redis.keys(`${app.infra.cfg.redisPrefix}:*`);
  if (keys.length) await app.infra.redis.del(...keys);
  await closeInfra(app.infra);
  await dropDatabase();
  await rm(app.infra.cfg.auditCheckpointDir, { recursive: true, force: true });
}
