export { OperationsService, JOB_STATES, type JobState, type JobView, type QueueView } from './operations.service';
export { registerOperationsRoutes } from './operations.routes';
