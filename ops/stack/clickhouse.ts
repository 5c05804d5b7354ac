import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { requireExecutable } from './packages.ts';
import {
  confTemplate,
  renderTemplate,
  runningFromPidFile,
  spawnDetached,
  terminate,
  writeIfChanged,
} from './process.ts';
import type { ManagedService, StackConfig } from './types.ts';

/** GET /ping answers "Ok." without authentication on every ClickHouse version. */
export async function probeClickHouse(url: string): Promise<boolean> {
  try {
    const u = new URL(url); // credentials in the URL are not allowed by fetch; /ping needs none
    const res = await fetch(`${u.protocol}//${u.host}/ping`, { signal: AbortSignal.timeout(2000) });
    return res.ok && (await res.text()).trim() === 'Ok.';
  } catch {
    return false;
  }
}

const xml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function createClickHouseService(cfg: StackConfig, log: Logger): ManagedService {
  const dir = path.join(cfg.home, 'clickhouse');
  const dataDir = path.join(dir, 'data');
  const configFile = path.join(dir, 'config.xml');
  const usersFile = path.join(dir, 'users.xml');
  const pidFile = path.join(dir, 'clickhouse.pid');
  const logFile = path.join(cfg.logsDir, 'clickhouse.log');
  return {
    name: 'clickhouse',
    ports: [cfg.ports.clickhouseHttp, cfg.ports.clickhouseTcp, cfg.ports.clickhouseInterserver],
    logFile,
    async prepare() {
      fs.mkdirSync(dataDir, { recursive: true });
      const users = renderTemplate(confTemplate('clickhouse-users.xml'), {});
      const config = renderTemplate(confTemplate('clickhouse-config.xml'), {
        LOG_FILE: xml(logFile),
        ERROR_LOG_FILE: xml(path.join(cfg.logsDir, 'clickhouse.err.log')),
        HTTP_PORT: cfg.ports.clickhouseHttp,
        TCP_PORT: cfg.ports.clickhouseTcp,
        INTERSERVER_PORT: cfg.ports.clickhouseInterserver,
        DATA_DIR: xml(dataDir),
        USERS_FILE: xml(usersFile),
      });
      const usersChanged = writeIfChanged(usersFile, users);
      return writeIfChanged(configFile, config) || usersChanged;
    },
    runningPid: () => runningFromPidFile(pidFile, 'clickhouse'),
    async start() {
      const bin = requireExecutable('clickhouse-server', 'clickhouse');
      // The single binary of current releases needs the "server" subcommand; 18.16 ships clickhouse-server.
      const args =
        path.basename(bin) === 'clickhouse'
          ? ['server', `--config-file=${configFile}`]
          : [`--config-file=${configFile}`];
      log.info({ port: cfg.ports.clickhouseHttp, conf: configFile }, 'starting clickhouse-server');
      // Runs as the invoking user, root included: 18.16 does not object, and current releases only
      // object when the data directory belongs to someone else — ours is created by the same user.
      const pid = await spawnDetached(bin, args, {
        logFile: path.join(cfg.logsDir, 'clickhouse.stdout.log'),
        cwd: dir,
      });
      fs.writeFileSync(pidFile, `${pid}\n`);
      return pid;
    },
    healthy: () => probeClickHouse(cfg.urls.clickhouseUrl),
    async stop() {
      const pid = this.runningPid();
      if (pid === undefined) return;
      log.info({ pid }, 'stopping clickhouse-server');
      if (!(await terminate(pid, 'clickhouse', 'SIGTERM', 60_000)))
        log.warn({ pid }, 'clickhouse-server killed');
      fs.rmSync(pidFile, { force: true });
    },
  };
}
