import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { StackError } from './errors.ts';
import { requireExecutable } from './packages.ts';
import {
  confString,
  confTemplate,
  renderTemplate,
  run,
  runningFromPidFile,
  terminate,
  waitExit,
  writeIfChanged,
} from './process.ts';
import type { ManagedService, StackConfig } from './types.ts';

function client(url: string): Redis {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  redis.on('error', () => {}); // failures surface through the awaited calls
  return redis;
}

export async function probeRedis(url: string): Promise<boolean> {
  const redis = client(url);
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

export function createRedisService(cfg: StackConfig, log: Logger): ManagedService {
  const dir = path.join(cfg.home, 'redis');
  const confFile = path.join(dir, 'redis.conf');
  const pidFile = path.join(dir, 'redis.pid');
  const logFile = path.join(cfg.logsDir, 'redis.log');
  return {
    name: 'redis',
    ports: [cfg.ports.redis],
    logFile,
    async prepare() {
      fs.mkdirSync(dir, { recursive: true });
      const conf = renderTemplate(confTemplate('redis.conf'), {
        PORT: cfg.ports.redis,
        PID_FILE: confString(pidFile),
        LOG_FILE: confString(logFile),
        DIR: confString(dir),
      });
      return writeIfChanged(confFile, conf);
    },
    runningPid: () => runningFromPidFile(pidFile, 'redis-server'),
    async start() {
      const bin = requireExecutable('redis-server');
      log.info({ port: cfg.ports.redis, conf: confFile }, 'starting redis-server');
      fs.rmSync(pidFile, { force: true });
      await run(bin, [confFile], { cwd: dir, timeoutMs: 30_000 }); // daemonize yes: returns once forked
      for (let i = 0; i < 50; i++) {
        const pid = this.runningPid();
        if (pid !== undefined) return pid;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new StackError('START_FAILED', `redis-server wrote no pid file ${pidFile}`);
    },
    healthy: () => probeRedis(cfg.urls.redisUrl),
    async stop() {
      const pid = this.runningPid();
      if (pid === undefined) return;
      log.info({ pid }, 'stopping redis-server');
      const redis = client(cfg.urls.redisUrl);
      try {
        await redis.connect();
        await redis.call('SHUTDOWN', 'NOSAVE');
      } catch {
        // the server closes the connection as it shuts down
      } finally {
        redis.disconnect();
      }
      if (await waitExit(pid, 'redis-server', 10_000)) return;
      if (!(await terminate(pid, 'redis-server', 'SIGTERM', 20_000)))
        log.warn({ pid }, 'redis-server killed');
    },
  };
}
