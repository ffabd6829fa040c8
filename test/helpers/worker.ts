import { startWorker } from '../../jobs/worker';
import { testApp } from './app';

let started: Promise<void> | undefined;

/** The real Bull worker, in this process, on this run's queue prefix (closed with the app's queues at the end). */
export function testWorker(): Promise<void> {
  started ??= testApp().then(({ infra, services }) => startWorker(infra, services));
  return started;
}
