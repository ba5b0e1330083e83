import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { quoteIdent } from '../../src/engines/postgres/figure-queries.js'
import { runAction, type ActionRun } from '../support/run-action.js'
import { cleanroomCluster, productionCluster, uniqueName, type Cluster } from '../support/shared-servers.js'
import { tamperedClientDir } from '../support/tampered-client.js'

// Row-level security through the bundle. A multi-tenant table whose policies hide rows from
// everyone, its owner included (FORCE ROW LEVEL SECURITY), is dumped whole by a role that bypasses
// them (pg_dump refuses otherwise). A clean-room role that is not a superuser owns what it
// restores and is subject to FORCE: reading the restored copy through the policies would count
// a faithful backup as short. Every row must be compared, and a lost or changed row still caught.

const FORCED = `
CREATE TABLE public.accounts (id int PRIMARY KEY, tenant text NOT NULL, balance numeric);
INSERT INTO public.accounts SELECT g, CASE WHEN g % 2 = 1 THEN 'a' ELSE 'b' END, g * 10 FROM generate_series(1, 20) AS g;
ALTER TABLE public.accounts ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.accounts FORCE ROW LEVEL SECURITY;
-- A session without app.tenant (Lazarus's) sees no row, the owner's included.
CREATE POLICY tenant_rows ON public.accounts USING (tenant = current_setting('app.tenant', true));

-- A partitioned table read partition by partition, each forced with its own policy.
CREATE TABLE public.ledger (id int, tenant text, amount int) PARTITION BY LIST (tenant);
CREATE TABLE public.ledger_a PARTITION OF public.ledger FOR VALUES IN ('a');
CREATE TABLE public.ledger_b PARTITION OF public.ledger FOR VALUES IN ('b');
INSERT INTO public.ledger SELECT g, CASE WHEN g % 2 = 1 THEN 'a' ELSE 'b' END, g * 100 FROM generate_series(1, 10) AS g;
ALTER TABLE public.ledger ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.ledger FORCE ROW LEVEL SECURITY;
CREATE POLICY nobody ON public.ledger USING (false);
ALTER TABLE public.ledger_a ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.ledger_a FORCE ROW LEVEL SECURITY;
CREATE POLICY nobody ON public.ledger_a USING (false);

-- A table without a key, hidden by a restrictive policy only; an inheritance parent forced, its child not.
CREATE TABLE public.audit (tenant text, note text);
INSERT INTO public.audit VALUES ('a', 'created'), ('a', 'created'), ('b', 'closed');
ALTER TABLE public.audit ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.audit FORCE ROW LEVEL SECURITY;
CREATE POLICY never ON public.audit AS RESTRICTIVE USING (false);
CREATE TABLE public.notes (id int, body text);
CREATE TABLE public.notes_archive (archived date) INHERITS (public.notes);
INSERT INTO public.notes VALUES (1, 'kept');
INSERT INTO public.notes_archive VALUES (2, 'old', '2020-01-01');
ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.notes FORCE ROW LEVEL SECURITY;
CREATE POLICY nobody ON public.notes USING (false);
`

const ROWS: Record<string, number> = {
  accounts: 20,
  ledger_a: 5,
  ledger_b: 5,
  audit: 3,
  notes: 1,
  notes_archive: 1
}

let production: Cluster
let cleanroom: Cluster
let database: string
const role = uniqueName('rls_cleanroom')
const password = randomBytes(12).toString('hex')

before(async () => {
  ;[production, cleanroom] = await Promise.all([productionCluster(), cleanroomCluster()])
  database = uniqueName('rls')
  await production.createDatabase(database, FORCED)
  // The clean room as a role that may create databases, and nothing more.
  await cleanroom.query(`CREATE ROLE ${quoteIdent(role)} LOGIN CREATEDB NOSUPERUSER NOBYPASSRLS PASSWORD '${password}'`)
})

after(async () => {
  await cleanroom.query(`DROP ROLE IF EXISTS ${quoteIdent(role)}`)
})

function inputs(extra: Record<string, string> = {}): Record<string, string> {
  return {
    'production-url': production.url(database, { password: null }),
    'production-password': production.password,
    'cleanroom-url': cleanroom.url('postgres', { user: role, password: null }),
    'cleanroom-password': password,
    jobs: '3',
    ...extra
  }
}

function explain(run: ActionRun): string {
  return `exit ${run.exitCode}\n--- stdout ---\n${run.stdout.slice(-6000)}\n--- stderr ---\n${run.stderr.slice(-3000)}`
}

function rowsByTable(run: ActionRun): Record<string, [number, number]> {
  return Object.fromEntries(
    run.report.tables.map((table: { name: string; production: { rows: number }; restored: { rows: number } }) => [
      table.name,
      [table.production.rows, table.restored.rows]
    ])
  )
}

test('tables that force row-level security on the clean-room role are compared whole: verified', async () => {
  for (const verify of ['checksums', 'counts']) {
    const run = await runAction(inputs({ verify }))
    assert.equal(run.outputs.result, 'verified', explain(run))
    assert.equal(run.exitCode, 0, explain(run))
    assert.deepEqual(
      rowsByTable(run),
      Object.fromEntries(Object.entries(ROWS).map(([name, rows]) => [name, [rows, rows]])),
      'every row counted on both sides'
    )
    assert.deepEqual(run.report.schema, [], 'FORCE is restored and still in place when the schema is compared')
  }
})

test('a row lost or changed in a forced table is caught and named, through its policies', async () => {
  const client = tamperedClientDir(
    [
      `sed -i -e '/^7\ta\t70$/d' "$DUMP"`,
      `sed -i -e 's/^3\ta\t300$/3\ta\t301/' "$DUMP"`,
      `sed -i -e '/^b\tclosed$/d' "$DUMP"`
    ].join('\n')
  )
  const run = await runAction(inputs({ 'postgres-bin-dir': client }))
  assert.equal(run.outputs.result, 'mismatch', explain(run))
  const differing = Object.fromEntries(
    run.report.tables
      .filter((table: { match: boolean }) => !table.match)
      .map(
        (table: { name: string; differences?: { missing: number; extra: number; keys: { change: string; key: string }[] } }) => [
          table.name,
          table.differences
        ]
      )
  )
  assert.deepEqual(Object.keys(differing).sort(), ['accounts', 'audit', 'ledger_a'], explain(run))
  assert.deepEqual(
    differing.accounts.keys.map((row: { change: string; key: string }) => `${row.change} ${row.key}`),
    ['missing (id)=(7)']
  )
  assert.equal(differing.ledger_a.missing + differing.ledger_a.extra, 2, 'a changed keyless row: one missing, one extra')
  assert.deepEqual([differing.audit.missing, differing.audit.extra], [1, 0])
  assert.deepEqual(run.report.schema, [])
})
