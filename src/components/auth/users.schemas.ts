import { z } from 'zod';
import { pageOf, pageQuery } from '../../platform/http/pagination';
import { role, userSchema } from './auth.schemas';

export const roleGrantSchema = z
  .object({
    id: z.number().int(),
    userId: z.number().int(),
    username: z.string(),
    roles: z.array(role).describe('The whole role set the user gets on confirmation'),
    fromRoles: z.array(role).describe('The roles when proposed; if they change meanwhile, the grant goes stale'),
    status: z
      .enum(['pending', 'confirmed', 'rejected', 'stale'])
      .describe('pending: waits for a second administrator; stale: the roles changed after the proposal, never applied'),
    proposedBy: z.number().int(),
    proposedByUsername: z.string(),
    proposedAt: z.string(),
    decidedBy: z.number().int().nullable(),
    decidedAt: z.string().nullable(),
  })
  .meta({ id: 'RoleGrant' });

const passwordPart = z
  .string()
  .describe(
    "Your half of the account's new temporary password, shown once: hand it to the person yourself. " +
      "The password is the proposer's half followed by the confirmer's half; it is set when the grant is confirmed.",
  );

export const issuedRoleGrantSchema = z
  .object({ grant: roleGrantSchema, temporaryPasswordPart: passwordPart })
  .meta({ id: 'IssuedRoleGrant' });

export const confirmedRoleGrantSchema = z
  .object({ grant: roleGrantSchema, user: userSchema, temporaryPasswordPart: passwordPart })
  .meta({ id: 'ConfirmedRoleGrant' });

const pendingGrant = issuedRoleGrantSchema
  .nullable()
  .describe('When approver or admin was asked for: the pending grant, which another administrator confirms');

export const createdUserSchema = z
  .object({
    user: userSchema,
    temporaryPassword: z
      .string()
      .nullable()
      .describe('Shown once when the server generated it; null while a grant of approver or admin is pending'),
    roleGrant: pendingGrant,
  })
  .meta({ id: 'CreatedUser' });

export const updatedUserSchema = userSchema.extend({ roleGrant: pendingGrant }).meta({ id: 'UpdatedUser' });

export const proposeGrantBody = z.strictObject({
  roles: z
    .array(role)
    .min(1, 'at least one role')
    .max(4)
    .describe("The user's whole role set after the grant, holding approver or admin; the current roles again re-issue the password"),
});

export const listGrantsQuery = z.strictObject({
  ...pageQuery,
  status: z.enum(['pending', 'confirmed', 'rejected', 'stale']).optional(),
  userId: z.coerce.number().int().positive().optional(),
});

export const roleGrantPage = pageOf(roleGrantSchema).meta({ id: 'RoleGrantPage' });
