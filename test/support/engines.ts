/**
 * The one list of engines that the parameterised suites run over: a behaviour that makes sense
 * for every engine (a clean backup verifies, a corrupted one is a mismatch naming its table, the
 * drill is caught, nothing is left behind) is tested for each, never for one by accident.
 *
 * Each engine gives a fresh copy of its shop fixture on the shared production server, the inputs
 * to verify it, a client directory whose dump program corrupts one known cell, and a way to list
 * what a run left in the clean room.
 */
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createShop } from './shop.js'
import { mariadbCleanroom, mariadbProduction, type MariadbServer } from './mariadb.js'
import { repoRoot } from './run-action.js'
import { uniqueName } from './shared-servers.js'
import { tamperedClientDir } from './tampered-client.js'

export interface EngineUnderTest {
  /** As test titles name it. */
  name: 'PostgreSQL' | 'MariaDB'
  /** A fresh copy of the engine's shop fixture on the shared production server. */
  shop(prefix: string): Promise<EngineShop>
  /**
   * The input and directory of client programs whose dump changes one character of one cell, in
   * `corruptedTable`: the dump still restores, so only the content checksum can notice.
   */
  corruptingClients(): { input: string; dir: string }
  /** The table that corruption hits, as the report names it (schema or database, and name). */
  corruptedTable(shop: EngineShop): { schema: string; name: string }
  /** Scratch databases of the run `runId` still on the clean room. */
  leftovers(runId: string): Promise<string[]>
}

export interface EngineShop {
  database: string
  /** Inputs for a run against the shop, passwords in their own inputs, plus `extra`. */
  inputs(extra?: Record<string, string>): Record<string, string>
}

const postgres: EngineUnderTest = {
  name: 'PostgreSQL',
  async shop(prefix) {
    const shop = await createShop(prefix)
    return { database: shop.database, inputs: extra => shop.inputs(extra) }
  },
  corruptingClients: () => ({
    input: 'postgres-bin-dir',
    // pg_dump's first customers row starts with "1<TAB>user1@example.com": one character changes.
    dir: tamperedClientDir(`sed -i 's/^1\\tuser1@example\\.com\\t/1\\tuser1@examplf.com\\t/' "$DUMP"`)
  }),
  corruptedTable: () => ({ schema: 'public', name: 'customers' }),
  async leftovers(runId) {
    const { cleanroomCluster } = await import('./shared-servers.js')
    const rows = await (
      await cleanroomCluster()
    ).query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'lazarus\\_${runId}%'`)
    return rows.map(row => row.datname)
  }
}

export const MYSQL_SHOP_SQL = readFileSync(path.join(repoRoot, 'test/fixtures/mysql-shop.sql'), 'utf8')

/** A fresh database on the shared MariaDB production server, loaded from `sql` (the mariadb client runs it). */
export async function createMariadbDatabase(prefix: string, sql: string): Promise<{ server: MariadbServer; database: string }> {
  const server = await mariadbProduction()
  const database = uniqueName(prefix)
  await server.sql(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci`)
  await server.sql(sql, database)
  return { server, database }
}

/** Inputs for a run from `database` on the shared MariaDB production server into the shared clean room. */
export async function mariadbInputs(database: string, extra: Record<string, string> = {}): Promise<Record<string, string>> {
  const [production, cleanroom] = await Promise.all([mariadbProduction(), mariadbCleanroom()])
  return {
    'production-url': production.url(database, { password: null }),
    'production-password': production.password,
    'cleanroom-url': cleanroom.url('mysql', { password: null }),
    'cleanroom-password': cleanroom.password,
    ...extra
  }
}

/** Where a MariaDB client program is. */
function realProgram(name: string): string {
  return execFileSync('bash', ['-c', `command -v ${name}`])
    .toString()
    .trim()
}

/**
 * A directory for `mysql-bin-dir` whose dump program (both names, mariadb-dump and mysqldump)
 * runs the real mariadb-dump and passes its output through `filter` (a sed script), streamed;
 * the client (mariadb, mysql) is the real one.
 */
export function tamperedMariadbClients(filter: string): string {
  const dump = realProgram('mariadb-dump')
  const client = realProgram('mariadb')
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lazarus-mariadb-client-'))
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
  const script = `#!/usr/bin/env bash
set -o pipefail
for arg in "$@"; do case "$arg" in --version|-V) exec ${JSON.stringify(dump)} "$@";; esac; done
${JSON.stringify(dump)} "$@" | sed -e ${shellQuote(filter)}
`
  for (const name of ['mariadb-dump', 'mysqldump']) {
    writeFileSync(path.join(dir, name), script)
    chmodSync(path.join(dir, name), 0o755)
  }
  for (const name of ['mariadb', 'mysql']) symlinkSync(client, path.join(dir, name))
  return dir
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`
}

const mariadb: EngineUnderTest = {
  name: 'MariaDB',
  async shop(prefix) {
    const { database } = await createMariadbDatabase(prefix, MYSQL_SHOP_SQL)
    const base = await mariadbInputs(database)
    return { database, inputs: extra => ({ ...base, ...extra }) }
  },
  corruptingClients: () => ({
    input: 'mysql-bin-dir',
    // The first of the ledger's two twin 'lazarus-sentinel' rows changes one character.
    dir: tamperedMariadbClients('0,/lazarus-sentinel/s//lazarus-sentinal/')
  }),
  corruptedTable: shop => ({ schema: shop.database, name: 'ledger' }),
  async leftovers(runId) {
    const cleanroom = await mariadbCleanroom()
    const out = await cleanroom.sql(
      `SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'lazarus\\_${runId}%'`
    )
    return out
      .split('\n')
      .slice(1)
      .filter(line => line.trim() !== '')
  }
}

/** Every engine Lazarus verifies, in the order the suites run them. */
export const ENGINES: readonly EngineUnderTest[] = [postgres, mariadb]
