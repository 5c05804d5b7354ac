import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { Logger } from 'pino';
import { StackError } from './errors.ts';
import { findPostgres, type PgInstall } from './packages.ts';
import { confTemplate, isRoot, renderTemplate, run, runningFromPidFile, writeIfChanged } from './process.ts';
import type { ManagedService, StackConfig } from './types.ts';

/** Which cluster: the main one (preloads TimescaleDB when the system has it) or the private one. */
export interface PostgresCluster {
  name: 'postgres' | 'postgres-timescale';
  /** Folder under VIGIL_HOME holding the data directory. */
  dir: string;
  port: number;
  /** A fixed installation; the system's newest PostgreSQL when absent. */
  install?: PgInstall;
  /** `auto`: preload TimescaleDB when the installation has it. */
  timescale: 'auto' | 'always';
  sharedBuffers: string;
}

export function mainCluster(cfg: StackConfig): PostgresCluster {
  return {
    name: 'postgres',
    dir: 'postgres',
    port: cfg.ports.postgres,
    timescale: 'auto',
    sharedBuffers: '256MB',
  };
}

/**
 * Settings a TimescaleDB cluster needs beyond the preload: background workers for the policy
 * and refresh jobs of every database (the default 8 processes run out with two databases and
 * parallel queries), no phoning home, and no JIT (its bitcode is not in the private install).
 */
const TIMESCALE_SETTINGS = [
  "shared_preload_libraries = 'timescaledb'",
  'max_worker_processes = 32',
  'timescaledb.max_background_workers = 16',
  "timescaledb.telemetry_level = 'off'",
  'jit = off',
].join('\n');

const INCLUDE_LINE = "include_if_exists = 'vigil.conf'";
// sun_path is 108 bytes; a deep repo path falls back to TCP only.
const MAX_SOCKET_PATH = 100;

export async function probePostgres(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

interface PgUser {
  uid: number;
  gid: number;
}

function postgresUser(): PgUser | undefined {
  if (!isRoot()) return undefined;
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) {
    throw new StackError(
      'START_FAILED',
      'running as root but there is no postgres user to run PostgreSQL as',
    );
  }
  return { uid: Number(uid), gid: Number(gid) };
}

/** initdb and postgres refuse root, so as root they run as the postgres user. */
function asPostgres(user: PgUser | undefined, cmd: string, args: string[]): [string, string[]] {
  return user === undefined ? [cmd, args] : ['runuser', ['-u', 'postgres', '--', cmd, ...args]];
}

/** The postgres user must be able to reach its data dir through every parent directory. */
function makeParentsTraversable(dir: string, log: Logger): void {
  for (let p = path.dirname(dir); ; p = path.dirname(p)) {
    const mode = fs.statSync(p).mode;
    if ((mode & 0o001) === 0) {
      fs.chmodSync(p, (mode & 0o7777) | 0o001);
      log.warn({ dir: p }, 'added o+x so the postgres user can reach its data directory');
    }
    if (p === path.dirname(p)) return;
  }
}

const pgQuote = (s: string): string => s.replace(/'/g, "''");

export function createPostgresService(
  cfg: StackConfig,
  log: Logger,
  cluster: PostgresCluster = mainCluster(cfg),
): ManagedService {
  const dataDir = path.join(cfg.home, cluster.dir);
  const logFile = path.join(cfg.logsDir, `${cluster.name}.log`);
  const adminUrl = `postgres://postgres@127.0.0.1:${cluster.port}/postgres`;
  let install: PgInstall | undefined = cluster.install;
  const bin = (name: string): string => {
    install ??= findPostgres();
    if (install === undefined) throw new StackError('INSTALL_REQUIRED', 'PostgreSQL not found');
    return path.join(install.binDir, name);
  };
  const exec = (user: PgUser | undefined, name: string, args: string[], timeoutMs = 120_000) => {
    const [cmd, argv] = asPostgres(user, bin(name), args);
    return run(cmd, argv, { timeoutMs });
  };

  async function initdb(user: PgUser | undefined): Promise<void> {
    log.info({ dataDir }, 'initdb');
    const base = ['-D', dataDir, '--auth=trust', '--username=postgres', '-E', 'UTF8'];
    try {
      await exec(user, 'initdb', [...base, '--locale=C.UTF-8']);
    } catch (err) {
      // initdb removes what it created on failure, so retrying with the always-present C locale is safe
      log.warn({ err }, 'initdb with C.UTF-8 failed; retrying with locale C');
      await exec(user, 'initdb', [...base, '--locale=C']);
    }
  }

  return {
    name: cluster.name,
    ports: [cluster.port],
    logFile,
    async prepare() {
      const user = postgresUser();
      fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      fs.mkdirSync(cfg.logsDir, { recursive: true });
      if (!fs.existsSync(logFile)) fs.writeFileSync(logFile, '');
      if (user !== undefined) {
        makeParentsTraversable(dataDir, log);
        fs.chownSync(dataDir, user.uid, user.gid);
        fs.chownSync(logFile, user.uid, user.gid);
      }
      fs.chmodSync(dataDir, 0o700);
      if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) await initdb(user);

      const mainConf = path.join(dataDir, 'postgresql.conf');
      if (!fs.readFileSync(mainConf, 'utf8').includes(INCLUDE_LINE)) {
        fs.appendFileSync(
          mainConf,
          `\n# Vigil settings (ops/conf/postgresql.conf), last so they win\n${INCLUDE_LINE}\n`,
        );
      }
      bin('pg_ctl'); // resolves `install`
      const timescale =
        cluster.timescale === 'always' ||
        (install !== undefined && fs.existsSync(path.join(install.libDir, 'timescaledb.so')));
      const socketOk = path.join(dataDir, `.s.PGSQL.${cluster.port}`).length <= MAX_SOCKET_PATH;
      if (!socketOk) log.warn({ dataDir }, 'path too long for a unix socket; PostgreSQL listens on TCP only');
      const conf = renderTemplate(confTemplate('postgresql.conf'), {
        PORT: cluster.port,
        SOCKET_DIR: socketOk ? pgQuote(dataDir) : '',
        SHARED_BUFFERS: cluster.sharedBuffers,
        PRELOAD: timescale ? TIMESCALE_SETTINGS : '# timescaledb not installed',
      });
      const vigilConf = path.join(dataDir, 'vigil.conf');
      const changed = writeIfChanged(vigilConf, conf, 0o600);
      if (user !== undefined) fs.chownSync(vigilConf, user.uid, user.gid);
      return changed;
    },
    runningPid: () => runningFromPidFile(path.join(dataDir, 'postmaster.pid'), 'postgres'),
    async start() {
      log.info({ port: cluster.port, dataDir }, 'starting postgresql');
      // pg_ctl puts the postmaster in its own session, so it outlives us; -w waits for readiness
      const timeoutSec = String(Math.ceil(cfg.startTimeoutMs / 1000));
      try {
        await exec(
          postgresUser(),
          'pg_ctl',
          ['-D', dataDir, '-l', logFile, '-w', '-t', timeoutSec, 'start'],
          cfg.startTimeoutMs + 10_000,
        );
      } catch (err) {
        throw new StackError('START_FAILED', `pg_ctl start failed; see ${logFile}`, { cause: err });
      }
      const pid = this.runningPid();
      if (pid === undefined)
        throw new StackError('START_FAILED', `postgres did not write ${dataDir}/postmaster.pid`);
      return pid;
    },
    healthy: () => probePostgres(adminUrl),
    async afterHealthy() {
      const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
      await client.connect();
      try {
        const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = 'vigil'");
        if (rowCount === 0) {
          log.info('creating database vigil');
          await client.query('CREATE DATABASE vigil');
        }
      } catch (err) {
        if ((err as { code?: string }).code !== '42P04') throw err; // created concurrently
      } finally {
        await client.end();
      }
    },
    async stop() {
      if (this.runningPid() === undefined) return;
      log.info({ dataDir }, 'stopping postgresql (fast)');
      await exec(postgresUser(), 'pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', '-t', '60', 'stop'], 70_000);
    },
  };
}
