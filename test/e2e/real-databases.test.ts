import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { DRILL_OPERATORS } from '../../src/engines/postgres/drill-plan.js'
import { repoRoot, runAction, type ActionRun } from '../support/run-action.js'
import { NEWER_MAJOR, startNewerCluster } from '../support/newer-cluster.js'
import { cleanroomCluster, productionCluster, uniqueName, type Cluster } from '../support/shared-servers.js'

// A schema nobody here wrote (test/fixtures/realdb.sql: what survives PostgreSQL's regression
// suite, and pg_dump's own hash-by-enum test), run the way a demanding user runs Lazarus:
// untouched, it must verify, and every drill operator must apply and be caught.

const FIXTURE = readFileSync(path.join(repoRoot, 'test/fixtures/realdb.sql'), 'utf8')

let production: Cluster
let cleanroom: Cluster
let database: string
let newer: Cluster | undefined

before(async () => {
  ;[production, cleanroom] = await Promise.all([productionCluster(), cleanroomCluster()])
  database = uniqueName('realdb')
  await production.createDatabase(database, FIXTURE)
})

after(async () => {
  await newer?.stop()
})

function run(verify: string, target = cleanroom, sabotage = 'all', from = database): Promise<ActionRun> {
  return runAction(
    {
      'production-url': production.url(from, { password: null }),
      'production-password': production.password,
      'cleanroom-url': target.url('postgres', { password: null }),
      'cleanroom-password': target.password,
      verify,
      jobs: '4',
      sabotage,
      // The fixture holds functions in language internal, which only a superuser may create.
      'restore-role': 'superuser'
    },
    { timeoutMs: 240_000 }
  )
}

function explain(run: ActionRun): string {
  const report = run.report ?? {}
  const differences = [...(report.tables ?? []).filter((table: { match: boolean }) => !table.match), ...(report.schema ?? [])]
  return `exit ${run.exitCode}, result ${run.outputs.result}: ${JSON.stringify(differences).slice(0, 3000)}\n${report.error ?? ''}\n${run.stdout.slice(-3000)}`
}

interface Drill {
  operator: string
  target: string | null
  applied: boolean
  detected: boolean
  evidence: string
  expectedMiss?: string
}

for (const verify of ['checksums', 'counts']) {
  test(`an untouched real schema verifies with verify: ${verify}, jobs: 4, and the whole drill is caught`, async () => {
    const result = await run(verify)
    assert.equal(result.outputs.result, 'verified', explain(result))
    assert.equal(result.exitCode, 0, explain(result))
    const names = result.report.tables.map((table: { schema: string; name: string }) => `${table.schema}.${table.name}`)
    // Rows hashed by an enum are compared per partition tree: the restore may route them elsewhere.
    for (const whole of ['public.tplain', 'public.tkeyed_2023']) {
      const table = result.report.tables.find((entry: { name: string }) => `public.${entry.name}` === whole)
      assert.equal(table?.wholeTree, true, `${whole} is compared as a whole`)
    }
    assert.equal(result.report.tables.find((entry: { name: string }) => entry.name === 'tplain').production.rows, 1000)
    for (const leaf of ['public.tplain_0', 'public.tkeyed_2023_a'])
      assert.ok(!names.includes(leaf), `${leaf} is not compared alone`)
    assert.ok(names.includes('public.tkeyed_2024'), 'a range partition beside them is still compared alone')
    const derived = result.report.tables
      .filter((table: { derived?: boolean }) => table.derived)
      .map((table: { name: string }) => table.name)
    assert.deepEqual(derived.sort(), ['mvtest_bb', 'mvtest_tm', 'mvtest_tvm'])

    const drills: Drill[] = result.report.sabotage
    assert.deepEqual(
      drills.map(drill => drill.operator),
      [...DRILL_OPERATORS]
    )
    for (const drill of drills) {
      assert.equal(drill.applied, true, `${drill.operator} applies: ${drill.evidence}`)
      if (verify === 'checksums')
        assert.equal(drill.detected, true, `${drill.operator} on ${drill.target} is caught: ${drill.evidence}`)
      else assert.ok(drill.detected || drill.expectedMiss, `${drill.operator} on ${drill.target}: ${drill.evidence}`)
    }
    assert.equal(result.outputs['sabotage-missed'], '0')
  })
}

test('by default (restore-role: unprivileged) the real schema is refused before the dump, naming what needs a superuser', async () => {
  const result = await runAction(
    {
      'production-url': production.url(database, { password: null }),
      'production-password': production.password,
      'cleanroom-url': cleanroom.url('postgres', { password: null }),
      'cleanroom-password': cleanroom.password
    },
    { timeoutMs: 240_000 }
  )
  assert.equal(result.exitCode, 1, explain(result))
  assert.equal(result.outputs.result, 'error')
  assert.match(
    result.report.error,
    /^Production holds what only a superuser can restore \(function in language internal public\.newavg\(integer\)/
  )
  assert.match(result.report.error, /set restore-role: superuser/)
  assert.equal(result.report.restoreRights.superuser, false)
})

// A normal upgrade rehearsal: production 13 into a newer clean room, views, owners and
// privileges included (their text and default ACLs differ there: see cross-major.ts), with the
// whole drill.
test(`the same schema verifies into a PostgreSQL ${NEWER_MAJOR} clean room`, async () => {
  newer = await startNewerCluster('realdb-clean')
  const result = await run('checksums', newer, 'all')
  assert.equal(result.outputs.result, 'verified', explain(result))
  assert.match(result.report.cleanroom.serverVersion, new RegExp(`^${NEWER_MAJOR}\\.`))
  assert.ok(result.report.tables.length >= 25, `${result.report.tables.length} tables compared`)
  // What the clean room settles across majors must not hide a corruption: the whole drill is caught there too.
  const drills: Drill[] = result.report.sabotage
  assert.deepEqual(
    drills.map(drill => drill.operator),
    [...DRILL_OPERATORS]
  )
  for (const drill of drills) {
    assert.equal(drill.applied, true, `${drill.operator} applies: ${drill.evidence}`)
    assert.equal(drill.detected, true, `${drill.operator} on ${drill.target} is caught: ${drill.evidence}`)
  }
})
