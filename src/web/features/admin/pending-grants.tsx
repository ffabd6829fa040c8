import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, unwrap } from '../../api/client';
import { useMe } from '../../app/session';
import { useI18n } from '../../i18n/i18n';
import { FormError } from '../../ui/field';
import { DateText } from '../../ui/money';
import { newIdempotencyKey, OnceSecret, refusal } from './controls';
import { type Grant, RoleList } from './user-parts';

/**
 * Pending grants of approver or admin, with who proposed them: another administrator confirms (and receives the
 * second half) or rejects; the proposer may withdraw. `userId` narrows them to one user's, shown only when there is one.
 */
export function PendingGrants({ userId }: { userId?: number }) {
  const { t } = useI18n();
  const me = useMe();
  const qc = useQueryClient();
  const [issued, setIssued] = useState<{ username: string; part: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const grants = useQuery({
    queryKey: ['role-grants', 'pending', userId ?? 'all'],
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/role-grants', {
          params: { query: { status: 'pending', limit: 50, ...(userId !== undefined ? { userId } : {}) } },
        }),
      ),
  });
  const decide = useMutation({
    mutationFn: async ({ grant, verdict }: { grant: Grant; verdict: 'confirm' | 'reject' }) => {
      const params = { path: { id: grant.id } };
      const headers = { 'Idempotency-Key': newIdempotencyKey() };
      if (verdict === 'confirm') {
        const out = await unwrap(api.POST('/api/v1/role-grants/{id}/confirm', { params, headers }));
        setIssued({ username: out.user.username, part: out.temporaryPasswordPart });
      } else {
        await unwrap(api.POST('/api/v1/role-grants/{id}/reject', { params, headers }));
        setIssued(null);
      }
    },
    onSuccess: () => {
      setError(null);
      void qc.invalidateQueries({ queryKey: ['role-grants'] });
      void qc.invalidateQueries({ queryKey: ['users'] });
    },
    onError: (e) => setError(refusal(t, 'admin', e)),
  });
  const items = grants.data?.items ?? [];
  if (userId !== undefined && items.length === 0 && !issued && !error) return null;
  return (
    <section aria-labelledby="grants-title">
      <h2 id="grants-title">{t('admin.grants.title')}</h2>
      <FormError message={error} />
      {issued ? (
        <OnceSecret
          label={t('admin.grants.secondHalf', { username: issued.username })}
          value={issued.part}
          note={t('admin.grants.secondHalfNote')}
        />
      ) : null}
      {items.length === 0 ? (
        <p>{t('admin.grants.none')}</p>
      ) : (
        <div className="table-wrap">
          <table>
            <caption>{t('admin.grants.caption')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('admin.users.username')}</th>
                <th scope="col">{t('admin.grants.roles')}</th>
                <th scope="col">{t('admin.grants.proposedBy')}</th>
                <th scope="col">{t('admin.grants.proposedAt')}</th>
                <th scope="col">{t('admin.actions')}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((g) => {
                const mine = g.proposedBy === me.id;
                return (
                  <tr key={g.id}>
                    <td>{g.username}</td>
                    <td>
                      <RoleList roles={g.roles} />
                    </td>
                    <td>{g.proposedByUsername}</td>
                    <td>
                      <DateText value={g.proposedAt} />
                    </td>
                    <td className="row-actions">
                      {mine || g.userId === me.id ? (
                        <span>{t('admin.grants.notYours')}</span>
                      ) : (
                        <button
                          type="button"
                          className="primary"
                          disabled={decide.isPending}
                          onClick={() => decide.mutate({ grant: g, verdict: 'confirm' })}
                        >
                          {t('admin.grants.confirm', { username: g.username })}
                        </button>
                      )}
                      <button type="button" disabled={decide.isPending} onClick={() => decide.mutate({ grant: g, verdict: 'reject' })}>
                        {mine ? t('admin.grants.withdraw', { username: g.username }) : t('admin.grants.reject', { username: g.username })}
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
