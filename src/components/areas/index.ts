export { AreasService, AREA_LEVELS, type Area, type AreaLevel } from './areas.service';
export { registerAreaRoutes } from './areas.routes';
export { areaPathOf } from './area-path';
