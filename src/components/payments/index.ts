export { PaymentEngine, type ChunkJob, type EngineOptions, type EngineQueues } from './payment-engine';
export { registerPaymentRoutes, mountProviderCallbacks, providerCallbackHandler } from './payments.routes';
export { PayPoints } from './paypoints';
export * from './payment-states';
