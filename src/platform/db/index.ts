export * from './database';
export * from './abortable-query';
export * from './named-lock';
export * from './sql';
