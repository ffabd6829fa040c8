export { AuthService, requiresTotp } from './auth.service';
export { UsersService } from './users.service';
export { SessionStore } from './session.store';
export { TokenService } from './token';
export { registerAuthRoutes } from './auth.routes';
export { registerUserRoutes } from './users.routes';
export { currentTotp } from './totp';
export { CSRF_HEADER, SESSION_COOKIE } from './session-cookie';
