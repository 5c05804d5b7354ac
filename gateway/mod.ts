export { buildApp, type BuildAppOptions } from './app.ts';
export { connectGatewayDeps, type GatewayDeps } from './deps.ts';
export { startServer, type RunningServer, type StartServerOptions } from './server.ts';
export { DEFAULT_SSE_OPTIONS, type SseOptions } from './stream.routes.ts';
export type { Principal, Role } from './identity/mod.ts';
