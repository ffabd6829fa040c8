import { useQueryClient } from '@tanstack/react-query';
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { api, setCsrfToken, setSessionHooks, unwrap, type CookieSessionAnswer, type Me } from '../api/client';
import { idlePhase, loginUrl, type IdlePhase } from './idle';

type Status = { state: 'loading' } | { state: 'anonymous' } | { state: 'authenticated'; me: Me };

interface Deadlines {
  idleSeconds: number;
  idle: number;
  absolute: number;
}

interface Session {
  status: Status;
  deadlines: Deadlines | null;
  idle: IdlePhase | null;
  /** After login, a password change or TOTP confirmation: keep the new CSRF token, read the user and deadlines. */
  established: (answer: CookieSessionAnswer) => Promise<Me>;
  /** Counts as activity on the server (like any request) and reads the deadlines again. */
  refresh: () => Promise<void>;
  logout: () => Promise<void>;
}

const SessionContext = createContext<Session | null>(null);

function currentPath(): string {
  return `${location.pathname}${location.search}${location.hash}`;
}

/**
 * The session as the page knows it: the user from GET /auth/me on load (a reload keeps the cookie), the CSRF token
 * in memory, the idle and absolute deadlines counted down every second. When the session ends (the idle limit here,
 * or any 401 of the API) the page goes to the login page with the page being left in `next`.
 */
export function SessionProvider({ children, navigate }: { children: ReactNode; navigate: (to: string) => void }) {
  const queryClient = useQueryClient();
  const [status, setStatus] = useState<Status>({ state: 'loading' });
  const [deadlines, setDeadlines] = useState<Deadlines | null>(null);
  const [now, setNow] = useState(() => Date.now());
  const ending = useRef(false);
  // a 401 ends a session only if there was one: the first GET /auth/me of a visitor answers 401 too
  const live = useRef(false);

  const adopt = useCallback((me: Me) => {
    ending.current = false;
    live.current = true;
    if (me.session) {
      if (me.session.csrfToken) setCsrfToken(me.session.csrfToken);
      setDeadlines({
        idleSeconds: me.session.idleSeconds,
        idle: Date.parse(me.session.idleExpiresAt),
        absolute: Date.parse(me.session.expiresAt),
      });
    }
    setStatus({ state: 'authenticated', me });
  }, []);

  const end = useCallback(
    (reason: 'idle' | 'ended' | 'logout') => {
      if (ending.current || !live.current) return;
      ending.current = true;
      live.current = false;
      setCsrfToken(null);
      setDeadlines(null);
      setStatus({ state: 'anonymous' });
      queryClient.clear();
      navigate(loginUrl(reason === 'logout' ? '/' : currentPath(), reason));
    },
    [navigate, queryClient],
  );

  const readMe = useCallback(async (): Promise<Me> => {
    const me = (await unwrap(api.GET('/api/v1/auth/me'))) as Me;
    adopt(me);
    return me;
  }, [adopt]);

  useEffect(() => {
    setSessionHooks({
      activity: () => setDeadlines((d) => (d ? { ...d, idle: Math.min(d.absolute, Date.now() + d.idleSeconds * 1000) } : d)),
      ended: () => end('ended'),
    });
  }, [end]);

  useEffect(() => {
    // no session, or no answer: the login page, which says what is wrong when the user tries
    readMe().catch(() => setStatus({ state: 'anonymous' }));
  }, [readMe]);

  useEffect(() => {
    if (!deadlines) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [deadlines]);

  const idle = deadlines ? idlePhase(now, deadlines.idle, deadlines.absolute) : null;
  useEffect(() => {
    if (idle?.phase === 'ended') end('idle');
  }, [idle?.phase, end]);

  const value = useMemo<Session>(
    () => ({
      status,
      deadlines,
      idle,
      established: async (answer) => {
        setCsrfToken(answer.csrfToken);
        return readMe();
      },
      refresh: async () => {
        await readMe();
      },
      logout: async () => {
        try {
          await unwrap(api.POST('/api/v1/auth/logout'));
        } finally {
          end('logout');
        }
      },
    }),
    [status, deadlines, idle, readMe, end],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const ctx = useContext(SessionContext);
  if (!ctx) throw new Error('useSession outside SessionProvider');
  return ctx;
}

/** The logged-in user; only for pages behind the router's guard. */
export function useMe(): Me {
  const { status } = useSession();
  if (status.state !== 'authenticated') throw new Error('useMe without a session');
  return status.me;
}
