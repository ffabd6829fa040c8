export {
  ProvidersService,
  PROVIDER_KINDS,
  ROUTE_CHANNELS,
  ANY_CODE,
  routedProviderIdSql,
  type Provider,
  type ProviderKind,
  type ProviderRoute,
  type RouteChannel,
  type NewProvider,
  type ProviderChange,
} from './providers.service';
export { registerProviderRoutes } from './providers.routes';
export { HttpProviderAdapter, transferEventSchema, type HttpProviderOptions } from './http.adapter';
export type * from './provider.port';
export {
  SignedHttpClient,
  TransportError,
  NEVER_CONNECTED,
  jsonOf,
  retryAfter,
  type RawResponse,
  type SignedHttpOptions,
} from './signed-http';
export { signedHeaders, verify, MAX_CLOCK_SKEW_SECONDS, type HeaderBag, type VerifyResult } from './signing';
export { normaliseBaseUrl, PROVIDER_CLIENT_ID, PROVIDER_SECRET } from './provider-model';
export { timedBalance, type ConnectionTestError, type TimedBalance } from './connection-test';
