export * from './api';
export * from './errors';
export * from './pagination';
export * from './request-state';
export * from './console';
export * from './client-gone';
export * from './signed-callback';
