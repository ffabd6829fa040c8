export { PaymentEngine, type ChunkJob, type EngineOptions, type EngineQueues, type EngineSharing } from './payment-engine';
export { RedisConcurrencyLimiter } from './concurrency-limiter';
export { RedisDispatchMarks } from './dispatch-marks';
export { RedisRateLimiter } from './rate-limiter';
export { registerPaymentRoutes, mountProviderCallbacks, providerCallbackHandler } from './payments.routes';
export { PayPoints } from './paypoints';
export { BatchProgress, type BatchProgressView } from './batch-progress';
export * from './payment-states';
export { PAYMENT_SEALED_COLUMNS } from './payment-reencryption';
