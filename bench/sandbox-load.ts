/**
 * Sandbox provider load benchmark: runs the sandbox as its own process
 * (src/sandbox-server.ts, as npm start does) and sends it N transfers with
 * a keep-alive client at a fixed concurrency, then reads its ledger through
 * GET /_sandbox/ledger (every reference accepted exactly once) and, with
 * --callbacks, waits for every settlement event at a local receiver.
 *
 *   npx tsx bench/sandbox-load.ts --transfers 100000 --concurrency 200
 *   npx tsx bench/sandbox-load.ts --transfers 100000 --callbacks
 *   npx tsx bench/sandbox-load.ts --url http://127.0.0.1:4010   # a sandbox already running
 *
 * SANDBOX_* variables in the environment reach the spawned sandbox (faults,
 * settlement delay, in-flight limit); SANDBOX_MAX_IN_FLIGHT defaults to 0
 * here so that the concurrency is the only limit.
 */
process.env.NODE_ENV ??= 'development';
process.env.LOG_LEVEL ??= 'warn';

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { config } from '../config';
import { signedHeaders } from '../src/components/providers/signing';

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
function cpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

function pct(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

let child: ChildProcess | undefined;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      transfers: { type: 'string', default: '100000' },
      concurrency: { type: 'string', default: '200' },
      url: { type: 'string' },
      callbacks: { type: 'boolean', default: false },
      prefix: { type: 'string', default: `BENCH-${Date.now().toString(36).toUpperCase()}` },
    },
  });
  const total = Number(values.transfers);
  const concurrency = Number(values.concurrency);
  const cfg = config();
  let stopping = false;
  let baseUrl = values.url;
  if (!baseUrl) {
    const port = await freePort();
    child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', 'src', 'sandbox-server.ts')], {
      env: { SANDBOX_MAX_IN_FLIGHT: '0', ...process.env, SANDBOX_PORT: String(port), LOG_LEVEL: 'info' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    baseUrl = `http://127.0.0.1:${port}`;
    child.once('exit', (code, signal) => {
      if (!stopping) console.error(`the sandbox process exited during the run (${code ?? signal})`);
    });
  }
  const origin = new URL(baseUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });

  const call = (method: string, target: string, body: Buffer | null): Promise<{ status: number; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const raw = body ?? Buffer.alloc(0);
      const headers: Record<string, string> = signedHeaders(
        cfg.sandboxSecret,
        { method, pathWithQuery: target, rawBody: raw },
        cfg.sandboxClientId,
      );
      if (body) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = String(body.length);
      }
      const req = http.request({ hostname: origin.hostname, port: origin.port, method, path: target, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(raw);
    });

  for (let deadline = Date.now() + 20_000; ;) {
    const ok = await call('GET', '/v1/balance', null).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) throw new Error('sandbox not answering');
    await new Promise((r) => setTimeout(r, 100));
  }

  // the service stand-in for callbacks: counts events, answers 200
  let events = 0;
  let receiver: http.Server | undefined;
  let callbackUrl: string | undefined;
  if (values.callbacks) {
    receiver = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        events++;
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => receiver!.listen(0, '127.0.0.1', resolve));
    callbackUrl = `http://127.0.0.1:${(receiver.address() as net.AddressInfo).port}/api/v1/providers/sandbox/callbacks`;
  }

  const body = (i: number): Buffer =>
    Buffer.from(
      JSON.stringify({
        reference: `${values.prefix}-${i}`,
        amount: 500000 + (i % 7) * 1000,
        currency: 'VND',
        destination: { type: 'BANK_ACCOUNT', bankCode: '970415', accountNumber: String(1_000_000_000 + i), accountName: 'NGUYEN VAN A' },
        description: 'TCXH T12/2024',
        ...(callbackUrl ? { callbackUrl } : {}),
      }),
    );

  // warm-up: JIT and connections
  await Promise.all(Array.from({ length: concurrency }, (_, i) => call('POST', '/v1/transfers', body(total + i))));

  const latencies = new Float64Array(total);
  const statuses = new Map<number, number>();
  let next = 0;
  const cpu0 = cpuSeconds(child?.pid);
  const started = process.hrtime.bigint();
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= total) return;
      const t0 = process.hrtime.bigint();
      const res = await call('POST', '/v1/transfers', body(i));
      latencies[i] = Number(process.hrtime.bigint() - t0) / 1e6;
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  latencies.sort();
  console.log(
    `${total} transfers, concurrency ${concurrency}: ${seconds.toFixed(2)} s, ${Math.round(total / seconds)} transfers/s; ` +
      `latency p50 ${pct(latencies, 50).toFixed(1)} ms, p95 ${pct(latencies, 95).toFixed(1)} ms, p99 ${pct(latencies, 99).toFixed(1)} ms, max ${latencies[total - 1]!.toFixed(1)} ms`,
  );
  console.log(`answers: ${[...statuses].map(([s, n]) => `${s}×${n}`).join(', ')}`);
  const cpu1 = cpuSeconds(child?.pid);
  if (cpu0 !== null && cpu1 !== null) {
    // independent of what else the machine runs: what one core of sandbox could sustain
    const perTransfer = (cpu1 - cpu0) / total;
    console.log(
      `sandbox CPU: ${(cpu1 - cpu0).toFixed(1)} s over the run, ${(perTransfer * 1e6).toFixed(0)} µs per transfer ` +
        `(one core: about ${Math.round(1 / perTransfer)} transfers/s)`,
    );
  }

  if (values.callbacks) {
    const expected = total + concurrency;
    const t0 = Date.now();
    while (events < expected && Date.now() - t0 < 120_000) await new Promise((r) => setTimeout(r, 100));
    console.log(`callbacks: ${events} of ${expected} received ${((Date.now() - t0) / 1000).toFixed(1)} s after the last send`);
  }

  const ledger = JSON.parse((await call('GET', '/_sandbox/ledger', null)).body.toString('utf8')) as {
    accepted: number;
    acceptedMoreThanOnce: number;
    byStatus: Record<string, number>;
    succeededAmount: number;
    callbacks: Record<string, number>;
    memory: { rss: number; heapUsed: number };
  };
  console.log(
    `sandbox ledger: ${ledger.accepted} accepted, ${ledger.acceptedMoreThanOnce} accepted more than once, by status ${JSON.stringify(ledger.byStatus)}, ` +
      `RSS ${Math.round(ledger.memory.rss / 1048576)} MB, heap ${Math.round(ledger.memory.heapUsed / 1048576)} MB`,
  );
  if (values.callbacks) console.log(`sandbox callbacks: ${JSON.stringify(ledger.callbacks)}`);

  agent.destroy();
  receiver?.close();
  if (child) {
    stopping = true;
    child.kill('SIGTERM');
    await new Promise((r) => child!.once('exit', r));
  }
}

main().catch((err: unknown) => {
  console.error(err);
  child?.kill('SIGTERM');
  process.exit(1);
});
