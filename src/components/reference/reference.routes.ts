import type { Api } from '../../platform/http';
import {
  bankList,
  bankParams,
  bankSchema,
  createBankBody,
  createWalletProviderBody,
  referenceListQuery,
  updateBankBody,
  updateWalletProviderBody,
  walletProviderList,
  walletProviderParams,
  walletProviderSchema,
} from './reference.schemas';
import type { ReferenceService } from './reference.service';

const NOT_PAGINATED = 'The whole list in one reply, not paginated: it holds tens of entries at most.';

export function registerReferenceRoutes(api: Api, reference: ReferenceService): void {
  api.route({
    method: 'get',
    path: '/banks',
    summary: 'List the banks beneficiaries can be paid through',
    description: `${NOT_PAGINATED} Ordered by short name.`,
    tags: ['reference'],
    access: 'authenticated',
    query: referenceListQuery,
    responses: { 200: { description: 'Every bank', schema: bankList } },
    handler: async ({ query }) => ({ items: await reference.listBanks(query) }),
  });

  api.route({
    method: 'post',
    path: '/banks',
    summary: 'Add a bank',
    tags: ['reference'],
    access: ['admin'],
    body: createBankBody,
    idempotent: true,
    responses: { 201: { description: 'Added', schema: bankSchema }, 409: { description: 'BANK_EXISTS' } },
    handler: ({ body }, ctx) => reference.createBank(ctx.actor, body),
  });

  api.route({
    method: 'patch',
    path: '/banks/:bin',
    summary: 'Rename or (de)activate a bank',
    tags: ['reference'],
    access: ['admin'],
    params: bankParams,
    body: updateBankBody,
    responses: { 200: { description: 'Updated', schema: bankSchema }, 404: { description: 'BANK_NOT_FOUND' } },
    handler: ({ params, body }, ctx) => reference.updateBank(ctx.actor, params.bin, body),
  });

  api.route({
    method: 'get',
    path: '/wallet-providers',
    summary: 'List the e-wallet and Mobile Money providers beneficiaries can be paid through',
    description: `${NOT_PAGINATED} Ordered by code.`,
    tags: ['reference'],
    access: 'authenticated',
    query: referenceListQuery,
    responses: { 200: { description: 'Every wallet provider', schema: walletProviderList } },
    handler: async ({ query }) => ({ items: await reference.listWalletProviders(query) }),
  });

  api.route({
    method: 'post',
    path: '/wallet-providers',
    summary: 'Add a wallet provider',
    tags: ['reference'],
    access: ['admin'],
    body: createWalletProviderBody,
    idempotent: true,
    responses: { 201: { description: 'Added', schema: walletProviderSchema }, 409: { description: 'WALLET_PROVIDER_EXISTS' } },
    handler: ({ body }, ctx) => reference.createWalletProvider(ctx.actor, body),
  });

  api.route({
    method: 'patch',
    path: '/wallet-providers/:code',
    summary: 'Rename a wallet provider, change its kind or monthly cap, or (de)activate it',
    tags: ['reference'],
    access: ['admin'],
    params: walletProviderParams,
    body: updateWalletProviderBody,
    responses: { 200: { description: 'Updated', schema: walletProviderSchema }, 404: { description: 'WALLET_PROVIDER_NOT_FOUND' } },
    handler: ({ params, body }, ctx) => reference.updateWalletProvider(ctx.actor, params.code, body),
  });
}
