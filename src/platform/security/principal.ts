export const ROLES = ['admin', 'staff', 'approver', 'auditor'] as const;
/** admin: users, areas, settings; staff: rolls and batches; approver: approves batches of their area; auditor: reads and verifies. */
export type Role = (typeof ROLES)[number];

/** The authenticated user of a request, as proven by a live session. */
export interface Principal {
  userId: number;
  username: string;
  roles: Role[];
  /** Root of the user's area scope; null = the whole tree. */
  areaId: number | null;
  /** Materialised path of the scope root (`/1/4/`), null = everything. */
  areaPath: string | null;
  sessionId: string;
  /** `limited` sessions may only finish setting up the account (password change, TOTP enrolment). */
  stage: 'full' | 'limited';
  /** The request proved the session with the browser's session cookie rather than a bearer token. */
  cookieSession?: boolean;
}

/** Who a change is attributed to: a person with a request, or the system (scheduled jobs). */
export interface Actor {
  userId: number | null;
  username: string;
  roles: string[];
  requestId: string | null;
  source: string | null;
}

export const SYSTEM_ACTOR: Actor = { userId: null, username: 'system', roles: ['system'], requestId: null, source: null };

/** Checks and spends a step-up code of the caller (see AuthService.stepUp); throws when it is refused. */
export type StepUp = (p: Principal, actor: Actor, code: string, purpose: string) => Promise<void>;

/** For scripts that build a service only to read or create (seed, benchmarks): nothing there may be approved. */
export const NO_STEP_UP: StepUp = async (_p, _actor, _code, purpose) => {
  throw new Error(`${purpose} needs a person's second factor: this process has none`);
};

export function actorOf(p: Principal, requestId: string | null, source: string | null): Actor {
  return { userId: p.userId, username: p.username, roles: [...p.roles], requestId, source };
}

export function hasRole(p: Principal, ...roles: Role[]): boolean {
  return p.roles.some((r) => roles.includes(r));
}
