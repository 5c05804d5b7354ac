/**
 * Does Vigil's ClickHouse side run on a current ClickHouse, not only on Debian's 18.16?
 * Applies every ClickHouse migration to chDB (ClickHouse embedded in-process, the `chdb` npm
 * package), loads the analyst guide's example data as the sinks write it, and runs every SQL
 * block of docs/analyst-guide.md, printing the row count of each.
 *
 *   npm i --no-save chdb           (546 MB; not a dependency of Vigil)
 *   npm run check:clickhouse-current
 *
 * No services are needed. Exit code 1 when a statement fails or a guide query returns nothing.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CH_DIR, listMigrations, statements } from '../schemas/migrate.ts';
import { guideRows, sqlBlocks } from '../test/helpers/analyst-data.ts';

interface ChdbSession {
  query(sql: string, format?: string): string;
  cleanup(): void;
}
interface Chdb {
  query(sql: string, format?: string): string;
  Session: new (path: string) => ChdbSession;
}

let chdb: Chdb;
try {
  chdb = createRequire(import.meta.url)('chdb') as Chdb;
} catch {
  console.error('chdb is not installed: `npm i --no-save chdb` first (546 MB, ClickHouse in-process)');
  process.exit(2);
}

const dir = await mkdtemp(join(tmpdir(), 'vigil-chdb-'));
const session = new chdb.Session(dir);
let failures = 0;
try {
  console.log(`ClickHouse ${session.query('SELECT version()', 'TSV').trim()} (chDB)`);
  session.query('CREATE DATABASE vigil');
  for (const m of await listMigrations(CH_DIR, 'native')) {
    for (const stmt of statements(m.sql.replaceAll('{db}', 'vigil'))) {
      try {
        session.query(stmt);
      } catch (err) {
        failures++;
        console.log(`  ✖ ${m.file}: ${String(err).split('\n')[0]}\n    ${stmt.split('\n')[0]}`);
      }
    }
    console.log(`  ${m.file} applied`);
  }
  for (const [table, rows] of Object.entries(guideRows()))
    session.query(
      `INSERT INTO vigil.${table} FORMAT JSONEachRow ${rows.map((r) => JSON.stringify(r)).join('\n')}`,
    );
  const guide = await readFile(new URL('../docs/analyst-guide.md', import.meta.url), 'utf8');
  for (const [i, block] of sqlBlocks(guide).entries()) {
    try {
      session.query('USE vigil');
      const out = session.query(block, 'JSONEachRow').trim();
      const rows = out === '' ? 0 : out.split('\n').length;
      if (rows === 0) failures++;
      console.log(`  ${rows > 0 ? '✔' : '✖'} guide query ${i + 1}: ${rows} rows`);
    } catch (err) {
      failures++;
      console.log(`  ✖ guide query ${i + 1}: ${String(err).split('\n')[0]}`);
    }
  }
} finally {
  session.cleanup();
  await rm(dir, { recursive: true, force: true });
}
console.log(failures === 0 ? 'every migration and guide query runs' : `${failures} failures`);
process.exitCode = failures === 0 ? 0 : 1;
