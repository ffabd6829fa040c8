export { NetworkService } from './network.service';
export { registerNetworkRoutes } from './network.routes';
export { nearestPoint, type NearestPoint } from './points.sql';
export { POINT_KINDS, type PointKind, type OperatorType } from './point-values';
