import type { RequestHandler } from 'express';
import { loadConfig } from '../config';
import { API_INFO, registerApiRoutes } from './app';
import type { Infra, Services } from './container';
import { Api } from './platform/http';
import type { IdempotencyStore } from './platform/http/idempotency';

/**
 * Stands in for every service while the routes are declared: declaring reads nothing from them, and a placeholder
 * that is called says so instead of answering something made up.
 */
function placeholder(name: string): never {
  const fn = () => {
    throw new Error(`${name} was called while only documenting the API`);
  };
  return new Proxy(fn, { get: (_t, prop) => (prop === 'then' ? undefined : placeholder(`${name}.${String(prop)}`)) }) as never;
}

/**
 * The OpenAPI document the service serves at /api/v1/openapi.json, produced without a database, Redis or a running
 * process, from the development defaults of the configuration so that it is the same on every machine. The
 * console's types are generated from it (npm run web:api).
 */
export function offlineOpenapiDocument(): unknown {
  const cfg = loadConfig({ NODE_ENV: 'development' });
  const api = new Api(placeholder('authenticate'), placeholder('idempotency') as IdempotencyStore);
  const infra = {
    cfg,
    ds: placeholder('ds'),
    redis: placeholder('redis'),
    queues: placeholder('queues'),
    log: placeholder('log'),
  } as Infra;
  const limiter: RequestHandler = (_req, _res, next) => next();
  registerApiRoutes(api, infra, placeholder('services') as Services, limiter);
  return api.openapiDocument(API_INFO);
}
