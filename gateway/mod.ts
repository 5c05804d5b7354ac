export { buildApp, type BuildAppOptions } from './app.ts';
export { connectGatewayDeps, type GatewayDeps } from './deps.ts';
export { startServer, type RunningServer } from './server.ts';
export type { SseOptions } from './stream.routes.ts';
export type { Principal, Role } from './identity/mod.ts';
