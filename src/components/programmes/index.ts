export {
  ProgrammesService,
  PROGRAMME_FREQUENCIES,
  MAX_BASE_LEVEL,
  levelInForce,
  type Programme,
  type ProgrammeDetail,
  type ProgrammeFrequency,
  type BaseLevel,
  type Entitlement,
} from './programmes.service';
export { registerProgrammeRoutes } from './programmes.routes';
