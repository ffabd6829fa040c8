export { DashboardService } from './dashboard.service';
export { registerDashboardRoutes } from './dashboard.routes';
