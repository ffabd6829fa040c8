import { expect } from 'chai';
import { conflict } from '../../src/platform/errors';
import { escapeLike, isDuplicateKey, likePrefix, marks, rowMarks, withNamedLock } from '../../src/platform/db';
import { testApp } from '../helpers/app';
import { uniq } from '../helpers/factories';

describe('platform/db: named locks and SQL pieces', () => {
  it('runs one holder at a time, and waiters more numerous than the pool leave the holder a connection to finish with', async () => {
    const { infra } = await testApp();
    const name = uniq('lock');
    const pool = infra.cfg.dbPoolSize;
    let inside = 0;
    let most = 0;
    const order: number[] = [];
    const work = async (i: number) =>
      withNamedLock(infra.ds, name, { waitSeconds: 20, retryMs: 20, busy: () => conflict('BUSY', 'busy') }, async (runner) => {
        inside++;
        most = Math.max(most, inside);
        // the holder needs pooled connections besides its own: with waiters parked inside GET_LOCK it would get none
        await Promise.all([infra.ds.query('SELECT SLEEP(0.01)'), infra.ds.query('SELECT 1'), runner.query('SELECT 1')]);
        order.push(i);
        inside--;
        return i;
      });
    const results = await Promise.all(Array.from({ length: pool * 2 }, (_, i) => work(i)));
    expect(results).to.deep.equal(Array.from({ length: pool * 2 }, (_, i) => i));
    expect(most, 'holders at once').to.equal(1);
    expect(order).to.have.length(pool * 2);
  });

  it('gives up with the caller’s error when the lock stays taken, and frees it when the holder throws', async () => {
    const { infra } = await testApp();
    const name = uniq('lock');
    let release!: () => void;
    const held = withNamedLock(
      infra.ds,
      name,
      { waitSeconds: 5, busy: () => conflict('BUSY', 'busy') },
      () => new Promise<void>((r) => (release = r)),
    );
    while (!release) await new Promise((r) => setTimeout(r, 10));
    const t0 = Date.now();
    const err = await withNamedLock(
      infra.ds,
      name,
      { waitSeconds: 0.3, retryMs: 50, busy: () => conflict('LOCK_BUSY', 'taken') },
      async () => 'ran',
    ).catch((e: unknown) => e);
    expect((err as { code?: string }).code).to.equal('LOCK_BUSY');
    expect(Date.now() - t0).to.be.within(250, 3000);
    release();
    await held;
    const thrown = await withNamedLock(infra.ds, name, { waitSeconds: 1, busy: () => conflict('BUSY', 'busy') }, async () => {
      throw new Error('boom');
    }).catch((e: unknown) => (e as Error).message);
    expect(thrown).to.equal('boom');
    const again = await withNamedLock(infra.ds, name, { waitSeconds: 1, busy: () => conflict('BUSY', 'busy') }, async () => 'ran');
    expect(again).to.equal('ran');
    const [free] = (await infra.ds.query("SELECT IS_FREE_LOCK(CONCAT(DATABASE(), '.', ?)) AS free", [name])) as { free: number }[];
    expect(Number(free!.free)).to.equal(1);
  });

  it('escapes LIKE wildcards, builds placeholder lists and recognises a duplicate key from the server', async () => {
    const { infra } = await testApp();
    expect(escapeLike('50%_a\\b')).to.equal('50\\%\\_a\\\\b');
    expect(marks(3)).to.equal('?, ?, ?');
    expect(rowMarks(2, 2)).to.equal('(?, ?), (?, ?)');
    const [row] = (await infra.ds.query('SELECT ? LIKE ? AS a, ? LIKE ? AS b', ['1.2', likePrefix('1.'), '1x', likePrefix('1_')])) as {
      a: number;
      b: number;
    }[];
    expect([Number(row!.a), Number(row!.b)]).to.deep.equal([1, 0]);
    // a real table: a temporary one would live on one pooled connection only
    const table = uniq('dup_probe').replace(/\W/g, '_');
    await infra.ds.query(`CREATE TABLE ${table} (id INT PRIMARY KEY)`);
    try {
      await infra.ds.query(`INSERT INTO ${table} VALUES (1)`);
      const e = await infra.ds.query(`INSERT INTO ${table} VALUES (1)`).catch((x: unknown) => x);
      expect(isDuplicateKey(e)).to.equal(true);
      expect(isDuplicateKey(new Error('other'))).to.equal(false);
    } finally {
      await infra.ds.query(`DROP TABLE IF EXISTS ${table}`);
    }
  });
});
