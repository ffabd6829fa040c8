import type { DataSource, EntityManager } from 'typeorm';
import { conflict, invalid, notFound } from '../../platform/errors';
import type { Actor } from '../../platform/security';
import { isDuplicateKey } from '../../platform/db';
import type { AuditService } from '../audit';
import {
  ANY_CODE,
  COLUMNS,
  providerRow,
  ROUTE_CHANNELS,
  routeAudit,
  toProvider,
  toRoute,
  type Provider,
  type ProviderRoute,
  type RouteChannel,
  type Row,
  type RouteRow,
} from './provider-model';

/**
 * The routing rule as data: which provider pays each channel's bank BIN or wallet provider code, with `*` for the rest
 * of a channel. Administrators set and delete routes (audited); release and the account check ask routeFor, batch
 * generation uses routedProviderIdSql for the same rule set-based.
 */
export class RoutingRule {
  constructor(
    private readonly ds: DataSource,
    private readonly audit: AuditService,
  ) {}

  async listRoutes(f: { channel?: RouteChannel | undefined; providerId?: number | undefined } = {}): Promise<ProviderRoute[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (f.channel !== undefined) {
      where.push('r.channel = ?');
      params.push(f.channel);
    }
    if (f.providerId !== undefined) {
      where.push('r.provider_id = ?');
      params.push(f.providerId);
    }
    const rows = (await this.ds.query(
      `SELECT r.id, r.channel, r.match_code, r.provider_id, p.name AS provider_name
       FROM provider_routes r JOIN providers p ON p.id = r.provider_id
       ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY r.channel, r.match_code = '*', r.match_code`,
      params,
    )) as RouteRow[];
    return rows.map(toRoute);
  }

  private async routeRow(em: EntityManager, channel: RouteChannel, matchCode: string, lock = false): Promise<RouteRow | undefined> {
    const [r] = (await em.query(
      `SELECT r.id, r.channel, r.match_code, r.provider_id, p.name AS provider_name
       FROM provider_routes r JOIN providers p ON p.id = r.provider_id
       WHERE r.channel = ? AND r.match_code = ?${lock ? ' FOR UPDATE' : ''}`,
      [channel, matchCode],
    )) as RouteRow[];
    return r;
  }

  /**
   * Routes a channel's bank BIN or wallet provider code (or `*`: the rest of
   * the channel) to a provider, replacing the provider it had. `created` is
   * false when the route existed (also when it already pointed there: nothing changes then).
   */
  async setRoute(
    actor: Actor,
    channel: RouteChannel,
    matchCode: string,
    providerId: number,
  ): Promise<{ created: boolean; route: ProviderRoute }> {
    const code = await this.checkedMatchCode(channel, matchCode);
    const created = await this.ds.transaction(async (em) => {
      // the provider row is locked: a concurrent deactivation cannot slip between this check and the insert
      const provider = toProvider(await providerRow(em, providerId, true));
      if (!provider.active) throw conflict('PROVIDER_INACTIVE', `provider ${provider.name} is inactive; activate it before routing to it`);
      const existing = await this.routeRow(em, channel, code, true);
      if (existing && existing.provider_id === providerId) return false;
      if (existing) {
        await em.query('UPDATE provider_routes SET provider_id = ?, updated_by = ? WHERE id = ?', [providerId, actor.userId, existing.id]);
      } else {
        await em
          .query('INSERT INTO provider_routes (channel, match_code, provider_id, created_by, updated_by) VALUES (?, ?, ?, ?, ?)', [
            channel,
            code,
            providerId,
            actor.userId,
            actor.userId,
          ])
          .catch((e: unknown) => {
            throw isDuplicateKey(e) ? conflict('ROUTE_CHANGED_CONCURRENTLY', 'the route was set by someone else meanwhile; try again') : e;
          });
      }
      const after = toRoute((await this.routeRow(em, channel, code))!);
      await this.audit.record(em, actor, {
        action: 'provider_route.set',
        entityType: 'provider_route',
        entityId: `${channel}:${code}`,
        ...(existing ? { before: routeAudit(toRoute(existing)) } : {}),
        after: routeAudit(after),
      });
      return !existing;
    });
    const route = await this.routeRow(this.ds.manager, channel, code);
    if (!route) throw conflict('ROUTE_CHANGED_CONCURRENTLY', 'the route was deleted by someone else meanwhile');
    return { created, route: toRoute(route) };
  }

  /** Removes a route; enrolments it matched fall back to their channel's `*` route, or to none. */
  async deleteRoute(actor: Actor, channel: RouteChannel, matchCode: string): Promise<void> {
    const code = matchCode === ANY_CODE ? ANY_CODE : matchCode.toUpperCase();
    await this.ds.transaction(async (em) => {
      const existing = await this.routeRow(em, channel, code, true);
      if (!existing) throw notFound('ROUTE_NOT_FOUND', `no route for ${channel} ${code}`);
      await em.query('DELETE FROM provider_routes WHERE id = ?', [existing.id]);
      await this.audit.record(em, actor, {
        action: 'provider_route.delete',
        entityType: 'provider_route',
        entityId: `${channel}:${code}`,
        before: routeAudit(toRoute(existing)),
      });
    });
  }

  /**
   * The provider that pays an enrolment of `channel` with this bank BIN or
   * wallet provider code (null or ignored for cash): its exact route, else
   * the channel's `*` route; null when neither exists.
   */
  async routeFor(channel: RouteChannel, code: string | null): Promise<Provider | null> {
    const [r] = (await this.ds.query(
      `SELECT ${COLUMNS.split(', ')
        .map((c) => `p.${c}`)
        .join(', ')}
       FROM provider_routes r JOIN providers p ON p.id = r.provider_id
       WHERE r.channel = ? AND r.match_code IN (?, '*')
       ORDER BY r.match_code = '*' LIMIT 1`,
      [channel, channel === 'CASH' || code === null ? ANY_CODE : code],
    )) as Row[];
    return r ? toProvider(r) : null;
  }

  /** A provider still paying a route is not deactivated: its routes go elsewhere first. */
  async refuseIfRouted(em: EntityManager, p: Provider): Promise<void> {
    const [r] = (await em.query('SELECT COUNT(*) AS n FROM provider_routes WHERE provider_id = ?', [p.id])) as { n: string }[];
    if (Number(r!.n) > 0) {
      throw conflict('PROVIDER_ROUTED', `provider ${p.name} still pays ${r!.n} route(s); route them elsewhere before deactivating it`, {
        routes: Number(r!.n),
      });
    }
  }

  private async checkedMatchCode(channel: RouteChannel, matchCode: string): Promise<string> {
    if (!ROUTE_CHANNELS.includes(channel)) throw invalid('INVALID_CHANNEL', `channel must be one of ${ROUTE_CHANNELS.join(', ')}`);
    if (matchCode === ANY_CODE) return ANY_CODE;
    if (channel === 'CASH') throw invalid('INVALID_MATCH_CODE', 'a cash route matches every cash enrolment: its match code is *');
    if (channel === 'BANK') {
      if (!/^\d{6}$/.test(matchCode)) throw invalid('INVALID_MATCH_CODE', 'a bank route matches a 6-digit bank BIN, or *');
      const [bank] = (await this.ds.query('SELECT bin FROM banks WHERE bin = ?', [matchCode])) as unknown[];
      if (!bank) throw invalid('UNKNOWN_BANK', `no bank with BIN ${matchCode} in the bank list`);
      return matchCode;
    }
    const code = matchCode.toUpperCase();
    if (!/^[A-Z0-9]{2,20}$/.test(code)) throw invalid('INVALID_MATCH_CODE', 'a wallet route matches a wallet provider code, or *');
    const [wallet] = (await this.ds.query('SELECT code FROM wallet_providers WHERE code = ?', [code])) as unknown[];
    if (!wallet) throw invalid('UNKNOWN_WALLET_PROVIDER', `no wallet provider ${code} in the list`);
    return code;
  }
}
