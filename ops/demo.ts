// `npm start`: the whole product with a demo fleet. Installs and starts the private services
// when no URLs are configured, applies migrations, seeds the demo tenant, starts the demo
// cameras' RTSP server, then runs an actor node (with the camera video pipelines), the gateway
// and the fleet simulator in this process until Ctrl-C.
import { ACTOR_SERVICES, startActorNode } from '../actors/mod.ts';
import { startServer } from '../gateway/mod.ts';
import { createLogger, loadConfig, migrate, type VigilEvent } from '../schemas/mod.ts';
import { connectNats, jetstream, names } from '../streams/mod.ts';
import { ensureStack, stopStack } from './stack/mod.ts';
import { startDemoCameras } from './demo/cameras.ts';
import { DEMO_LOGIN, DEMO_SITES, seedDemo } from './demo/seed.ts';
import { startSimulator } from './demo/simulator.ts';

// The demo talks to a person: warnings and errors only, unless LOG_LEVEL says otherwise.
const bootLog = createLogger(loadConfig({ LOG_LEVEL: 'warn', ...process.env }), 'demo');
const stack = await ensureStack({ log: bootLog });
// Whatever the stack resolved (embedded on its ports, or the URLs in the environment).
const config = loadConfig({
  LOG_LEVEL: 'warn',
  ...process.env,
  NATS_URL: stack.natsUrl,
  DATABASE_URL: stack.databaseUrl,
  CLICKHOUSE_URL: stack.clickhouseUrl,
  REDIS_URL: stack.redisUrl,
});
const log = createLogger(config, 'demo');
await migrate(config, log);
const fleet = await seedDemo(config, log);
// Seeded before the node starts: it opens every enabled camera it finds at start.
const demoCameras = await startDemoCameras(config, log, fleet.tenantId);
const node = await startActorNode({ config, log, services: [...ACTOR_SERVICES, 'camera-video'] });
const server = await startServer({ config, log });
const nc = await connectNats(config, 'vigil-demo-simulator');
const sim = startSimulator({
  log,
  js: jetstream(nc),
  names: names(config.VIGIL_NS),
  tenantId: fleet.tenantId,
  units: fleet.units,
  gatewayUrl: server.url,
});

function cameraLines(): string[] {
  const { cameras, rtsp, problem } = demoCameras;
  if (!rtsp) return [`  Cameras     not running (${problem ?? 'no RTSP server'})`];
  return [
    `  Cameras     ${cameras.map((c) => `"${c.name}" (${DEMO_SITES[c.site]?.name})`).join(', ')}:`,
    '              synthetic video over RTSP, people counted in their zones:',
    ...cameras.map((c) => `              ${rtsp.url(c.mount)}`),
    "              watch the dashboard's Cameras panel, or GET /v1/stream?kind=people,camera.",
  ];
}

const banner = [
  '',
  '  Vigil is running.',
  `  Dashboard   ${server.url}/`,
  `  API docs    ${server.url}/docs`,
  `  Login       ${DEMO_LOGIN.email} / ${DEMO_LOGIN.password}`,
  `  Fleet       ${fleet.units.length} units (${fleet.units.filter((u) => u.apiKey).length} over HTTP, the rest over NATS);`,
  `              "${fleet.units[0]?.name}" is failing: expect fast_warmup and high_temp alerts within minutes;`,
  `              "${fleet.units[1]?.name}" goes silent (unit_silent), "${fleet.units[2]?.name}" has its door`,
  `              left ajar (door_left_open), "${fleet.units[3]?.name}" has a defrost that does not end.`,
  ...cameraLines(),
  '  Ctrl-C stops everything.',
  '',
].join('\n');
console.log(banner);

// Show the flow in the terminal too: one line per alert event, a heartbeat of readings sent.
const decoder = new TextDecoder();
const feed = nc.subscribe(names(config.VIGIL_NS).events.all);
void (async () => {
  for await (const m of feed) {
    try {
      const e = JSON.parse(decoder.decode(m.data)) as VigilEvent;
      const data = e.data;
      if (e.type === 'camera.online' || e.type === 'camera.offline') {
        const camera = demoCameras.cameras.find((c) => c.id === e.data.cameraId)?.name ?? e.data.cameraId;
        const why = e.data.reason ? `: ${e.data.reason}` : '';
        console.log(
          `  ${new Date(e.ts).toISOString()}  ${e.type.padEnd(14)} ${''.padEnd(8)} ${camera}${why}`,
        );
        continue;
      }
      // People events are for the dashboard and the stream; the terminal shows alerts.
      if (!('equipmentId' in data)) continue;
      const unit = fleet.units.find((u) => u.id === data.equipmentId)?.name ?? data.equipmentId;
      const severity = 'severity' in data ? data.severity : 'warning';
      console.log(
        `  ${new Date(e.ts).toISOString()}  ${e.type.padEnd(14)} ${severity.padEnd(8)} ${unit}: ${data.message}`,
      );
    } catch (err) {
      log.warn({ err }, 'unreadable event');
    }
  }
})();
const progress = setInterval(() => {
  const { nats, http, failed } = sim.sent;
  console.log(`  readings sent: ${nats} over NATS, ${http} over HTTP${failed ? `, ${failed} failed` : ''}`);
}, 15_000);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'stopping');
  clearInterval(progress);
  feed.unsubscribe();
  await sim.stop();
  await nc.drain();
  await server.close();
  await node.stop();
  await demoCameras.stop();
  // Only what we started: external services (URLs in the environment) are left alone.
  if (!Object.values(stack.external).every(Boolean)) await stopStack({ log });
  process.exit(0);
}
process.once('SIGINT', () => void shutdown('SIGINT'));
process.once('SIGTERM', () => void shutdown('SIGTERM'));
