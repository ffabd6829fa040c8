export * from './principal';
export * from './scope';
