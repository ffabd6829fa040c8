/**
 * Test run setup (loaded by .mocharc.json): a database and a Redis prefix of
 * this run's own, never the ones the running service uses; both removed at the
 * end. Outbound HTTP is refused except to loopback (nock intercepts the rest).
 */
import nock from 'nock';
import os from 'node:os';
import path from 'node:path';
import type * as AppHelpers from './helpers/app';

process.env.NODE_ENV = 'test';
process.env.DB_NAME ??= `welfare_test_${process.pid}`;
process.env.REDIS_PREFIX ??= `welfare-test-${process.pid}`;
// one proxy hop trusted so that each test request can come from its own client address (login rate limit)
process.env.HTTP_TRUST_PROXY ??= '1';
process.env.IMPORT_DIR ??= path.join(os.tmpdir(), `welfare-test-imports-${process.pid}`);
process.env.AUDIT_CHECKPOINT_DIR ??= path.join(os.tmpdir(), `welfare-test-audit-checkpoints-${process.pid}`);
process.env.AUTH_LOGIN_RATE_PER_MINUTE ??= '10';

nock.disableNetConnect();
nock.enableNetConnect(/^(127\.0\.0\.1|localhost)(:\d+)?$/);

export const mochaHooks = {
  async afterAll(): Promise<void> {
    // required here, not imported above: config must see the env set by this file first
    const { stopTestApp } = require('./helpers/app') as typeof AppHelpers;
    await stopTestApp();
  },
};
