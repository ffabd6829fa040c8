export { ReferenceService, WALLET_KINDS, type Bank, type WalletKind, type WalletProvider } from './reference.service';
export { registerReferenceRoutes } from './reference.routes';
