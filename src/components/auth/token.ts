import jwt from 'jsonwebtoken';
import type { Config } from '../../../config';
import { unauthenticated } from '../../platform/errors';
import { ROLES, type Role } from '../../platform/security';

export interface AccessClaims {
  sub: string;
  sid: string;
  usr: string;
  roles: Role[];
  area: number | null;
  apath: string | null;
  stage: 'full' | 'limited';
}

/** Signs and checks access tokens: HS256 only, issuer, audience and expiry always checked. */
export class TokenService {
  constructor(private readonly cfg: Config) {}

  sign(claims: AccessClaims): { token: string; expiresAt: Date } {
    const { sub, ...rest } = claims;
    const token = jwt.sign(rest, this.cfg.jwtSecret, {
      algorithm: 'HS256',
      subject: sub,
      jwtid: claims.sid,
      issuer: this.cfg.jwtIssuer,
      audience: this.cfg.jwtAudience,
      expiresIn: this.cfg.jwtTtlSeconds,
    });
    return { token, expiresAt: new Date(Date.now() + this.cfg.jwtTtlSeconds * 1000) };
  }

  verify(token: string): AccessClaims {
    let payload: jwt.JwtPayload | string;
    try {
      payload = jwt.verify(token, this.cfg.jwtSecret, {
        algorithms: ['HS256'],
        issuer: this.cfg.jwtIssuer,
        audience: this.cfg.jwtAudience,
        clockTolerance: 5,
      });
    } catch (e) {
      if (e instanceof jwt.TokenExpiredError) throw unauthenticated('TOKEN_EXPIRED', 'the access token has expired; log in again');
      throw unauthenticated('INVALID_TOKEN', 'the access token is not valid');
    }
    if (typeof payload === 'string') throw unauthenticated('INVALID_TOKEN', 'the access token is not valid');
    const p = payload as jwt.JwtPayload & Partial<AccessClaims>;
    if (
      typeof p.sub !== 'string' ||
      typeof p.sid !== 'string' ||
      typeof p.usr !== 'string' ||
      !Array.isArray(p.roles) ||
      !p.roles.every((r) => (ROLES as readonly string[]).includes(r)) ||
      (p.stage !== 'full' && p.stage !== 'limited')
    ) {
      throw unauthenticated('INVALID_TOKEN', 'the access token is not valid');
    }
    return { sub: p.sub, sid: p.sid, usr: p.usr, roles: p.roles, area: p.area ?? null, apath: p.apath ?? null, stage: p.stage };
  }
}
