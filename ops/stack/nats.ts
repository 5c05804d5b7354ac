import fs from 'node:fs';
import path from 'node:path';
import { connect } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { LOOPBACK } from './config.ts';
import { setSynchronousWrites } from './durability.ts';
import { requireExecutable } from './packages.ts';
import {
  confString,
  confTemplate,
  renderTemplate,
  runningFromPidFile,
  spawnDetached,
  terminate,
  writeIfChanged,
} from './process.ts';
import type { ManagedService, StackConfig } from './types.ts';

/** Client round trip (CONNECT + PING/PONG); works for any NATS URL. */
export async function probeNats(url: string): Promise<boolean> {
  try {
    const nc = await connect({ servers: url, timeout: 2000, reconnect: false });
    try {
      await nc.flush();
      return true;
    } finally {
      await nc.close();
    }
  } catch {
    return false;
  }
}

export function createNatsService(cfg: StackConfig, log: Logger): ManagedService {
  const dir = path.join(cfg.home, 'nats');
  const confFile = path.join(dir, 'nats.conf');
  const pidFile = path.join(dir, 'nats.pid');
  const logFile = path.join(cfg.logsDir, 'nats.log');
  const monitor = `http://${LOOPBACK}:${cfg.ports.natsMonitor}`;

  return {
    name: 'nats',
    ports: [cfg.ports.nats, cfg.ports.natsMonitor],
    logFile,
    async prepare() {
      fs.mkdirSync(dir, { recursive: true });
      // Applied on every start, both ways, so unsetting VIGIL_DURABLE really turns it off.
      setSynchronousWrites(path.join(dir, 'jetstream'), cfg.durability === 'always');
      if (cfg.durability === 'always')
        log.info({ dir }, 'VIGIL_DURABLE=always: JetStream writes reach disk before the ack');
      const conf = renderTemplate(confTemplate('nats.conf'), {
        PORT: cfg.ports.nats,
        MONITOR_PORT: cfg.ports.natsMonitor,
        PID_FILE: confString(pidFile),
        LOG_FILE: confString(logFile),
        STORE_DIR: confString(dir), // the server appends /jetstream
        PARTITIONS: cfg.partitions,
      });
      return writeIfChanged(confFile, conf);
    },
    runningPid: () => runningFromPidFile(pidFile, 'nats-server'),
    async start() {
      const bin = requireExecutable('nats-server');
      log.info({ port: cfg.ports.nats, conf: confFile }, 'starting nats-server');
      // stdout only catches errors before log_file takes over (e.g. a bad config)
      return spawnDetached(bin, ['-c', confFile], {
        logFile: path.join(cfg.logsDir, 'nats.stdout.log'),
        cwd: dir,
      });
    },
    async healthy() {
      try {
        const res = await fetch(`${monitor}/healthz?js-enabled-only=true`, {
          signal: AbortSignal.timeout(2000),
        });
        if (!res.ok) return false;
        const body = (await res.json()) as { status?: string };
        return body.status === 'ok' && (await probeNats(cfg.urls.natsUrl));
      } catch {
        return false;
      }
    },
    async stop() {
      const pid = this.runningPid();
      if (pid === undefined) return;
      log.info({ pid }, 'stopping nats-server');
      if (!(await terminate(pid, 'nats-server', 'SIGTERM', 30_000))) log.warn({ pid }, 'nats-server killed');
    },
  };
}
