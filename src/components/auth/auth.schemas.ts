import { z } from 'zod';
import { areaQuery, boolQuery } from '../../platform/http/schemas';
import { ROLES } from '../../platform/security';
import { pageOf, pageQuery } from '../../platform/http/pagination';

export const role = z.enum(ROLES);

export const meSchema = z
  .object({
    id: z.number().int(),
    username: z.string(),
    displayName: z.string(),
    roles: z.array(role),
    areaId: z.number().int().nullable(),
    totpEnabled: z.boolean(),
    mustChangePassword: z.boolean(),
    pending: z.array(z.enum(['password_change', 'totp_enrolment'])).describe('Steps left before the session is full'),
  })
  .meta({ id: 'Me' });

export const sessionInfoSchema = z
  .object({
    idleSeconds: z.number().int().describe('The idle limit: the session ends this long after its last request (15 minutes, 5 for admins)'),
    idleExpiresAt: z.string().describe('When the session ends unless another request comes first'),
    expiresAt: z.string().describe("The session's absolute end (AUTH_SESSION_MAX_HOURS after login), however active it is"),
    csrfToken: z.string().optional().describe('Only for a cookie session: send it as X-CSRF-Token with every POST, PUT, PATCH and DELETE'),
  })
  .meta({ id: 'SessionInfo' });

export const meWithSessionSchema = meSchema
  .extend({ session: sessionInfoSchema.describe('This session; reading it counts as activity like any request') })
  .meta({ id: 'MeWithSession' });

export const tokenSchema = z
  .object({
    token: z.string(),
    tokenType: z.literal('Bearer'),
    expiresAt: z.string(),
    stage: z.enum(['full', 'limited']).describe('limited: only password change, TOTP enrolment, me and logout are allowed'),
    user: meSchema,
  })
  .meta({ id: 'AccessToken' });

export const cookieSessionSchema = z
  .object({
    expiresAt: z.string().describe("The session's absolute end; the cookie works until then while the session is used"),
    stage: z.enum(['full', 'limited']).describe('limited: only password change, TOTP enrolment, me and logout are allowed'),
    user: meSchema,
    csrfToken: z.string().describe('Send as X-CSRF-Token with every POST, PUT, PATCH and DELETE of this session'),
  })
  .meta({ id: 'CookieSession' });

/** What a login, password change or TOTP enrolment answers: a bearer token, or (cookie session) the session's CSRF token. */
export const issuedSchema = z.union([tokenSchema, cookieSessionSchema]);

export const loginBody = z.strictObject({
  username: z.string().min(1).max(64),
  password: z.string().min(1).max(256),
  totp: z
    .string()
    .regex(/^\d{6}$/, 'must be 6 digits')
    .optional()
    .describe('Code from the authenticator app, when TOTP is enrolled'),
  session: z
    .enum(['cookie', 'token'])
    .optional()
    .describe(
      'token (default): the answer carries a bearer token. cookie: for a browser; the session is set as the HttpOnly, SameSite=Strict cookie wd_session and the answer carries no token but a csrfToken',
    ),
});

export const passwordBody = z.strictObject({
  currentPassword: z.string().min(1).max(256),
  newPassword: z.string().min(1).max(256),
});

export const totpSetupSchema = z.object({ secret: z.string(), otpauthUrl: z.string() }).meta({ id: 'TotpSetup' });
export const totpConfirmBody = z.strictObject({ code: z.string().regex(/^\d{6}$/, 'must be 6 digits') });

export const userSchema = z
  .object({
    id: z.number().int(),
    username: z.string(),
    displayName: z.string(),
    roles: z.array(role),
    areaId: z.number().int().nullable(),
    active: z.boolean(),
    disabledReason: z.string().nullable(),
    locked: z.boolean(),
    mustChangePassword: z.boolean(),
    totpEnabled: z.boolean(),
    lastLoginAt: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'User' });

export const userWithPasswordSchema = z
  .object({ user: userSchema, temporaryPassword: z.string().nullable().describe('Shown once when the server generated it') })
  .meta({ id: 'UserWithTemporaryPassword' });

const roles = z.array(role).min(1, 'at least one role').max(4);
const areaId = z.number().int().positive().nullable().describe("Root of the user's area scope; null = the whole tree");

export const createUserBody = z.strictObject({
  username: z.string().min(3).max(64),
  displayName: z.string().trim().min(1).max(200),
  roles,
  areaId,
  password: z.string().min(1).max(256).optional().describe('Temporary password; generated when omitted. Always changed at first login.'),
});

export const updateUserBody = z
  .strictObject({
    displayName: z.string().trim().min(1).max(200).optional(),
    roles: roles.optional(),
    areaId: areaId.optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'give at least one of displayName, roles, areaId');

export const resetPasswordBody = z.strictObject({ password: z.string().min(1).max(256).optional() });

export const listUsersQuery = z.strictObject({
  ...pageQuery,
  role: role.optional(),
  areaId: areaQuery("Users scoped inside this area's subtree"),
  active: boolQuery.optional(),
  locked: boolQuery.optional(),
  q: z.string().min(1).max(64).optional().describe('Username prefix'),
});

export const userPage = pageOf(userSchema).meta({ id: 'UserPage' });
