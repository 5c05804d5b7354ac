import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { REPO_ROOT } from './config.ts';
import { StackError } from './errors.ts';
import type { PgInstall } from './packages.ts';
import { run } from './process.ts';

/**
 * A private PostgreSQL installation with TimescaleDB, for the second test variant.
 *
 * The vendored build (`shared/vendor/timescaledb/`, see its README) installs into the system
 * PostgreSQL's lib and share directories. Doing that would make every embedded cluster on the
 * machine preload it, including the plain one the native variant needs. PostgreSQL finds its
 * lib and share directories relative to its own executable, so a copy of the server binaries
 * with the extension beside them is a self-contained installation: the system stays untouched.
 */

const VENDOR_ENV = 'VIGIL_TIMESCALEDB_VENDOR';
const VENDOR_SUBDIR = path.join('shared', 'vendor', 'timescaledb');
/** Where this project's CI machines keep it, for a clone made outside that tree (e.g. /tmp). */
const WORKPLACE_VENDOR = '/work/shared/vendor/timescaledb';
const TARBALL_RE = /^timescaledb-[\d.]+-pg(\d+)-amd64\.tar\.gz$/;
/** What initdb, pg_ctl and the server need; client tools stay in the system install. */
const SERVER_BINARIES = ['postgres', 'initdb', 'pg_ctl'];

export interface TimescaleVendor {
  dir: string;
  tarball: string;
  /** The PostgreSQL major version the build is for. */
  pgVersion: string;
}

/**
 * The vendored TimescaleDB build: `$VIGIL_TIMESCALEDB_VENDOR`, else `shared/vendor/timescaledb`
 * in the repository's folder or any folder above it (a worktree or CI clone sits beside
 * `shared/`), else the CI machines' /work/shared/vendor/timescaledb. Undefined when there is
 * none, which is the normal case on a user's machine.
 */
export function findTimescaleVendor(env: NodeJS.ProcessEnv = process.env): TimescaleVendor | undefined {
  const given = env[VENDOR_ENV]?.trim();
  const candidates: string[] = [];
  if (given) candidates.push(path.resolve(given));
  else
    for (let dir = REPO_ROOT; ; dir = path.dirname(dir)) {
      candidates.push(path.join(dir, VENDOR_SUBDIR));
      if (dir === path.dirname(dir)) break;
    }
  if (!given) candidates.push(WORKPLACE_VENDOR);
  for (const dir of candidates) {
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names.sort()) {
      const m = TARBALL_RE.exec(name);
      if (m) return { dir, tarball: path.join(dir, name), pgVersion: m[1]! };
    }
  }
  return undefined;
}

async function pgConfig(install: PgInstall, what: string): Promise<string> {
  const { stdout } = await run(path.join(install.binDir, 'pg_config'), [`--${what}`], { timeoutMs: 30_000 });
  return stdout.trim();
}

/** Verifies the tarball against the SHA256SUMS file beside it; returns its digest. */
function verifiedDigest(vendor: TimescaleVendor): string {
  const digest = createHash('sha256').update(fs.readFileSync(vendor.tarball)).digest('hex');
  const sums = path.join(vendor.dir, 'SHA256SUMS');
  const listed = fs.existsSync(sums)
    ? fs
        .readFileSync(sums, 'utf8')
        .split('\n')
        .map((l) => l.trim().split(/\s+\*?/))
        .find(([, file]) => file === path.basename(vendor.tarball))?.[0]
    : undefined;
  if (listed !== undefined && listed !== digest) {
    throw new StackError('INSTALL_REQUIRED', `${vendor.tarball} does not match ${sums}`);
  }
  return digest;
}

function longestCommonDir(dirs: string[]): string {
  const split = dirs.map((d) => d.split(path.sep));
  const first = split[0] ?? [];
  let n = 0;
  while (n < first.length && split.every((parts) => parts[n] === first[n])) n++;
  return first.slice(0, n).join(path.sep) || path.sep;
}

/**
 * Builds (once; again when the tarball or PostgreSQL changes) `<home>/timescaledb/` holding
 * the server binaries, their lib and share directories in the same relative layout, and the
 * vendored extension on top. Returns it as a PgInstall.
 */
export async function privateTimescaleInstall(
  home: string,
  system: PgInstall,
  vendor: TimescaleVendor,
  log: Logger,
): Promise<PgInstall> {
  if (system.version !== vendor.pgVersion) {
    throw new StackError(
      'INSTALL_REQUIRED',
      `the vendored TimescaleDB is built for PostgreSQL ${vendor.pgVersion}; this machine has ${system.version}`,
    );
  }
  const [bindir, pkglibdir, sharedir, pgVersion] = await Promise.all(
    ['bindir', 'pkglibdir', 'sharedir', 'version'].map((w) => pgConfig(system, w)),
  );
  const root = path.join(home, 'timescaledb');
  const prefix = longestCommonDir([bindir!, pkglibdir!, sharedir!]);
  const under = (dir: string): string => path.join(root, path.relative(prefix, dir));
  const stamp = `${verifiedDigest(vendor)} ${pgVersion} ${prefix}\n`;
  const stampFile = path.join(root, '.installed');
  const installed: PgInstall = { version: system.version, binDir: under(bindir!), libDir: under(pkglibdir!) };
  if (fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === stamp) return installed;

  log.info({ root, tarball: vendor.tarball }, 'building a private PostgreSQL + TimescaleDB installation');
  fs.rmSync(root, { recursive: true, force: true });
  fs.mkdirSync(installed.binDir, { recursive: true, mode: 0o755 });
  for (const name of SERVER_BINARIES)
    fs.copyFileSync(path.join(bindir!, name), path.join(installed.binDir, name));
  for (const name of SERVER_BINARIES) fs.chmodSync(path.join(installed.binDir, name), 0o755);
  // JIT bitcode is large and unused (jit is off in this cluster).
  fs.cpSync(pkglibdir!, installed.libDir, {
    recursive: true,
    filter: (src) => path.basename(src) !== 'bitcode',
  });
  fs.cpSync(sharedir!, under(sharedir!), { recursive: true });
  // The archive holds shared objects and extension files (README): put each kind where this
  // installation looks for it, whatever prefix the archive was made with.
  const unpacked = path.join(root, '.unpacked');
  fs.mkdirSync(unpacked);
  await run('tar', ['-xzf', vendor.tarball, '-C', unpacked, '--no-same-owner'], { timeoutMs: 120_000 });
  for (const file of fs.readdirSync(unpacked, { recursive: true, encoding: 'utf8' })) {
    const src = path.join(unpacked, file);
    if (!fs.statSync(src).isFile()) continue;
    const dest = file.endsWith('.so')
      ? installed.libDir
      : path.basename(path.dirname(file)) === 'extension'
        ? path.join(under(sharedir!), 'extension')
        : undefined;
    if (dest !== undefined) fs.copyFileSync(src, path.join(dest, path.basename(file)));
  }
  fs.rmSync(unpacked, { recursive: true });
  if (!fs.existsSync(path.join(installed.libDir, 'timescaledb.so'))) {
    throw new StackError('INSTALL_REQUIRED', `${vendor.tarball} holds no timescaledb.so`);
  }
  // The postgres user reads this tree when root starts the cluster.
  fs.chmodSync(root, 0o755);
  fs.writeFileSync(stampFile, stamp);
  return installed;
}
