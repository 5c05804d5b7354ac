import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type CryptoKey,
  type JWK,
} from 'jose';
import { VigilError, type Logger } from '../../schemas/mod.ts';

/** The one signing algorithm. Verification accepts nothing else (no `none`, no HMAC). */
export const JWT_ALG = 'EdDSA';

const KEY_FILE = /^[A-Za-z0-9_-]{8,64}\.key\.json$/;
const LOCK_FILE = '.generate.lock';
const LOCK_STALE_MS = 10_000;
/** A token with an unknown kid makes us re-read the directory, at most this often. */
const RELOAD_EVERY_MS = 5_000;

export interface KeyRingOptions {
  /** Least time between directory re-reads caused by unknown kids (default 5 s). */
  reloadEveryMs?: number;
}

/** On disk: one file per key, `<kid>.key.json`, mode 0600. */
interface StoredKey {
  kid: string;
  alg: typeof JWT_ALG;
  createdAt: string;
  jwk: JWK;
}

interface LoadedKey {
  kid: string;
  createdAt: number;
  publicKey: CryptoKey;
  privateKey: CryptoKey;
}

function isStoredKey(v: unknown): v is StoredKey {
  const k = v as Partial<StoredKey> | null;
  return (
    typeof k === 'object' &&
    k !== null &&
    typeof k.kid === 'string' &&
    k.alg === JWT_ALG &&
    typeof k.createdAt === 'string' &&
    typeof k.jwk === 'object' &&
    k.jwk !== null &&
    typeof k.jwk.d === 'string'
  );
}

async function loadKey(path: string): Promise<LoadedKey> {
  const parsed: unknown = JSON.parse(await readFile(path, 'utf8'));
  if (!isStoredKey(parsed)) throw new VigilError('INTERNAL', `not a Vigil signing key: ${path}`);
  const { d: _private, ...pub } = parsed.jwk;
  const [privateKey, publicKey] = await Promise.all([
    importJWK(parsed.jwk, JWT_ALG),
    importJWK(pub, JWT_ALG),
  ]);
  if (privateKey instanceof Uint8Array || publicKey instanceof Uint8Array) {
    throw new VigilError('INTERNAL', `unusable signing key: ${path}`);
  }
  return { kid: parsed.kid, createdAt: Date.parse(parsed.createdAt), publicKey, privateKey };
}

/** Write a new key file atomically (temp file + rename), readable by its owner only. */
export async function generateKey(dir: string): Promise<string> {
  const { privateKey } = await generateKeyPair(JWT_ALG, { crv: 'Ed25519', extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = (await calculateJwkThumbprint(jwk)).slice(0, 32);
  const stored: StoredKey = { kid, alg: JWT_ALG, createdAt: new Date().toISOString(), jwk };
  const tmp = join(dir, `.${kid}.${randomBytes(4).toString('hex')}.tmp`);
  await writeFile(tmp, JSON.stringify(stored), { mode: 0o600, flag: 'wx' });
  await rename(tmp, join(dir, `${kid}.key.json`));
  return kid;
}

async function keyFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => KEY_FILE.test(f)).sort();
}

/**
 * Several processes may start at once on an empty directory (gateway nodes, parallel tests):
 * only the holder of an exclusive lock file generates the first key; the others wait for it.
 */
async function ensureFirstKey(dir: string, log: Logger): Promise<void> {
  const deadline = Date.now() + 3 * LOCK_STALE_MS;
  while ((await keyFiles(dir)).length === 0) {
    const lockPath = join(dir, LOCK_FILE);
    try {
      const lock = await open(lockPath, 'wx', 0o600);
      try {
        if ((await keyFiles(dir)).length === 0) {
          const kid = await generateKey(dir);
          log.info({ kid, dir }, 'generated the first JWT signing key');
        }
      } finally {
        await lock.close();
        await unlink(lockPath).catch(() => undefined);
      }
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = Date.now() - (await stat(lockPath).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
      // A lock left by a crashed process must not block every later start.
      if (age > LOCK_STALE_MS) await unlink(lockPath).catch(() => undefined);
      if (Date.now() > deadline) throw new VigilError('INTERNAL', `timed out waiting for ${lockPath}`);
      await sleep(50);
    }
  }
}

/**
 * The signing keys: the newest signs, every key in the directory verifies. Rotation is adding
 * a key file (`generateKey`, or the CLI's `rotate-jwt-key`); old keys stay until every token
 * they signed has expired, then may be deleted.
 */
export class KeyRing {
  readonly #dir: string;
  readonly #log: Logger;
  #keys = new Map<string, LoadedKey>();
  #signing: LoadedKey | null = null;
  readonly #reloadEveryMs: number;
  #lastReload = 0;
  #reloading: Promise<void> | null = null;

  private constructor(dir: string, log: Logger, opts: KeyRingOptions) {
    this.#dir = dir;
    this.#log = log;
    this.#reloadEveryMs = opts.reloadEveryMs ?? RELOAD_EVERY_MS;
  }

  static async open(dir: string, log: Logger, opts: KeyRingOptions = {}): Promise<KeyRing> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await ensureFirstKey(dir, log);
    const ring = new KeyRing(dir, log, opts);
    await ring.reload();
    return ring;
  }

  get signingKey(): { kid: string; key: CryptoKey } {
    if (!this.#signing) throw new VigilError('INTERNAL', 'no signing key loaded');
    return { kid: this.#signing.kid, key: this.#signing.privateKey };
  }

  async reload(): Promise<void> {
    this.#lastReload = Date.now();
    const keys = new Map<string, LoadedKey>();
    for (const f of await keyFiles(this.#dir)) {
      try {
        const k = await loadKey(join(this.#dir, f));
        keys.set(k.kid, k);
      } catch (err) {
        this.#log.error({ err, file: f }, 'skipping unreadable JWT key file');
      }
    }
    if (keys.size === 0) throw new VigilError('INTERNAL', `no usable JWT keys in ${this.#dir}`);
    this.#keys = keys;
    this.#signing = [...keys.values()].reduce((a, b) => (b.createdAt > a.createdAt ? b : a));
  }

  /** The verification key for `kid`; an unknown kid may be a key another node just added. */
  async verificationKey(kid: string | undefined): Promise<CryptoKey | null> {
    if (!kid) return null;
    const known = this.#keys.get(kid);
    if (known) return known.publicKey;
    if (Date.now() - this.#lastReload < this.#reloadEveryMs) return null;
    this.#reloading ??= this.reload()
      .catch((err: unknown) => this.#log.error({ err }, 'reloading JWT keys failed'))
      .finally(() => {
        this.#reloading = null;
      });
    await this.#reloading;
    return this.#keys.get(kid)?.publicKey ?? null;
  }
}
