import { testApp } from './app';

const rnd = () => Math.floor(Math.random() * 250) + 1;

export interface Reply<T = any> {
  status: number;
  body: T;
  headers: Headers;
  text: string;
}

/** A request to the test app; JSON in, JSON (or text) out. */
export async function call<T = any>(
  method: string,
  path: string,
  opts: { token?: string | undefined; body?: unknown; headers?: Record<string, string>; rawBody?: string | Buffer; form?: FormData } = {},
): Promise<Reply<T>> {
  const { url } = await testApp();
  // each request from its own client address unless the test names one: the login rate limit is per address
  const headers: Record<string, string> = { 'x-forwarded-for': `10.${rnd()}.${rnd()}.${rnd()}`, ...(opts.headers ?? {}) };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | Buffer | FormData | undefined = opts.rawBody ?? opts.form;
  if (opts.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = JSON.stringify(opts.body);
  }
  const res = await fetch(`${url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let parsed: unknown = text;
  if ((res.headers.get('content-type') ?? '').includes('json') && text) parsed = JSON.parse(text);
  return { status: res.status, body: parsed as T, headers: res.headers, text };
}

export const get = <T = any>(path: string, token?: string) => call<T>('GET', `/api/v1${path}`, { token });
export const post = <T = any>(path: string, body: unknown, token?: string) => call<T>('POST', `/api/v1${path}`, { token, body });
export const patch = <T = any>(path: string, body: unknown, token?: string) => call<T>('PATCH', `/api/v1${path}`, { token, body });
export const del = <T = any>(path: string, token?: string) => call<T>('DELETE', `/api/v1${path}`, { token });
