import { before, test } from 'node:test'
import assert from 'node:assert/strict'
import { runAction, type ActionRun } from '../support/run-action.js'
import { cleanroomCluster, productionCluster, uniqueName, type Cluster } from '../support/shared-servers.js'
import { tamperedClientDir } from '../support/tampered-client.js'

// Materialized views through the bundle: pg_dump stores no matview rows, only REFRESH
// MATERIALIZED VIEW, so a view not refreshed since its tables changed restores with fresh rows.
// That is a faithful backup; what the backup does carry (definition, populated state, indexes)
// must still be compared.

const MATVIEWS = `
CREATE TABLE public.readings (id int PRIMARY KEY, v int NOT NULL);
INSERT INTO public.readings SELECT g, g FROM generate_series(1, 100) AS g;
CREATE MATERIALIZED VIEW public.readings_total AS SELECT count(*) AS n, sum(v) AS total FROM public.readings;
CREATE UNIQUE INDEX readings_total_n ON public.readings_total (n);
CREATE MATERIALIZED VIEW public.readings_by_parity AS SELECT v % 2 AS parity, count(*) AS n FROM public.readings GROUP BY 1;
CREATE MATERIALIZED VIEW public.never_filled AS SELECT id FROM public.readings WITH NO DATA;
-- Stale from here on: production's views still hold what they held before these writes.
INSERT INTO public.readings SELECT g, g FROM generate_series(101, 150) AS g;
UPDATE public.readings SET v = v * 2 WHERE id <= 10;
`

let production: Cluster
let cleanroom: Cluster
let database: string

before(async () => {
  ;[production, cleanroom] = await Promise.all([productionCluster(), cleanroomCluster()])
  database = uniqueName('matview')
  await production.createDatabase(database, MATVIEWS)
})

function inputs(extra: Record<string, string> = {}): Record<string, string> {
  return {
    'production-url': production.url(database, { password: null }),
    'production-password': production.password,
    'cleanroom-url': cleanroom.url('postgres', { password: null }),
    'cleanroom-password': cleanroom.password,
    ...extra
  }
}

function explain(run: ActionRun): string {
  return `exit ${run.exitCode}\n--- stdout ---\n${run.stdout.slice(-6000)}\n--- stderr ---\n${run.stderr.slice(-3000)}`
}

const MATVIEW_NAMES = ['public.never_filled', 'public.readings_by_parity', 'public.readings_total']

test('a stale materialized view is a faithful backup: verified, its rows reported as derived', async () => {
  const [stale] = await production.query<{ n: string }>('SELECT n::text FROM public.readings_total', database)
  assert.equal(stale.n, '100', 'production holds a stale view')
  for (const verify of ['checksums', 'counts']) {
    const run = await runAction(inputs({ verify }))
    assert.equal(run.exitCode, 0, explain(run))
    assert.equal(run.outputs.result, 'verified', explain(run))
    assert.deepEqual(run.report.schema, [])
    const views = run.report.tables.filter((table: { derived?: boolean }) => table.derived)
    assert.deepEqual(
      views.map((table: { schema: string; name: string }) => `${table.schema}.${table.name}`).sort(),
      MATVIEW_NAMES
    )
    for (const view of views) {
      assert.equal(view.match, true)
      assert.deepEqual([view.production, view.restored], [{}, {}], 'a derived view is not read')
    }
    const readings = run.report.tables.find((table: { name: string }) => table.name === 'readings')
    assert.equal(readings.production.rows, 150)
    assert.equal(readings.derived, undefined)
    assert.match(run.stdout, /public\.readings_total: materialized view, rows derived \(recomputed at restore, not compared\)/)
    assert.match(run.summary, /materialized view: rows derived, not compared/)
  }
})

test('what the backup does carry of a materialized view is compared: definition, populated state, indexes', async () => {
  // A backup pipeline that loses one view's REFRESH, rewrites another's definition and drops its index.
  const client = tamperedClientDir(
    [
      `sed -i -e '/^REFRESH MATERIALIZED VIEW public.readings_by_parity;$/d' "$DUMP"`,
      `sed -i -e 's/sum(readings.v) AS total/max(readings.v) AS total/' "$DUMP"`,
      `sed -i -e '/^CREATE UNIQUE INDEX readings_total_n /d' "$DUMP"`
    ].join('\n')
  )
  const run = await runAction(inputs({ 'postgres-bin-dir': client }))
  assert.equal(run.outputs.result, 'mismatch', explain(run))
  assert.notEqual(run.exitCode, 0)
  const differences = run.report.schema.map(
    (difference: { kind: string; name: string }) => `${difference.kind} ${difference.name}`
  )
  assert.deepEqual(differences, [
    'index public.readings_total_n',
    'materialized view public.readings_by_parity',
    'materialized view public.readings_total'
  ])
  const byName = new Map(run.report.schema.map((difference: { name: string }) => [difference.name, difference]))
  const unrefreshed = byName.get('public.readings_by_parity') as { production: string; restored: string }
  assert.ok(!unrefreshed.production.endsWith('WITH NO DATA'), unrefreshed.production)
  assert.ok(unrefreshed.restored.endsWith('WITH NO DATA'), unrefreshed.restored)
  const rewritten = byName.get('public.readings_total') as { production: string; restored: string }
  assert.match(rewritten.production, /sum\(readings\.v\) AS total/)
  assert.match(rewritten.restored, /max\(readings\.v\) AS total/)
  // The rows themselves stay out of it: the tables all match.
  assert.equal(run.outputs['mismatched-tables'], '0')
  assert.match(run.summary, /readings_by_parity/)
})
