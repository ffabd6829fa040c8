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
