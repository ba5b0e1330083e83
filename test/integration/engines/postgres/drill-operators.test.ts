import { before, after, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { tableKey } from '../../../../src/util/table-name.js'
import { rewriteDump } from '../../../../src/drill/rewrite.js'
import { RESTORE_PSQL_OPTIONS } from '../../../../src/engines/postgres/pg-tools.js'
import {
  LIST_TABLES_SQL,
  checksumSql,
  countSql,
  pinSettingsSql,
  qualifiedName,
  type TableRef
} from '../../../../src/engines/postgres/figure-queries.js'
import {
  DRILL_OPERATORS,
  planDrill,
  type DrillCatalog,
  type DrillOperator,
  type DrillPlan
} from '../../../../src/engines/postgres/drill-plan.js'
import { readPrivilegeTargets } from '../../../../src/engines/postgres/privileges.js'
import { readDrillCatalog } from '../../../../src/engines/postgres/drill-catalog.js'
import { cleanroomCluster, productionCluster, uniqueName, type Cluster } from '../../../support/shared-servers.js'

// Every operator, on a real pg_dump of the shop fixture: the corrupted copy restores (truncate
// aside), and the corruption is really there when the copy is read back, and nowhere else.

const SHOP = readFileSync(new URL('../../../fixtures/shop.sql', import.meta.url), 'utf8')

let production: Cluster
let cleanroom: Cluster
let productionDb: string
let workDir: string
let dumpFile: string
let catalog: DrillCatalog
let productionFigures: Map<string, Figures>
const clients: pg.Client[] = []

interface Figures {
  rows: number
  checksum: string
}

before(async () => {
  ;[production, cleanroom] = await Promise.all([productionCluster(), cleanroomCluster()])
  productionDb = uniqueName('sabotage_prod')
  // A large object, so that mutate-large-object has a target too.
  await production.createDatabase(productionDb, SHOP + "SELECT pg_catalog.lo_from_bytea(0, 'a scanned invoice');\n")
  workDir = mkdtempSync(path.join(tmpdir(), 'lazarus-sabotage-'))
  dumpFile = path.join(workDir, 'dump.sql')
  const dumpArgs = [...connectionArgs(production, productionDb), '--no-owner', '--no-privileges', '-f', dumpFile]
  const dumped = await run('pg_dump', dumpArgs, production)
  assert.equal(dumped.code, 0, dumped.stderr)

  const db = await connect(production, productionDb)
  // Inside one snapshot, as the pipeline reads it.
  await db.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
  productionFigures = await figuresOf(db)
  const rowCounts = new Map([...productionFigures].map(([key, figures]) => [key, figures.rows]))
  catalog = await readDrillCatalog({ query: async (sql, params) => (await db.query(sql, params)).rows }, rowCounts)
  // What the pipeline adds when owners and privileges are restored (the e2e privileges tests run those operators).
  catalog.privileges = {
    objects: await readPrivilegeTargets({ query: async (sql, params) => (await db.query(sql, params)).rows }),
    roles: ['postgres'],
    drillRole: 'lazarus_drill_test'
  }
  await db.query('COMMIT')
})

after(async () => {
  for (const client of clients) await client.end().catch(() => undefined)
  if (workDir) rmSync(workDir, { recursive: true, force: true })
})

function connectionArgs(cluster: Cluster, database: string): string[] {
  return ['-h', cluster.host, '-p', String(cluster.port), '-U', cluster.superuser, '-d', database]
}

/** Runs a client tool with the password in the environment, never on the command line. */
function run(command: string, args: string[], cluster: Cluster): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: { ...process.env, PGPASSWORD: cluster.password, PGCONNECT_TIMEOUT: '10' },
      stdio: ['ignore', 'ignore', 'pipe']
    })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    child.on('error', reject)
    child.on('close', code => resolve({ code, stderr }))
  })
}

async function connect(cluster: Cluster, database: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: cluster.url(database) })
  client.on('error', () => undefined)
  await client.connect()
  clients.push(client)
  await client.query(pinSettingsSql())
  return client
}

/** Row count and content checksum of every table, keyed by tableKey. */
async function figuresOf(db: pg.Client): Promise<Map<string, Figures>> {
  const tables = (await db.query<TableRef>(LIST_TABLES_SQL)).rows
  const figures = new Map<string, Figures>()
  for (const table of tables) {
    if (table.kind !== 'r') continue
    const [row] = (await db.query<{ rows: string; sum: string }>(checksumSql(table))).rows
    figures.set(tableKey(table), { rows: Number(row.rows), checksum: `${row.rows}-${row.sum}` })
  }
  return figures
}

/** Rewrites the dump with the plan, restores the copy into a fresh clean-room database. */
async function applyAndRestore(plan: DrillPlan): Promise<{ database: string; restore: { code: number | null; stderr: string } }> {
  const copy = path.join(workDir, `${plan.operator}.sql`)
  await rewriteDump(dumpFile, copy, plan.rewriter)
  const database = uniqueName(`sabotage_${plan.operator}`)
  await cleanroom.query(`CREATE DATABASE ${database} TEMPLATE template0 ENCODING 'UTF8'`)
  // psql exactly as the action restores (no --single-transaction: see RESTORE_PSQL_OPTIONS).
  const psqlArgs = [...RESTORE_PSQL_OPTIONS, ...connectionArgs(cleanroom, database), '-f', copy]
  const restore = await run('psql', psqlArgs, cleanroom)
  return { database, restore }
}

function planFor(operator: DrillOperator): DrillPlan {
  const plan = planDrill(operator, catalog)
  assert.ok(plan, `${operator}: no target in the shop schema`)
  return plan
}

/** Applies the operator, checks that the copy restored and the evidence, and opens the copy. */
async function sabotaged(operator: DrillOperator): Promise<{ plan: DrillPlan; evidence: string; db: pg.Client }> {
  const plan = planFor(operator)
  const { database, restore } = await applyAndRestore(plan)
  assert.equal(restore.code, 0, `${operator} on ${plan.target} must still restore: ${restore.stderr}`)
  const evidence = plan.rewriter.result()?.evidence
  assert.ok(evidence, `${operator}: the rewriter never found ${plan.target} in the dump`)
  return { plan, evidence, db: await connect(cleanroom, database) }
}

/** Asserts every table matches production except `changed`, whose figures are returned. */
async function assertOnlyTableDiffers(
  db: pg.Client,
  changed: { schema: string; name: string } | undefined
): Promise<{ production: Figures; restored: Figures } | undefined> {
  const restored = await figuresOf(db)
  assert.deepEqual([...restored.keys()].sort(), [...productionFigures.keys()].sort())
  let target: { production: Figures; restored: Figures } | undefined
  for (const [key, figures] of productionFigures) {
    if (changed && key === tableKey(changed)) target = { production: figures, restored: restored.get(key)! }
    else assert.deepEqual(restored.get(key), figures, `${key.replace('\u0000', '.')} must be untouched`)
  }
  return target
}

test('the catalog describes the shop schema', () => {
  const customers = catalog.tables.find(table => table.schema === 'public' && table.name === 'customers')
  assert.ok(customers)
  assert.equal(customers.rows, 290)
  assert.ok(customers.referencedBy?.some(fk => fk.includes('orders_customer_id_fkey')))
  assert.equal(customers.columns.find(column => column.name === 'nickname')?.notNull, false)
  assert.ok(customers.uniqueIndexes.some(index => index.columns.includes('email')))
  assert.deepEqual(customers.partitionKey, [])
  const partition = catalog.tables.find(table => table.name === 'orders_2023')
  assert.equal(partition?.partition, true)
  assert.deepEqual(partition?.partitionKey, ['ordered_at'])
  assert.ok(partition?.referencedBy?.some(fk => fk.includes('order_items_order_id_ordered_at_fkey')))
  const auditLog = catalog.tables.find(table => table.name === 'audit_log')
  assert.deepEqual(auditLog?.uniqueIndexes, [])
  assert.deepEqual(auditLog?.referencedBy, [])

  const orderIndex = catalog.indexes.find(index => index.name === 'orders_customer_idx')
  assert.equal(orderIndex?.partitioned, true)
  assert.equal(catalog.indexes.find(index => index.name === 'customers_pkey')?.backsConstraint, true)
  assert.equal(catalog.indexes.find(index => index.name === 'customers_pkey')?.usedByForeignKey, true)
  assert.equal(catalog.indexes.find(index => index.name === 'customers_lower_email_active_idx')?.backsConstraint, false)

  const clonedFk = catalog.constraints.find(constraint => constraint.table === 'orders_2023' && constraint.type === 'f')
  assert.equal(clonedFk?.local, false)
  assert.equal(catalog.constraints.find(constraint => constraint.name === 'customers_loyalty_points_check')?.separate, false)

  const customersSeq = catalog.sequences.find(sequence => sequence.name === 'customers_id_seq')
  assert.deepEqual(customersSeq, {
    schema: 'public',
    name: 'customers_id_seq',
    startValue: '1',
    lastValue: '300',
    ownedBy: { schema: 'public', name: 'customers' },
    ownerRows: 290
  })
  assert.equal(catalog.sequences.find(sequence => sequence.name === 'invoice_number_seq')?.ownedBy, undefined)
})

test('the catalog knows what a changed value or a missing object would break', async () => {
  const name = uniqueName('sabotage_catalog')
  await production.createDatabase(
    name,
    `CREATE TABLE public.tags (id int PRIMARY KEY, label text, slug text, note text);
     CREATE UNIQUE INDEX tags_lower_label ON public.tags (lower(label));
     CREATE UNIQUE INDEX tags_id_with_slug ON public.tags (id) WHERE slug IS NOT NULL;
     CREATE INDEX tags_note_idx ON public.tags (note);
     CLUSTER public.tags USING tags_note_idx;
     CREATE TABLE public.refs (code text CONSTRAINT refs_code_key UNIQUE);
     CREATE TABLE public.users (id int PRIMARY KEY, ref text REFERENCES public.refs (code), parent int);
     ALTER TABLE public.users ADD CONSTRAINT users_parent_fkey FOREIGN KEY (parent) REFERENCES public.users (id);
     ALTER TABLE public.users ADD CONSTRAINT users_parent_check CHECK (parent > 0) NOT VALID;
     COMMENT ON CONSTRAINT users_parent_fkey ON public.users IS 'named elsewhere';
     CREATE SEQUENCE public.unused_seq;`
  )
  const db = await connect(production, name)
  const awkward = await readDrillCatalog({ query: async (sql, params) => (await db.query(sql, params)).rows }, new Map())
  const tags = awkward.tables.find(table => table.name === 'tags')!
  assert.deepEqual(
    tags.uniqueIndexes
      .map(index => ({ ...index, columns: [...index.columns].sort() }))
      .sort((a, b) => a.columns.join().localeCompare(b.columns.join())),
    [
      { primary: true, expression: false, partial: false, columns: ['id'] },
      { primary: false, expression: false, partial: true, columns: ['id', 'slug'] },
      { primary: false, expression: true, partial: false, columns: ['label'] }
    ]
  )
  assert.equal(awkward.indexes.find(index => index.name === 'tags_note_idx')?.namedElsewhere, true)
  assert.equal(awkward.indexes.find(index => index.name === 'refs_code_key')?.usedByForeignKey, true)
  assert.equal(awkward.constraints.find(constraint => constraint.name === 'refs_code_key')?.usedByForeignKey, true)
  assert.equal(awkward.constraints.find(constraint => constraint.name === 'users_parent_fkey')?.namedElsewhere, true)
  assert.equal(awkward.constraints.find(constraint => constraint.name === 'users_parent_check')?.separate, true)
  assert.deepEqual(awkward.tables.find(table => table.name === 'users')?.referencedBy, ['public.users.users_parent_fkey'])
  assert.equal(awkward.sequences.find(sequence => sequence.name === 'unused_seq')?.lastValue, null)

  // With rows, only tags.note is free to change; the commented foreign key and the key a foreign key needs stay.
  const withRows: DrillCatalog = { ...awkward, tables: awkward.tables.map(table => ({ ...table, rows: 5 })) }
  const mutate = planDrill('mutate-cell', withRows)!
  const rows = ['COPY public.tags (id, label, slug, note) FROM stdin;', '1\tabc\tdef\tghi', '\\.']
  assert.deepEqual(
    rows.flatMap(line => mutate.rewriter.push(line)),
    [rows[0], '1\tabc\tdef\thhi', rows[2]]
  )
  assert.equal(planDrill('drop-constraint', withRows)?.target, 'constraint users_ref_fkey on public.users')
  const withoutForeignKeys = { ...withRows, constraints: withRows.constraints.filter(constraint => constraint.type !== 'f') }
  assert.equal(planDrill('drop-constraint', withoutForeignKeys)?.target, 'constraint users_parent_check on public.users')
  assert.equal(planDrill('sequence-reset', withRows), undefined)
  assert.equal(planDrill('drop-row', withRows)?.target, 'public.tags')
})

test('every operator has a target in the shop schema', () => {
  for (const operator of DRILL_OPERATORS) assert.ok(planDrill(operator, catalog), operator)
})

test('the untouched dump restores to exactly production (the control)', async () => {
  const plan: DrillPlan = { ...planFor('drop-row'), rewriter: { push: line => [line], result: () => ({ evidence: 'none' }) } }
  const { database, restore } = await applyAndRestore(plan)
  assert.equal(restore.code, 0, restore.stderr)
  assert.equal(await assertOnlyTableDiffers(await connect(cleanroom, database), undefined), undefined)
})

test('rogue-row: one more row in its table', async () => {
  const { plan, evidence, db } = await sabotaged('rogue-row')
  const figures = await assertOnlyTableDiffers(db, plan.targetTable)
  assert.equal(figures?.restored.rows, figures!.production.rows + 1)
  assert.match(evidence, /^\(.+\)=\(.+\)$/)
})

test('drop-row: one row fewer in a table nothing references, named by its key', async () => {
  const { plan, evidence, db } = await sabotaged('drop-row')
  assert.deepEqual(plan.caughtBy, ['counts', 'checksums'])
  const figures = await assertOnlyTableDiffers(db, plan.targetTable)
  assert.equal(figures?.restored.rows, figures!.production.rows - 1)
  assert.match(evidence, /^row \(.+\)=\(.+\) removed$/)
})

test('mutate-cell: same row count, different content, named by key and column', async () => {
  const { plan, evidence, db } = await sabotaged('mutate-cell')
  assert.equal(plan.invisibleToCounts !== undefined, true)
  const figures = await assertOnlyTableDiffers(db, plan.targetTable)
  assert.equal(figures?.restored.rows, figures!.production.rows)
  assert.notEqual(figures?.restored.checksum, figures!.production.checksum)
  assert.match(evidence, /^one character of column \S+ changed in row \(.+\)=\(.+\)$/)
})

test('swap-values: same rows count and same column values, different rows', async () => {
  const { plan, evidence, db } = await sabotaged('swap-values')
  const figures = await assertOnlyTableDiffers(db, plan.targetTable)
  assert.equal(figures?.restored.rows, figures!.production.rows)
  assert.notEqual(figures?.restored.checksum, figures!.production.checksum)
  // The swapped column on its own holds the same multiset of values on both sides.
  const column = /^column (\S+) exchanged/.exec(evidence)?.[1]
  assert.ok(column, evidence)
  const table = {
    ...plan.targetTable!,
    kind: 'r',
    populated: true,
    columns: [{ name: column, hashing: 'text form' }],
    bytes: 0
  } as TableRef
  const productionDbClient = await connect(production, productionDb)
  const [before] = (await productionDbClient.query(checksumSql(table))).rows
  const [afterSwap] = (await db.query(checksumSql(table))).rows
  assert.deepEqual(afterSwap, before)
})

test('duplicate-row: a keyless table holds one row twice more', async () => {
  const { plan, db } = await sabotaged('duplicate-row')
  const figures = await assertOnlyTableDiffers(db, plan.targetTable)
  assert.equal(figures?.restored.rows, figures!.production.rows + 1)
})

test("null-to-empty: one NULL fewer and one '' more in the column", async () => {
  const { plan, evidence, db } = await sabotaged('null-to-empty')
  const figures = await assertOnlyTableDiffers(db, plan.targetTable)
  assert.equal(figures?.restored.rows, figures!.production.rows)
  assert.notEqual(figures?.restored.checksum, figures!.production.checksum)
  const column = /^NULL in column (\S+) turned/.exec(evidence)?.[1]
  assert.ok(column, evidence)
  const sql = `SELECT count(*) FILTER (WHERE ${JSON.stringify(column)} IS NULL)::int AS nulls,
                      count(*) FILTER (WHERE ${JSON.stringify(column)} = '')::int AS empties
               FROM ONLY ${qualifiedName(plan.targetTable!)}`
  const [before] = (await (await connect(production, productionDb)).query(sql)).rows
  const [afterChange] = (await db.query(sql)).rows
  assert.deepEqual(afterChange, { nulls: before.nulls - 1, empties: before.empties + 1 })
})

test('truncate: the copy fails to restore or loses the rows after the cut', async () => {
  const plan = planFor('truncate')
  const { database, restore } = await applyAndRestore(plan)
  const kept = /^dump cut after (\d+) row\(s\) of .+ line\(s\) lost$/.exec(plan.rewriter.result()?.evidence ?? '')?.[1]
  assert.ok(kept, plan.rewriter.result()?.evidence)
  if (restore.code !== 0) return
  // psql ends a COPY at the end of its input: the kept rows restore, everything after is missing.
  const db = await connect(cleanroom, database)
  const productionRows = productionFigures.get(tableKey(plan.targetTable!))!.rows
  const [row] = (
    await db.query(countSql({ ...plan.targetTable!, kind: 'r', populated: true, columns: [], bytes: 0 } as TableRef))
  ).rows
  assert.equal(Number(row.rows), Number(kept))
  assert.ok(Number(kept) > 0 && Number(kept) < productionRows)
})

test('drop-index: the index is gone and every table still matches', async () => {
  const { plan, evidence, db } = await sabotaged('drop-index')
  assert.deepEqual(plan.caughtBy, ['schema'])
  const name = /^index (?:\S+)\.(\S+)$/.exec(plan.target)?.[1]
  assert.ok(name, plan.target)
  const sql = `SELECT count(*)::int AS n FROM pg_catalog.pg_indexes WHERE indexname = $1`
  assert.equal((await (await connect(production, productionDb)).query(sql, [name])).rows[0].n, 1)
  assert.equal((await db.query(sql, [name])).rows[0].n, 0)
  assert.match(evidence, /removed from the dump/)
  await assertOnlyTableDiffers(db, undefined)
})

test('drop-constraint: the constraint is gone and every table still matches', async () => {
  const { plan, evidence, db } = await sabotaged('drop-constraint')
  const constraint = catalog.constraints.find(
    candidate => plan.target === `constraint ${quote(candidate.name)} on ${display(candidate)}`
  )
  assert.ok(constraint, plan.target)
  const sql = `SELECT count(*)::int AS n FROM pg_catalog.pg_constraint WHERE conname = $1`
  assert.equal((await (await connect(production, productionDb)).query(sql, [constraint.name])).rows[0].n > 0, true)
  assert.equal((await db.query(sql, [constraint.name])).rows[0].n, 0)
  assert.match(evidence, /ADD CONSTRAINT .+ removed from the dump/)
  await assertOnlyTableDiffers(db, undefined)
})

test('sequence-reset: the sequence restarts, every table still matches', async () => {
  const { plan, evidence, db } = await sabotaged('sequence-reset')
  const sequence = catalog.sequences.find(candidate => plan.target === `sequence ${display(candidate)}`)
  assert.ok(sequence, plan.target)
  assert.ok(sequence.ownerRows > 0)
  const sql = `SELECT last_value::text AS last_value FROM pg_catalog.pg_sequences WHERE schemaname = $1 AND sequencename = $2`
  const [before] = (await (await connect(production, productionDb)).query(sql, [sequence.schema, sequence.name])).rows
  const [afterReset] = (await db.query(sql, [sequence.schema, sequence.name])).rows
  assert.equal(before.last_value, sequence.lastValue)
  assert.equal(afterReset.last_value, null)
  assert.match(evidence, new RegExp(`changed from ${sequence.lastValue} to ${sequence.startValue} \\(not called\\)$`))
  await assertOnlyTableDiffers(db, undefined)
})

function quote(identifier: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(identifier) ? identifier : `"${identifier.replace(/"/g, '""')}"`
}

function display(object: { schema: string; table?: string; name: string }): string {
  return `${quote(object.schema)}.${quote(object.table ?? object.name)}`
}
