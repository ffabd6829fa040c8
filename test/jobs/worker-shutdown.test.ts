import { expect } from 'chai';
import { config } from '../../config';
import { stopQueues } from '../../jobs/worker';
import { QueueFactory, type Queue } from '../../src/platform/queue';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves with how long `p` took, or with null if it has not settled after `ms`. */
async function within(p: Promise<unknown>, ms: number): Promise<number | null> {
  const t0 = Date.now();
  const done = await Promise.race([p.then(() => true), sleep(ms).then(() => false)]);
  return done ? Date.now() - t0 : null;
}

describe('worker shutdown: the queues stop within the grace period', function () {
  this.timeout(30_000);
  const factories: QueueFactory[] = [];
  const releases: (() => void)[] = [];

  /** A queue of its own (own connections) whose one job runs until released; resolves once the job is running. */
  async function queueWithRunningJob(): Promise<{ queue: Queue; release: () => void; finished: Promise<void> }> {
    const factory = new QueueFactory(config());
    factories.push(factory);
    const queue = factory.get(`test.shutdown.${process.pid}.${factories.length}.${Date.now()}`);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    releases.push(release);
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    let ended!: () => void;
    const finished = new Promise<void>((resolve) => (ended = resolve));
    void queue.process(async () => {
      started();
      await held;
      ended();
    });
    await queue.add({}, { removeOnComplete: true, removeOnFail: true });
    await running;
    return { queue, release, finished };
  }

  after(async () => {
    for (const r of releases) r();
    await Promise.all(factories.map((f) => f.close().catch(() => undefined)));
  });

  it("Bull's own close waits for a running job however long it takes (what held the worker past its grace period)", async () => {
    const { queue, release, finished } = await queueWithRunningJob();
    const closing = queue.close();
    expect(await within(closing, 1500)).to.equal(null);
    release();
    await finished;
    expect(await within(closing, 5000)).to.not.equal(null);
  });

  it('stopQueues gives a running job the wait, then closes without it', async () => {
    const { queue, finished } = await queueWithRunningJob();
    let inTime: boolean | undefined;
    const took = await within(
      stopQueues([queue], 500).then((v) => (inTime = v)),
      3000,
    );
    expect(took, 'stopQueues did not return').to.not.equal(null);
    expect(took!).to.be.at.least(450);
    expect(inTime).to.equal(false);
    // the job was left running: it has not finished
    expect(await within(finished, 10)).to.equal(null);
  });

  it('stopQueues waits for a job that finishes within the wait, and takes no new job meanwhile', async () => {
    const { queue, release, finished } = await queueWithRunningJob();
    const second = await queue.add({}, { removeOnComplete: true, removeOnFail: true });
    setTimeout(release, 300);
    const t0 = Date.now();
    expect(await stopQueues([queue], 5000)).to.equal(true);
    expect(Date.now() - t0).to.be.within(250, 3000);
    expect(await within(finished, 10)).to.not.equal(null);
    // paused before the first job ended: the second one is still waiting, for the next worker
    const other = new QueueFactory(config());
    factories.push(other);
    const job = await other.get(queue.name).getJob(String(second.id));
    expect(await job?.getState()).to.equal('waiting');
  });
});
