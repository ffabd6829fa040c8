import type { Services } from '../src/container';

/** Thin: the rule lives in AuthService.disableInactive. */
export function disableInactiveUsers(services: Services) {
  return async (): Promise<{ disabled: number }> => ({ disabled: await services.auth.disableInactive() });
}
