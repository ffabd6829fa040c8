import { startWorker, type RunningWorker } from '../../jobs/worker';
import { testApp } from './app';

let started: Promise<RunningWorker> | undefined;

/** The real Bull worker, in this process, on this run's queue prefix (closed with the app's queues at the end). */
export function testWorker(): Promise<RunningWorker> {
  started ??= testApp().then(({ infra, services }) => startWorker(infra, services));
  return started;
}
