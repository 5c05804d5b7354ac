import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { StackError } from './errors.ts';
import { isRoot, run } from './process.ts';
import type { ServiceName } from './types.ts';

// sbin is often missing from a non-root PATH, and Debian puts nats-server there.
const EXTRA_BIN_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
const PG_ROOT = '/usr/lib/postgresql';

function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env['PATH'] ?? '').split(path.delimiter).filter(Boolean), ...EXTRA_BIN_DIRS];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The first of `names` found, or INSTALL_REQUIRED naming the first. */
export function requireExecutable(...names: [string, ...string[]]): string {
  for (const name of names) {
    const bin = findExecutable(name);
    if (bin !== undefined) return bin;
  }
  throw new StackError('INSTALL_REQUIRED', `${names[0]} not found`);
}

export interface PgInstall {
  version: string;
  binDir: string;
  libDir: string;
}

/** Newest Debian-layout PostgreSQL (/usr/lib/postgresql/<ver>/bin), else pg_ctl on PATH. */
export function findPostgres(): PgInstall | undefined {
  let versions: string[] = [];
  try {
    versions = fs.readdirSync(PG_ROOT).filter((v) => fs.existsSync(path.join(PG_ROOT, v, 'bin', 'pg_ctl')));
  } catch {
    // not a Debian layout
  }
  versions.sort((a, b) => Number(b) - Number(a));
  const newest = versions[0];
  if (newest !== undefined) {
    return {
      version: newest,
      binDir: path.join(PG_ROOT, newest, 'bin'),
      libDir: path.join(PG_ROOT, newest, 'lib'),
    };
  }
  const pgCtl = findExecutable('pg_ctl');
  if (pgCtl === undefined) return undefined;
  const binDir = path.dirname(pgCtl);
  return { version: 'unknown', binDir, libDir: path.join(path.dirname(binDir), 'lib') };
}

function missingPackages(service: ServiceName): string[] {
  switch (service) {
    case 'nats':
      return findExecutable('nats-server') ? [] : ['nats-server'];
    case 'redis':
      return findExecutable('redis-server') ? [] : ['redis-server'];
    case 'clickhouse':
      return [
        ...(findExecutable('clickhouse-server') ? [] : ['clickhouse-server']),
        ...(findExecutable('clickhouse-client') ? [] : ['clickhouse-client']),
      ];
    case 'postgres':
      return findPostgres() ? [] : ['postgresql'];
    default: {
      const unreachable: never = service;
      return unreachable;
    }
  }
}

async function aptCandidate(pkg: string): Promise<boolean> {
  try {
    const { stdout } = await run('apt-cache', ['policy', pkg], { timeoutMs: 60_000 });
    const candidate = /Candidate:\s*(\S+)/.exec(stdout)?.[1];
    return candidate !== undefined && candidate !== '(none)';
  } catch {
    return false;
  }
}

/** Resolves the abstract `postgresql` to a versioned package (preferring 15) plus TimescaleDB if apt has it. */
async function concretePackages(wanted: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const pkg of wanted) {
    if (pkg !== 'postgresql') {
      out.push(pkg);
      continue;
    }
    const pg = (await aptCandidate('postgresql-15')) ? 'postgresql-15' : 'postgresql';
    out.push(pg);
    if (pg === 'postgresql-15' && (await aptCandidate('postgresql-15-timescaledb')))
      out.push('postgresql-15-timescaledb');
  }
  return out;
}

/**
 * The test and demo RTSP server (ops/rtsp) is Debian's GStreamer RTSP server driven through
 * python3-gi; its typelib and the plugins of its pipeline tell whether the packages are there.
 */
const RTSP_TYPELIB = 'girepository-1.0/GstRtspServer-1.0.typelib';
export const RTSP_PACKAGES = [
  'python3-gi',
  'gir1.2-gst-rtsp-server-1.0',
  'gstreamer1.0-plugins-base',
  'gstreamer1.0-plugins-good',
  'gstreamer1.0-plugins-bad',
];

/**
 * The elements its pipeline uses, by plugin file: matroskademux, rtph264pay, the RTP session and
 * UDP/TCP sinks (plugins-good, plugins-base) and h264parse (plugins-bad).
 */
const RTSP_PLUGINS = [
  'libgstmatroska.so',
  'libgstrtp.so',
  'libgstrtpmanager.so',
  'libgstudp.so',
  'libgstapp.so',
  'libgstvideoparsersbad.so',
];

function missingRtspPackages(): string[] {
  const libDirs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib', '/usr/lib64'];
  const found = libDirs.some((d) => fs.existsSync(path.join(d, RTSP_TYPELIB)));
  const plugins = RTSP_PLUGINS.every((p) =>
    libDirs.some((d) => fs.existsSync(path.join(d, 'gstreamer-1.0', p))),
  );
  return found && plugins ? [] : RTSP_PACKAGES;
}

/**
 * Debian's Chromium drives the dashboard checks in headless mode (through playwright-core, which
 * never downloads a browser of its own). Like the RTSP server it serves tests only.
 */
export const CHROMIUM_PATH = '/usr/bin/chromium';
const BROWSER_PACKAGES = ['chromium'];

function missingBrowserPackages(): string[] {
  return fs.existsSync(CHROMIUM_PATH) ? [] : BROWSER_PACKAGES;
}

/**
 * The camera overlay (GET /v1/cameras/:id/overlay) labels its zones with text that sharp renders
 * through fontconfig: with no font installed the labels are silently missing.
 */
const FONT_FILE = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';
const FONT_PACKAGES = ['fonts-dejavu-core'];

function missingFontPackages(): string[] {
  return fs.existsSync(FONT_FILE) ? [] : FONT_PACKAGES;
}

/** Installs the Debian packages the embedded services need; no-op (a few stat calls) when present. */
export async function ensurePackages(services: readonly ServiceName[], log: Logger): Promise<void> {
  const hasApt = findExecutable('apt-get') !== undefined;
  // The RTSP server only serves tests and demo cameras: installed when we can, never a blocker.
  const extras = [...missingRtspPackages(), ...missingBrowserPackages(), ...missingFontPackages()];
  if (extras.length > 0 && !(isRoot() && hasApt))
    log.warn(
      { packages: extras },
      'RTSP test/demo server, headless browser or overlay fonts unavailable: these packages are missing',
    );
  const wanted = [...new Set([...services.flatMap(missingPackages), ...(isRoot() && hasApt ? extras : [])])];
  if (wanted.length === 0) return;
  if (!isRoot() || !hasApt) {
    const hint = hasApt
      ? `sudo apt-get update && sudo apt-get install -y ${(await concretePackages(wanted)).join(' ')}`
      : `install these (Debian/Ubuntu names): ${wanted.join(' ')}`;
    throw new StackError(
      'INSTALL_REQUIRED',
      `missing packages for the embedded stack; run:\n  ${hint}\n` +
        'or set NATS_URL, DATABASE_URL, CLICKHOUSE_URL, REDIS_URL to services you already run',
    );
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  log.info({ packages: wanted }, 'installing missing packages (apt-get update first)');
  await run('apt-get', ['update'], { env, timeoutMs: 600_000 });
  const pkgs = await concretePackages(wanted);
  log.info({ packages: pkgs }, 'apt-get install');
  // --no-upgrade: we came for what is missing, not to move installed servers to a new minor release
  await run('apt-get', ['-o', 'DPkg::Lock::Timeout=300', 'install', '-y', '--no-upgrade', ...pkgs], {
    env,
    timeoutMs: 1_800_000,
  });
  const still = services.flatMap(missingPackages);
  if (still.length > 0) {
    throw new StackError('INSTALL_REQUIRED', `still missing after apt-get install: ${still.join(' ')}`);
  }
}
