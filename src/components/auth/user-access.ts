import type { EntityManager } from 'typeorm';
import { notFound } from '../../platform/errors';
import { assertVisible, type Principal } from '../../platform/security';
import { areaPathOf } from '../areas/area-path';
import { UserEntity } from './user.entity';

/** Loads a user the caller may manage: a user outside the caller's scope is 404, as a missing one. */
export async function loadUser(em: EntityManager, p: Principal, id: number, lock = false): Promise<UserEntity> {
  const u = await em
    .getRepository(UserEntity)
    .findOne({ where: { id }, ...(lock ? { lock: { mode: 'pessimistic_write' as const } } : {}) });
  if (!u) throw notFound('USER_NOT_FOUND', `no user with id ${id}`);
  assertVisible(p, u.areaId === null ? null : await areaPathOf(em, u.areaId), 'USER_NOT_FOUND', `no user with id ${id}`);
  return u;
}
