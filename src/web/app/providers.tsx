import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { useState, type ReactNode } from 'react';
import { navigate } from 'wouter/use-browser-location';
import { ApiError } from '../api/errors';
import { I18nProvider } from '../i18n/i18n';
import { SessionProvider } from './session';

function newQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 30_000,
        refetchOnWindowFocus: false,
        // a refusal will not change by asking again; a lost connection may
        retry: (count, err) => count < 2 && (!(err instanceof ApiError) || err.status === 0 || err.status >= 500),
      },
      mutations: { retry: false },
    },
  });
}

const goTo = (to: string) => navigate(to, { replace: true });

export function Providers({ children }: { children: ReactNode }) {
  const [client] = useState(newQueryClient);
  return (
    <QueryClientProvider client={client}>
      <I18nProvider>
        <SessionProvider navigate={goTo}>{children}</SessionProvider>
      </I18nProvider>
    </QueryClientProvider>
  );
}
