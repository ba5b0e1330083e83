import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { after, before, test } from 'node:test'
import { mariadbCleanroom, mariadbProduction, type MariadbServer } from '../../../support/mariadb.js'
import { uniqueName } from '../../../support/shared-servers.js'
import { rewriteDump } from '../../../../src/drill/rewrite.js'
import {
  findClientTools,
  releaseOf,
  restoreDumpFile,
  sanitizerProgram,
  streamDumpToRestore,
  type ClientTarget,
  type MysqlClientTools
} from '../../../../src/engines/mysql/tools.js'
import {
  dropConstraintRewriter,
  dropIndexRewriter,
  dropRowRewriter,
  duplicateRowRewriter,
  mutateCellRewriter,
  resetAutoIncrementRewriter,
  truncateRewriter,
  type DumpRewriter
} from '../../../../src/engines/mysql/drill-rewriters.js'

// Each drill rewriter's copy of a real, sanitized mariadb-dump restores into the real MariaDB
// clean room and differs from the faithful restore exactly as the operator intends: the verifier,
// not the restore, has to catch it.

let production: MariadbServer
let cleanroom: MariadbServer
let tools: MysqlClientTools
let database: string
let baseline: string
let dir: string
let keptDump: string

const target = (server: MariadbServer, name: string): ClientTarget => ({
  inputName: 'cleanroom-url',
  host: server.host,
  port: server.port,
  user: 'root',
  password: server.password,
  database: name,
  tls: { mode: 'disable' }
})

/** Everything the comparison reads, as text: rows in key order, indexes, constraints, AUTO_INCREMENT. */
async function state(name: string): Promise<Record<string, string>> {
  const sql = (text: string) => cleanroom.sql(text, name)
  return {
    orders: await sql('SELECT * FROM `order s` ORDER BY id'),
    customers: await sql('SELECT * FROM customers ORDER BY id'),
    log: await sql('SELECT * FROM log ORDER BY at, message'),
    single: await sql('SELECT * FROM single'),
    indexes: await sql(
      `SELECT TABLE_NAME, INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA='${name}' ORDER BY 1,2,3`
    ),
    constraints: await sql(
      `SELECT TABLE_NAME, CONSTRAINT_NAME, CONSTRAINT_TYPE FROM information_schema.TABLE_CONSTRAINTS WHERE CONSTRAINT_SCHEMA='${name}' ORDER BY 1,2`
    ),
    counters: await sql(
      `SELECT TABLE_NAME, AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA='${name}' ORDER BY 1`
    )
  }
}

/**
 * The kept dump restored into a fresh database: as it is, or a drill's copy of it as
 * run/drill-copies.ts makes one (rewritten into a file of its own by drill/rewrite.ts, the
 * evidence the rewriter's own: MySQL's needs no decoding), then restored as it is.
 */
async function restored(rewriter?: DumpRewriter): Promise<{ name: string; state: Record<string, string>; evidence?: string }> {
  const name = uniqueName('lazarus_drill')
  await cleanroom.sql(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci`)
  const work = fs.mkdtempSync(path.join(dir, 'restore-'))
  const file = rewriter ? path.join(work, 'copy.sql') : keptDump
  if (rewriter) await rewriteDump(keptDump, file, rewriter)
  const outcome = await restoreDumpFile({ tools, file, restoreInto: target(cleanroom, name), workDir: work })
  assert.equal(outcome.ok, true, JSON.stringify(outcome))
  return { name, state: await state(name), evidence: rewriter?.result()?.evidence }
}

/** The parts of a restored state that differ from the faithful restore's. */
function differences(state: Record<string, string>, from: Record<string, string>): string[] {
  return Object.keys(from).filter(key => state[key] !== from[key])
}

const restoredNames: string[] = []

before(async () => {
  ;[production, cleanroom] = await Promise.all([mariadbProduction(), mariadbCleanroom()])
  const release = async (server: MariadbServer) =>
    releaseOf({ product: 'MariaDB', version: (await server.sql('SELECT VERSION()')).split('\n')[1] })
  const [productionRelease, cleanroomRelease] = await Promise.all([release(production), release(cleanroom)])
  tools = await findClientTools(productionRelease, cleanroomRelease)
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lazarus-mysql-drill-'))
  database = uniqueName('lazarus_drillsrc')
  await production.sql(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci`)
  await production.sql(
    `CREATE TABLE customers (id int PRIMARY KEY, name varchar(40) NOT NULL);
     INSERT INTO customers VALUES (1, 'Ann'), (2, 'Bob');
     CREATE TABLE \`order s\` (id int PRIMARY KEY AUTO_INCREMENT, note varchar(80), amount decimal(10,2) NOT NULL, customer int,
       KEY by_note (note), CONSTRAINT order_customer FOREIGN KEY (customer) REFERENCES customers (id), CONSTRAINT positive CHECK (amount >= 0));
     INSERT INTO \`order s\` VALUES (1, 'it''s (a), \\\\ first', 10.50, 1), (2, 'INSERT INTO \`order s\` VALUES (9,''x'',1,1);', 20.00, 2), (3, NULL, 0.00, NULL);
     ALTER TABLE \`order s\` AUTO_INCREMENT = 50;
     CREATE TABLE log (at datetime NOT NULL, message text);
     INSERT INTO log VALUES ('2024-01-01 00:00:00', 'start'), ('2024-01-02 00:00:00', '{"a":1}');
     CREATE TABLE single (id int PRIMARY KEY);
     INSERT INTO single VALUES (7);`,
    database
  )
  // The kept dump: the stream's sanitized copy (keepDumpAt), as the drill makes its copies from it.
  const first = uniqueName('lazarus_drill')
  await cleanroom.sql(`CREATE DATABASE \`${first}\``)
  restoredNames.push(first)
  keptDump = path.join(dir, 'kept.sql')
  const streamDir = fs.mkdtempSync(path.join(dir, 'stream-'))
  const outcome = await streamDumpToRestore({
    tools,
    production: { ...target(production, database), inputName: 'production-url' },
    restoreInto: target(cleanroom, first),
    sanitizer: sanitizerProgram({ tools, cleanroom: cleanroomRelease, cleanroomCollations: [], workDir: streamDir }),
    workDir: streamDir,
    keepDumpAt: keptDump,
    onDumpSnapshotStarted: async () => undefined
  })
  assert.equal(outcome.ok, true, JSON.stringify(outcome))
  // The kept copy holds production's data: private to the runner's user.
  assert.equal(fs.statSync(keptDump).mode & 0o777, 0o600)
  const faithful = await restored()
  restoredNames.push(faithful.name)
  baseline = JSON.stringify(faithful.state)
  assert.deepEqual(await state(first), faithful.state)
})

after(async () => {
  for (const name of restoredNames) await cleanroom.sql(`DROP DATABASE IF EXISTS \`${name}\``)
  await production.sql(`DROP DATABASE IF EXISTS \`${database}\``)
  fs.rmSync(dir, { recursive: true, force: true })
})

async function drill(rewriter: DumpRewriter) {
  const result = await restored(rewriter)
  restoredNames.push(result.name)
  return { ...result, differs: differences(result.state, JSON.parse(baseline)) }
}

test('drop-row: one row fewer, the first by key', async () => {
  const { state, differs, evidence } = await drill(dropRowRewriter({ name: 'order s' }, ['id']))
  assert.deepEqual(differs, ['orders'])
  assert.equal(evidence, 'row (id)=(1) of `order s` dropped')
  assert.doesNotMatch(state.orders, /^1\t/m)
  assert.equal(state.orders.split('\n').filter(Boolean).length, 3)
  const single = await drill(dropRowRewriter({ name: 'single' }, ['id']))
  assert.deepEqual(single.differs, ['single'])
  assert.equal(single.state.single, '')
})

test('duplicate-row: the same row twice, in a table without a unique key', async () => {
  const { state, differs } = await drill(duplicateRowRewriter({ name: 'log' }))
  assert.deepEqual(differs, ['log'])
  assert.equal(state.log.split('\n').filter(line => line.startsWith('2024-01-01')).length, 2)
})

test('mutate-cell: one value of one row changes, and the row still restores', async () => {
  const { state, differs, evidence } = await drill(mutateCellRewriter({ name: 'order s' }, 'note', ['id']))
  assert.deepEqual(differs, ['orders'])
  const before = JSON.parse(baseline).orders.split('\n')
  const after = state.orders.split('\n')
  assert.deepEqual(
    after.map((line: string, i: number) => line !== before[i]),
    before.map((_: string, i: number) => i === 1)
  )
  // Only the key shows: the cell's values are production's data.
  assert.equal(evidence, 'one character of `note` changed in row (id)=(1) of `order s`')
  const json = await drill(mutateCellRewriter({ name: 'log' }, 'message'))
  assert.deepEqual(json.differs, ['log'])
})

test('truncate: the table restores empty', async () => {
  const { state, differs } = await drill(truncateRewriter({ name: 'log' }))
  assert.deepEqual(differs, ['log'])
  assert.equal(state.log, '')
})

test('drop-index and drop-constraint: the object is missing, nothing else changes', async () => {
  const index = await drill(dropIndexRewriter({ name: 'order s' }, 'by_note'))
  assert.deepEqual(index.differs, ['indexes'])
  assert.doesNotMatch(index.state.indexes, /by_note/)
  const fk = await drill(dropConstraintRewriter({ name: 'order s' }, 'order_customer'))
  assert.ok(fk.differs.includes('constraints'))
  assert.doesNotMatch(fk.state.constraints, /order_customer/)
  const check = await drill(dropConstraintRewriter({ name: 'order s' }, 'positive'))
  assert.deepEqual(check.differs, ['constraints'])
  assert.doesNotMatch(check.state.constraints, /positive/)
})

test('reset-auto-increment: the counter differs', async () => {
  const { state, differs, evidence } = await drill(resetAutoIncrementRewriter({ name: 'order s' }))
  assert.deepEqual(differs, ['counters'])
  assert.match(state.counters, /order s\t1050/)
  assert.equal(evidence, 'AUTO_INCREMENT of `order s` changed from 50 to 1050')
})
