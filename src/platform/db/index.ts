export * from './database';
export * from './abortable-query';
