import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { AppError, forbidden, invalid } from '../errors';
import { actorOf, type Actor, type Principal, type Role } from '../security';
import {
  IDEMPOTENCY_KEY_HEADER,
  IDEMPOTENCY_KEY_PATTERN,
  IDEMPOTENT_REPLAYED_HEADER,
  idempotencyKeyOf,
  type IdempotencyStore,
  type StoredResponse,
} from './idempotency';
import { requestState } from './request-state';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** Who may call a route: nobody needs to be logged in, any logged-in user, or one of these roles. */
export type Access = 'public' | 'authenticated' | readonly Role[];

export type Authenticator = (req: Request) => Promise<Principal>;

export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
  /** Defaults to application/json */
  contentType?: string;
}

export interface RouteContext {
  principal: Principal;
  actor: Actor;
  requestId: string;
  req: Request;
  res: Response;
}

type Out<T> = T extends z.ZodType ? z.output<T> : undefined;

export interface RouteSpec<P extends z.ZodType | undefined, Q extends z.ZodType | undefined, B extends z.ZodType | undefined> {
  method: Method;
  /** Express-style path relative to /api/v1, e.g. `/users/:id` */
  path: string;
  summary: string;
  description?: string;
  tags: string[];
  access: Access;
  /** Lets a `limited` session (password change or TOTP enrolment pending) call this route. */
  allowLimited?: boolean;
  /** Runs before authentication, e.g. a rate limiter. */
  before?: RequestHandler[];
  params?: P;
  query?: Q;
  body?: B;
  /** A multipart/form-data file upload in this field (the handler streams it with receiveFile); documented in OpenAPI. */
  upload?: { field: string; description: string };
  /**
   * Honours an optional Idempotency-Key header (checked after authentication
   * and validation): the first request with a key runs and its answer is kept
   * 24 h; the same key with the same request replays that answer
   * (Idempotent-Replayed: true) without running the handler, with another
   * request it is 409 IDEMPOTENCY_KEY_REUSED. Only for authenticated routes
   * that answer JSON.
   */
  idempotent?: boolean;
  responses: Record<number, ResponseSpec>;
  handler: (input: { params: Out<P>; query: Out<Q>; body: Out<B> }, ctx: RouteContext) => Promise<unknown>;
}

/**
 * A route served outside this router (the provider callbacks are answered before express, for speed), described in
 * the same OpenAPI document all the same. `headers` are the request headers it reads.
 */
export type ExternalRouteSpec = Pick<
  RouteSpec<z.ZodType | undefined, z.ZodType | undefined, z.ZodType | undefined>,
  'method' | 'path' | 'summary' | 'description' | 'tags' | 'access' | 'params' | 'body' | 'responses'
> & { headers?: z.ZodObject };

type RouteDoc = Omit<RouteSpec<z.ZodType | undefined, z.ZodType | undefined, z.ZodType | undefined>, 'handler'> & {
  headers?: z.ZodObject;
};

export const errorBodySchema = z
  .object({
    error: z.object({
      code: z.string().describe('Stable, UPPER_SNAKE error code'),
      message: z.string(),
      details: z.unknown().optional(),
      requestId: z.string(),
    }),
  })
  .meta({ id: 'Error' });

const idempotencyHeaders = z.object({
  [IDEMPOTENCY_KEY_HEADER]: z
    .string()
    .regex(IDEMPOTENCY_KEY_PATTERN)
    .optional()
    .meta({
      description:
        'Makes a retry safe: 1 to 128 characters of A-Z a-z 0-9 _ . : -, unique per request of yours, remembered 24 hours. ' +
        'The same key with the same request returns the first answer (with Idempotent-Replayed: true) without doing the work again; ' +
        'with another request it is 409 IDEMPOTENCY_KEY_REUSED.',
    }),
});

const PUBLIC_PRINCIPAL: Principal = {
  userId: 0,
  username: 'anonymous',
  roles: [],
  areaId: null,
  areaPath: null,
  sessionId: '',
  stage: 'full',
};

function openapiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function issuesOf(location: string, err: z.ZodError): { location: string; path: string; message: string }[] {
  return err.issues.map((i) => ({ location, path: i.path.join('.'), message: i.message }));
}

/**
 * Every route is declared once: the declaration registers the Express handler
 * (authentication, role check, validation of params, query and body) and the
 * OpenAPI operation from the same schemas, so the document cannot drift.
 */
export class Api {
  readonly router = express.Router();
  readonly registry = new OpenAPIRegistry();

  constructor(
    private readonly authenticate: Authenticator,
    private readonly idempotency?: IdempotencyStore,
  ) {
    this.registry.registerComponent('securitySchemes', 'bearerAuth', { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    this.registry.registerComponent('securitySchemes', 'cookieAuth', {
      type: 'apiKey',
      in: 'cookie',
      name: 'wd_session',
      description: 'The browser session (POST /auth/login with session: cookie); POST, PUT, PATCH and DELETE also need X-CSRF-Token',
    });
  }

  route<
    P extends z.ZodType | undefined = undefined,
    Q extends z.ZodType | undefined = undefined,
    B extends z.ZodType | undefined = undefined,
  >(spec: RouteSpec<P, Q, B>): void {
    if (spec.idempotent) this.checkIdempotent(spec);
    this.register(spec);
    const successStatus = Number(Object.keys(spec.responses).find((s) => s.startsWith('2')) ?? 200);
    this.router[spec.method](spec.path, ...(spec.before ?? []), async (req: Request, res: Response, next: NextFunction) => {
      try {
        const state = requestState(res);
        let principal = PUBLIC_PRINCIPAL;
        if (spec.access !== 'public') {
          principal = await this.authenticate(req);
          state.principal = principal;
          if (principal.stage === 'limited' && !spec.allowLimited) {
            throw forbidden('ACCOUNT_SETUP_REQUIRED', 'finish setting up the account first: change the password and enrol a second factor');
          }
          if (Array.isArray(spec.access) && !principal.roles.some((r) => (spec.access as readonly Role[]).includes(r))) {
            throw forbidden('ROLE_REQUIRED', `this action needs one of the roles: ${(spec.access as readonly Role[]).join(', ')}`);
          }
        }
        const problems: { location: string; path: string; message: string }[] = [];
        const parse = (location: string, schema: z.ZodType | undefined, value: unknown): unknown => {
          if (!schema) return undefined;
          const r = schema.safeParse(value);
          if (r.success) return r.data;
          problems.push(...issuesOf(location, r.error));
          return undefined;
        };
        const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
        if (spec.body && hasBody && !req.is('application/json')) {
          throw new AppError('unsupported_media', 'UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json');
        }
        const input = {
          params: parse('params', spec.params, req.params),
          query: parse('query', spec.query, req.query ?? {}),
          body: parse('body', spec.body, req.body ?? {}),
        } as { params: Out<P>; query: Out<Q>; body: Out<B> };
        if (problems.length) {
          const first = problems[0]!;
          throw invalid(
            'VALIDATION_FAILED',
            `${first.location}${first.path ? `.${first.path}` : ''}: ${first.message}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}`,
            problems,
          );
        }
        const ctx: RouteContext = {
          principal,
          actor: actorOf(principal, state.requestId, req.ip ?? null),
          requestId: state.requestId,
          req,
          res,
        };
        const idempotencyKey = spec.idempotent ? idempotencyKeyOf(req) : undefined;
        if (idempotencyKey !== undefined) {
          const route = `${req.baseUrl}${spec.path}`;
          const store = this.idempotency!;
          const request = { userId: principal.userId, key: idempotencyKey, method: req.method, route, hash: store.requestHash(req, route) };
          await store.handle(request, res, state.requestId, async (): Promise<StoredResponse | undefined> => {
            const result = await spec.handler(input, ctx);
            if (res.headersSent || res.writableEnded) return undefined;
            if (result === undefined && successStatus === 204) return { status: 204, body: null };
            return { status: successStatus, body: JSON.stringify(result) ?? null };
          });
          return;
        }
        const result = await spec.handler(input, ctx);
        if (res.headersSent || res.writableEnded) return;
        if (result === undefined && successStatus === 204) {
          res.status(204).end();
          return;
        }
        res.status(successStatus).json(result);
      } catch (err) {
        next(err);
      }
    });
  }

  private checkIdempotent(spec: RouteSpec<z.ZodType | undefined, z.ZodType | undefined, z.ZodType | undefined>): void {
    const where = `${spec.method.toUpperCase()} ${spec.path}`;
    if (!this.idempotency) throw new Error(`${where} is idempotent but the Api has no idempotency store`);
    // keys are kept per user
    if (spec.access === 'public') throw new Error(`${where}: only authenticated routes can be idempotent`);
    if (spec.method === 'get') throw new Error(`${where}: a GET changes nothing and needs no idempotency key`);
    // a stored answer is a JSON string; streamed answers cannot be replayed
    if (spec.upload || Object.values(spec.responses).some((r) => r.contentType !== undefined && r.contentType !== 'application/json')) {
      throw new Error(`${where}: only routes that answer JSON can be idempotent`);
    }
  }

  /** Documents a route that something other than this router serves; see ExternalRouteSpec. */
  describeExternal(spec: ExternalRouteSpec): void {
    this.register(spec);
  }

  private register(spec: RouteDoc): void {
    const responses: Record<string, { description: string; content?: Record<string, { schema: z.ZodType }>; headers?: z.ZodObject }> = {};
    for (const [status, r] of Object.entries(spec.responses)) {
      responses[status] = {
        description: r.description,
        ...(r.schema ? { content: { [r.contentType ?? 'application/json']: { schema: r.schema } } } : {}),
      };
    }
    const err = (description: string) => ({ description, content: { 'application/json': { schema: errorBodySchema } } });
    if (spec.params || spec.query || spec.body || spec.upload)
      responses['400'] ??= err('Invalid request (VALIDATION_FAILED names every problem)');
    if (spec.idempotent) {
      const success = Object.keys(responses).find((s) => s.startsWith('2'));
      if (success) {
        responses[success]!.headers = z.object({
          [IDEMPOTENT_REPLAYED_HEADER]: z
            .literal('true')
            .optional()
            .meta({ description: `Present when this is the stored answer to an earlier request with the same ${IDEMPOTENCY_KEY_HEADER}` }),
        });
      }
      const bad = responses['400'] ?? err('Invalid request');
      responses['400'] = { ...bad, description: `${bad.description}; INVALID_IDEMPOTENCY_KEY: malformed ${IDEMPOTENCY_KEY_HEADER}` };
      const taken = responses['409'];
      responses['409'] = {
        ...err(
          `${taken ? `${taken.description}; ` : ''}IDEMPOTENCY_KEY_REUSED: the key was used for another request; ` +
            'IDEMPOTENCY_REQUEST_IN_PROGRESS: the first request with the key is still running',
        ),
        ...(taken?.content ? { content: taken.content } : {}),
      };
    }
    if (spec.access !== 'public') {
      responses['401'] ??= err('Missing, invalid, expired or revoked token');
      responses['403'] ??= err('Role or area scope does not allow this');
      if (spec.method !== 'get') {
        const denied = responses['403'];
        responses['403'] = {
          ...denied,
          description: `${denied.description}; CSRF_TOKEN_INVALID: a cookie session without its X-CSRF-Token header`,
        };
      }
    }
    responses['500'] ??= err('Internal error');
    this.registry.registerPath({
      method: spec.method,
      path: `/api/v1${openapiPath(spec.path)}`,
      summary: spec.summary,
      ...(spec.description ? { description: spec.description } : {}),
      tags: spec.tags,
      ...(spec.access !== 'public' ? { security: [{ bearerAuth: [] }, { cookieAuth: [] }] } : { security: [] }),
      request: {
        ...(spec.params ? { params: spec.params as z.ZodObject } : {}),
        ...(spec.query ? { query: spec.query as z.ZodObject } : {}),
        ...(spec.idempotent ? { headers: idempotencyHeaders } : spec.headers ? { headers: spec.headers } : {}),
        ...(spec.body ? { body: { content: { 'application/json': { schema: spec.body } } } } : {}),
        ...(spec.upload
          ? {
              body: {
                description: spec.upload.description,
                content: {
                  'multipart/form-data': {
                    schema: z.object({ [spec.upload.field]: z.string().meta({ format: 'binary' }) }),
                  },
                },
              },
            }
          : {}),
      },
      responses,
      ...(Array.isArray(spec.access) ? { 'x-roles': spec.access } : {}),
    });
  }

  openapiDocument(info: { title: string; version: string; description: string }): unknown {
    return new OpenApiGeneratorV31(this.registry.definitions).generateDocument({
      openapi: '3.1.0',
      info,
      security: [{ bearerAuth: [] }, { cookieAuth: [] }],
    });
  }
}
