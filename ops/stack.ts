// CLI for the embedded stack:  tsx ops/stack.ts up | down | status
//   up      install what is missing, start what is not running, print KEY=value lines (stdout)
//   down    stop the embedded services (externals are left alone)
//   status  JSON health of the four services; exit code 1 if any is unhealthy
//   timescale  the optional second PostgreSQL cluster with TimescaleDB (test variant): prints
//           TIMESCALE_DATABASE_URL=…, or TIMESCALE_SKIPPED=<why there is none>
import { StackError, ensureStack, ensureTimescaleCluster, stackStatus, stopStack } from './stack/mod.ts';

async function main(command: string | undefined): Promise<number> {
  switch (command) {
    case 'up': {
      const urls = await ensureStack();
      console.log(
        [
          `NATS_URL=${urls.natsUrl}`,
          `DATABASE_URL=${urls.databaseUrl}`,
          `CLICKHOUSE_URL=${urls.clickhouseUrl}`,
          `REDIS_URL=${urls.redisUrl}`,
        ].join('\n'),
      );
      return 0;
    }
    case 'timescale': {
      const cluster = await ensureTimescaleCluster();
      if ('skipped' in cluster) console.log(`TIMESCALE_SKIPPED=${cluster.skipped}`);
      else console.log(`TIMESCALE_DATABASE_URL=${cluster.url}`);
      return 0;
    }
    case 'down':
      await stopStack();
      return 0;
    case 'status': {
      const status = await stackStatus();
      console.log(JSON.stringify(status, null, 2));
      return Object.values(status).every((s) => s.healthy) ? 0 : 1;
    }
    default:
      console.error('usage: tsx ops/stack.ts up | down | status | timescale');
      return 2;
  }
}

try {
  process.exitCode = await main(process.argv[2]);
} catch (err) {
  if (err instanceof StackError) {
    console.error(`vigil stack: ${err.code}: ${err.message}`);
    const cause = err.cause instanceof Error ? err.cause.message : '';
    if (cause !== '' && cause !== err.message && !err.message.includes(cause))
      console.error(`  cause: ${cause}`);
  } else {
    console.error(err);
  }
  process.exitCode = 1;
}
