import { before, test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import path from 'node:path'
import { execFileSync } from 'node:child_process'
import type { Cluster } from '../support/shared-servers.js'
import { runAction, type ActionRun } from '../support/run-action.js'
import { createShop, type Shop } from '../support/shop.js'
import { realClientDir, tamperedClientDir } from '../support/tampered-client.js'

// The bundled action, run under Node 24 the way the runner runs it, against real PostgreSQL 13.

let production: Cluster
let cleanroom: Cluster
let shop: string
let inputs: Shop['inputs']

before(async () => {
  ;({ production, cleanroom, database: shop, inputs } = await createShop())
})

/** Every relation Lazarus must compare in production: tables, leaf partitions, materialized views. */
async function productionTableCount(): Promise<number> {
  const [row] = await production.query<{ n: string }>(
    `SELECT count(*) AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'`,
    shop
  )
  return Number(row.n)
}

/** Writes in production since the statistics were last read: Lazarus must cause none. */
async function productionWrites(): Promise<string> {
  const rows = await production.query<{ w: string }>(
    `SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::text AS w FROM pg_stat_user_tables`,
    shop
  )
  return rows[0].w
}

/** Scratch databases this run left on the clean room (other test files share the server). */
async function leftoverScratchDatabases(run: ActionRun): Promise<string[]> {
  const runId = /lazarus-([0-9]+_[0-9a-f]+)/.exec(run.outputs['report-path'])?.[1]
  assert.ok(runId, 'the report path names the run')
  const rows = await cleanroom.query<{ datname: string }>(
    `SELECT datname FROM pg_database WHERE datname LIKE 'lazarus\\_${runId}%'`
  )
  return rows.map(row => row.datname)
}

function assertNoSecrets(run: ActionRun): void {
  // The runner consumes ::add-mask:: commands; everything else reaches people.
  const log = run.stdout
    .split('\n')
    .filter(line => !line.startsWith('::add-mask::'))
    .join('\n')
  const everything = [log, run.stderr, run.summary, JSON.stringify(run.outputs), JSON.stringify(run.report ?? {})].join('\n')
  for (const secret of [production.password, cleanroom.password]) {
    assert.ok(!everything.includes(secret), 'a password leaked into the log, summary, outputs or report')
  }
}

function explain(run: ActionRun): string {
  return `exit ${run.exitCode}\n--- stdout ---\n${run.stdout.slice(-6000)}\n--- stderr ---\n${run.stderr.slice(-3000)}`
}

test('a clean backup verifies, and the drill catches its rogue row', async () => {
  const writesBefore = await productionWrites()
  const run = await runAction(inputs({ sabotage: 'rogue-row' }))
  assert.equal(run.exitCode, 0, explain(run))
  assert.equal(run.outputs.result, 'verified')
  const expectedTables = await productionTableCount()
  assert.ok(expectedTables >= 10, 'the fixture has a realistic number of tables')
  assert.equal(Number(run.outputs.tables), expectedTables)
  assert.equal(run.outputs['mismatched-tables'], '0')
  assert.equal(run.outputs['sabotage-caught'], '1')
  assert.equal(run.outputs['sabotage-missed'], '0')
  assert.ok(Number(run.outputs['dump-bytes']) > 10_000)
  for (const timing of ['dump-seconds', 'restore-seconds', 'verify-seconds']) assert.ok(Number(run.outputs[timing]) > 0, timing)

  const report = run.report
  assert.equal(report.result, 'verified')
  assert.match(report.production.serverVersion, /^13\./)
  assert.match(report.cleanroom.serverVersion, /^13\./)
  assert.equal(report.tools.pg_dump.path, path.join(realClientDir(), 'pg_dump'))
  assert.match(report.tools.psql.version, /^\d+\.\d+$/)
  assert.deepEqual(report.sanitized, [])
  for (const table of report.tables) {
    assert.equal(table.match, true, `${table.schema}.${table.name}`)
    // A materialized view's rows are derived (REFRESH at restore), not backed up: not read.
    if (table.derived) continue
    assert.equal(table.production.rows, table.restored.rows)
    assert.match(table.production.checksum, /^[0-9a-f]+-[0-9a-f]+$/)
    assert.equal(table.production.checksum, table.restored.checksum)
  }
  assert.deepEqual(
    report.tables.filter((table: { derived?: boolean }) => table.derived).map((table: { name: string }) => table.name),
    ['customer_totals']
  )
  const names = report.tables.map((table: { schema: string; name: string }) => `${table.schema}.${table.name}`)
  for (const expected of ['Inventory.StockLevels', 'sales.orders_2023', 'sales.order notes', 'sales.customer_totals']) {
    assert.ok(names.includes(expected), `${expected} is compared`)
  }
  assert.ok(!names.includes('sales.orders'), 'a partitioned parent holds no rows of its own')

  const [drill] = report.sabotage
  assert.equal(drill.operator, 'rogue-row')
  assert.equal(drill.detected, true)
  assert.equal(drill.detectedBy, 'counts')
  // The evidence names the injected row, and row pinning finds exactly that key as the extra row.
  const injected =
    /^\(id, sku\)=\((\d+), rogue-[0-9a-f]+\); row count differs: production (\d+), restored (\d+) \(extra \(id\)=\((\d+)\)\)$/.exec(
      drill.evidence
    )
  assert.ok(injected, drill.evidence)
  assert.equal(injected[4], injected[1])
  assert.equal(Number(injected[3]), Number(injected[2]) + 1)
  for (const key of ['dump', 'sanitize', 'restore', 'verify', 'total']) assert.equal(typeof report.timings[key], 'number', key)

  assert.match(run.summary, /Lazarus: verified/)
  assert.match(run.summary, /Sabotage drill: caught 1 of 1/)
  assert.match(run.summary, /StockLevels/)
  assert.match(run.stdout, /::group::Dump, sanitize and restore \(streamed\)/)

  assert.equal(await productionWrites(), writesBefore, 'production took no writes')
  assert.deepEqual(await leftoverScratchDatabases(run), [])
  assert.deepEqual(
    readdirSync(path.dirname(run.outputs['report-path'])).sort(),
    ['report.json', 'summary.html'],
    'dumps are removed'
  )
  assertNoSecrets(run)
})

test('a dump altered in one cell is a mismatch naming that table', async () => {
  // pg_dump's first customers row starts with "1<TAB>user1@example.com": change one character of it.
  const binDir = tamperedClientDir(`sed -i 's/^1\\tuser1@example\\.com\\t/1\\tuser1@examplf.com\\t/' "$DUMP"`)
  const run = await runAction(inputs({ 'postgres-bin-dir': binDir, verify: 'checksums' }))
  assert.equal(run.exitCode, 1, explain(run))
  assert.equal(run.outputs.result, 'mismatch')
  assert.equal(run.outputs['mismatched-tables'], '1')
  const differing = run.report.tables.filter((table: { match: boolean }) => !table.match)
  assert.deepEqual(
    differing.map((table: { schema: string; name: string; difference: string }) => [table.schema, table.name, table.difference]),
    [['public', 'customers', 'content checksum differs']]
  )
  assert.match(
    run.stdout,
    /::error::The restored backup differs from production in 1 table\(s\): public\.customers \(content checksum differs\)/
  )
  // The difference is pinned to the row's key; its values stay out of the report without show-values.
  const [customers] = differing
  assert.deepEqual(customers.differences, {
    missing: 0,
    extra: 0,
    changed: 1,
    keys: [{ change: 'changed', key: '(id)=(1)' }],
    notListed: 0
  })
  assert.doesNotMatch(JSON.stringify(run.report), /examplf/)
  assert.deepEqual(await leftoverScratchDatabases(run), [])
})

test('with show-values, the changed row is shown with its values on both sides', async () => {
  const binDir = tamperedClientDir(`sed -i 's/^1\tuser1@example\.com\t/1\tuser1@examplf.com\t/' "$DUMP"`)
  const run = await runAction(inputs({ 'postgres-bin-dir': binDir, 'show-values': 'true' }))
  assert.equal(run.exitCode, 1, explain(run))
  const [row] = run.report.tables.find((table: { name: string }) => table.name === 'customers').differences.keys
  assert.match(row.production, /user1@example\.com/)
  assert.match(row.restored, /user1@examplf\.com/)
})

test('a restored copy missing an index and with a sequence set back is a mismatch naming both', async () => {
  const binDir = tamperedClientDir(
    `sed -i -e '/^CREATE INDEX customers_lower_email_active_idx ON public.customers /d' ` +
      `-e "s/^SELECT pg_catalog.setval('sales.invoice_number_seq', [0-9]*, true);$/SELECT pg_catalog.setval('sales.invoice_number_seq', 10000, false);/" "$DUMP"`
  )
  const run = await runAction(inputs({ 'postgres-bin-dir': binDir }))
  assert.equal(run.exitCode, 1, explain(run))
  assert.equal(run.outputs.result, 'mismatch')
  assert.equal(run.outputs['mismatched-tables'], '0', 'the data itself is intact')
  const named = run.report.schema.map((difference: { kind: string; name: string }) => `${difference.kind} ${difference.name}`)
  assert.ok(named.includes('index public.customers_lower_email_active_idx'), named.join('\n'))
  assert.ok(named.includes('sequence sales.invoice_number_seq'), named.join('\n'))
  assert.match(run.stdout, /::error::The restored backup differs from production in \d+ schema object\(s\): /)
})

test('a restore slower than rto-seconds fails the step, though the backup verifies', async () => {
  const run = await runAction(inputs({ 'rto-seconds': '0.001' }))
  assert.equal(run.exitCode, 1, explain(run))
  assert.equal(run.outputs.result, 'verified')
  assert.match(
    run.stdout,
    /::error::The backup restores, but not fast enough: restore took [\d.]+ s, budget 0\.001 s \(rto-seconds\)\./
  )
  assert.equal(run.report.rto.exceeded, true)
})

for (const jobs of ['1', '4']) {
  test(`jobs: ${jobs} verifies the same backup the same way`, async () => {
    const run = await runAction(inputs({ jobs }))
    assert.equal(run.exitCode, 0, explain(run))
    assert.equal(run.outputs.result, 'verified')
    assert.equal(Number(run.outputs.tables), await productionTableCount())
  })
}

test('a dump carrying directives PostgreSQL 13 rejects restores after sanitizing', async () => {
  // What pg_dump 17 writes; PostgreSQL 13 stops a restore on it.
  const directive = 'SET transaction_timeout = 0;'
  const refused = execFileSync(
    'bash',
    ['-c', `echo '${directive}' | "${realClientDir()}/psql" -X -v ON_ERROR_STOP=1 "$URL" 2>&1 || true`],
    { env: { ...process.env, URL: cleanroom.url('postgres') } }
  ).toString()
  assert.match(refused, /unrecognized configuration parameter "transaction_timeout"/)

  const binDir = tamperedClientDir(`sed -i 's/^SET lock_timeout = 0;$/&\\n${directive}/' "$DUMP"`)
  const run = await runAction(inputs({ 'postgres-bin-dir': binDir }))
  assert.equal(run.exitCode, 0, explain(run))
  assert.equal(run.outputs.result, 'verified')
  assert.deepEqual(run.report.sanitized, [{ parameter: 'transaction_timeout', lines: 1, rule: 'unknown-setting' }])
  assert.equal(run.report.tools.pg_dump.path, path.join(binDir, 'pg_dump'), 'postgres-bin-dir is used exclusively')
  assert.match(run.summary, /transaction_timeout/)
})

test('a truncated dump is never verified', async () => {
  const binDir = tamperedClientDir(`truncate -s $(( $(stat -c %s "$DUMP") * 6 / 10 )) "$DUMP"`)
  const run = await runAction(inputs({ 'postgres-bin-dir': binDir, sabotage: 'rogue-row' }))
  assert.equal(run.exitCode, 1, explain(run))
  assert.notEqual(run.outputs.result, 'verified')
  assert.ok(['restore-failed', 'mismatch'].includes(run.outputs.result), run.outputs.result)
  assert.deepEqual(await leftoverScratchDatabases(run), [])
})

test("a dump with a statement the clean room rejects is restore-failed, with psql's error in the log and report", async () => {
  const binDir = tamperedClientDir(`sed -i 's/^SET lock_timeout = 0;$/&\\nSELECT lazarus_no_such_function();/' "$DUMP"`)
  const run = await runAction(inputs({ 'postgres-bin-dir': binDir, sabotage: 'rogue-row' }))
  assert.equal(run.exitCode, 1, explain(run))
  assert.equal(run.outputs.result, 'restore-failed')
  assert.match(run.report.error, /ERROR: {2}function lazarus_no_such_function\(\) does not exist/)
  // One annotation, with psql's error and where in the dump it stopped.
  assert.deepEqual(
    run.stdout
      .split('\n')
      .filter(line => line.startsWith('::error'))
      .map(line => line.replace(/:\d+:/, ':N:').slice(0, 113)),
    [
      "::error::The backup does not restore (it stopped in the dump's opening settings, before its first object): " +
        'psql:<stdin>:N: ERROR:  function lazarus_no_such_function() does not exist'
    ].map(line => line.slice(0, 113))
  )
  assert.deepEqual(run.report.sabotage, [], 'no drill runs on a backup that does not restore')
  assert.deepEqual(await leftoverScratchDatabases(run), [])
})

test('a restore that fails part way names the object pg_dump was writing, not a line number nor "0 of 0 tables"', async () => {
  // After the TOC comment of the customers' rows: the restore stops while restoring that data.
  const binDir = tamperedClientDir(
    `sed -i '/^-- Data for Name: customers; Type: TABLE DATA; Schema: public;/a SELECT lazarus_no_such_function();' "$DUMP"`
  )
  const run = await runAction(inputs({ 'postgres-bin-dir': binDir }))
  assert.equal(run.exitCode, 1, explain(run))
  assert.equal(run.outputs.result, 'restore-failed')
  assert.equal(run.report.restoreFailedAt, 'while restoring TABLE DATA public.customers')
  assert.match(run.summary, /The restore stopped while restoring TABLE DATA public\.customers; no table was compared/)
  assert.doesNotMatch(run.summary, /0 of 0 tables/)
  assert.deepEqual(await leftoverScratchDatabases(run), [])
})

test('counts-only verification verifies a clean backup too', async () => {
  const run = await runAction(inputs({ verify: 'counts' }))
  assert.equal(run.exitCode, 0, explain(run))
  assert.ok(Number(run.outputs['dump-bytes']) > 10_000, 'the dump is measured as it streams, without a copy on disk')
  assert.equal(run.outputs.result, 'verified')
  assert.equal(run.report.tables[0].production.checksum, undefined)
})
