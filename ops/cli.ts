// Operator CLI:  npm run vigil -- <command> [options]
//
//   create-tenant          --name <n> --slug <s> --email <e> (--password <p> | --password-stdin) [--owner-name <n>]
//                          the first tenant and its owner (tenant_admin)
//   create-platform-admin  --email <e> (--password <p> | --password-stdin) [--name <n>]
//                          a platform admin (in the platform tenant, created on first use)
//   rotate-jwt-key         add a new signing key; older keys keep verifying until removed
//
// Runs as the application role (row-level security applies), against DATABASE_URL; run
// `npm run migrate` first on a new database.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Value } from '@sinclair/typebox/value';
import { Type } from '@sinclair/typebox';
import {
  assertNotPlatformSlug,
  generateKey,
  keysDir,
  provisionPlatformAdmin,
  provisionTenant,
} from '../gateway/identity/mod.ts';
import { createPool, isVigilError, loadConfig } from '../schemas/mod.ts';

const USAGE = `usage: npm run vigil -- <command> [options]
  create-tenant          --name <name> --slug <slug> --email <email> (--password <pw> | --password-stdin) [--owner-name <name>]
  create-platform-admin  --email <email> (--password <pw> | --password-stdin) [--name <name>]
  rotate-jwt-key`;

const Inputs = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  slug: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{1,62}$' }),
  email: Type.String({ pattern: '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$', maxLength: 254 }),
  password: Type.String({ minLength: 10, maxLength: 256 }),
};

class UsageError extends Error {
  override readonly name = 'UsageError';
}

function required(values: Record<string, string | boolean | undefined>, key: string): string {
  const v = values[key];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${key} is required`);
  return v;
}

function checked(kind: keyof typeof Inputs, flag: string, value: string): string {
  if (!Value.Check(Inputs[kind], value)) {
    const rule =
      kind === 'password'
        ? 'at least 10 characters'
        : kind === 'slug'
          ? 'lowercase letters, digits, dashes'
          : 'valid';
    throw new UsageError(`--${flag} must be ${rule}`);
  }
  return value;
}

function password(values: Record<string, string | boolean | undefined>): string {
  // --password-stdin keeps the secret out of shell history and the process list.
  const raw = values['password-stdin']
    ? readFileSync(0, 'utf8').replace(/\r?\n$/, '')
    : required(values, 'password');
  return checked('password', 'password', raw);
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: {
      name: { type: 'string' },
      slug: { type: 'string' },
      email: { type: 'string' },
      password: { type: 'string' },
      'password-stdin': { type: 'boolean' },
      'owner-name': { type: 'string' },
    },
    strict: true,
  });
  const config = loadConfig();

  switch (command) {
    case 'create-tenant': {
      const name = checked('name', 'name', required(values, 'name'));
      const slug = checked('slug', 'slug', required(values, 'slug'));
      const email = checked('email', 'email', required(values, 'email'));
      const ownerName = values['owner-name'] ?? name;
      const pw = password(values);
      assertNotPlatformSlug(slug);
      const pool = createPool(config, 'app', 2);
      try {
        const { tenant, owner } = await provisionTenant(
          pool,
          { name, slug, owner: { email, name: ownerName, password: pw } },
          { actor: null, requestId: 'cli', ip: null },
        );
        console.log(
          JSON.stringify({ tenantId: tenant.id, slug: tenant.slug, ownerId: owner?.id, email: owner?.email }),
        );
      } finally {
        await pool.end();
      }
      return 0;
    }
    case 'create-platform-admin': {
      const email = checked('email', 'email', required(values, 'email'));
      const name = values.name ?? 'Platform admin';
      const pw = password(values);
      const pool = createPool(config, 'app', 2);
      try {
        const { tenantId, user } = await provisionPlatformAdmin(pool, { email, name, password: pw });
        console.log(JSON.stringify({ tenantId, userId: user.id, email: user.email, role: user.role }));
      } finally {
        await pool.end();
      }
      return 0;
    }
    case 'rotate-jwt-key': {
      const dir = keysDir(config);
      const kid = await generateKey(dir);
      console.log(
        JSON.stringify({
          kid,
          dir,
          note: 'new tokens are signed with this key; running gateways pick it up on restart',
        }),
      );
      return 0;
    }
    default:
      console.error(USAGE);
      return 2;
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  if (err instanceof UsageError || (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    console.error(`vigil: ${(err as Error).message}\n${USAGE}`);
    process.exitCode = 2;
  } else if (isVigilError(err)) {
    const cause = (err.cause as { code?: string } | undefined)?.code;
    // Undefined table or function: the schema is older than this code.
    const hint = cause === '42P01' || cause === '42883' ? ' (run `npm run migrate` first)' : '';
    console.error(`vigil: ${err.code}: ${err.message}${hint}`);
    process.exitCode = 1;
  } else {
    console.error(err);
    process.exitCode = 1;
  }
}
