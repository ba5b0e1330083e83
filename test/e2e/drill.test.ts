import { before, test } from 'node:test'
import assert from 'node:assert/strict'
import { DRILL_OPERATORS } from '../../src/engines/postgres/drill-plan.js'
import { runAction, type ActionRun } from '../support/run-action.js'
import { createShop, type Shop } from '../support/shop.js'
import { uniqueName } from '../support/shared-servers.js'

// The full chaos drill through the bundle: every operator corrupts its own copy of a real dump,
// and verification must report each one.

let shop: Shop

before(async () => {
  // A large object, so that mutate-large-object has something to corrupt.
  shop = await createShop('drill', "SELECT pg_catalog.lo_from_bytea(0, 'a scanned invoice');\n")
})

function drill(verify: string): Promise<ActionRun> {
  // Every operator restores and verifies its own copy: more than the default two minutes on a busy machine.
  // restore-role: superuser, so that owners and privileges are restored and drop-grant and change-owner apply.
  return runAction(shop.inputs({ verify, sabotage: 'all', 'restore-role': 'superuser' }), { timeoutMs: 600_000 })
}

interface DrillResult {
  operator: string
  target: string
  applied: boolean
  detected: boolean
  detectedBy: string | null
  evidence: string
  expectedMiss?: string
}

test('with checksums, every operator is caught by the check that should see it', async () => {
  const run = await drill('checksums')
  assert.equal(run.exitCode, 0, run.stdout.slice(-6000))
  assert.equal(run.outputs.result, 'verified', 'the real backup still verifies')
  const results: DrillResult[] = run.report.sabotage
  assert.deepEqual(
    results.map(result => result.operator),
    [...DRILL_OPERATORS]
  )
  for (const result of results) {
    assert.equal(result.applied, true, `${result.operator} was applied`)
    assert.equal(result.detected, true, `${result.operator} was caught: ${result.evidence}`)
  }
  const by = Object.fromEntries(results.map(result => [result.operator, result.detectedBy]))
  assert.equal(by['rogue-row'], 'counts')
  assert.equal(by['mutate-cell'], 'checksums')
  assert.equal(by['swap-values'], 'checksums')
  assert.equal(by['null-to-empty'], 'checksums')
  assert.equal(by['drop-index'], 'schema')
  assert.equal(by['drop-constraint'], 'schema')
  assert.equal(by['sequence-reset'], 'sequences')
  assert.equal(by['mutate-large-object'], 'schema')
  assert.equal(by['mutate-function'], 'schema')
  const mutateFunction = results.find(result => result.operator === 'mutate-function')!
  assert.match(mutateFunction.evidence, /^one character of the body of function .+ changed .*; function .+: production /)
  // Dump, sanitize and restore overlap on the timeline; the drill comes after verification.
  const stage = (name: string) => run.report.timeline.find((entry: { stage: string }) => entry.stage === name)
  assert.ok(stage('Restore').start < stage('Dump').end, 'the restore runs while the dump does')
  assert.ok(stage('Drill').start >= stage('Verify').end)
  assert.match(run.summary, /```mermaid\ngantt\n/)
  // The evidence pins row corruptions to keys.
  const mutate = results.find(result => result.operator === 'mutate-cell')!
  assert.match(mutate.evidence, /changed \(.+\)=\(.+\)/)
  assert.equal(run.outputs['sabotage-caught'], String(DRILL_OPERATORS.length))
  assert.equal(run.outputs['sabotage-missed'], '0')
  assert.match(run.summary, new RegExp(`caught ${DRILL_OPERATORS.length} of ${DRILL_OPERATORS.length}`))
})

test('with counts, only the corruptions counts cannot see go unnoticed, each with its reason', async () => {
  const run = await drill('counts')
  assert.equal(run.exitCode, 0, run.stdout.slice(-6000))
  const results: DrillResult[] = run.report.sabotage
  const unnoticed = results.filter(result => !result.detected)
  assert.deepEqual(unnoticed.map(result => result.operator).sort(), ['mutate-cell', 'null-to-empty', 'swap-values'])
  for (const result of unnoticed) assert.ok(result.expectedMiss, `${result.operator} says why counts miss it`)
  assert.equal(run.outputs['sabotage-missed'], '0')
})

test("the evidence the rewriter reads as the dump's bytes is shown as production writes it: a name beyond ASCII", async () => {
  const database = uniqueName('drill_utf8')
  await shop.production.createDatabase(
    database,
    "CREATE TABLE public.clients (id integer PRIMARY KEY, prénom text);\nINSERT INTO public.clients VALUES (1, 'Zoé'), (2, 'Loïc');\n"
  )
  const run = await runAction(shop.inputs({ sabotage: 'mutate-cell' }, database))
  assert.equal(run.exitCode, 0, run.stdout.slice(-6000))
  const [mutate]: DrillResult[] = run.report.sabotage
  assert.equal(mutate.detected, true, mutate.evidence)
  // In UTF-8, é is two bytes: read undecoded, they would show as "prÃ©nom".
  assert.match(mutate.evidence, /column prénom changed/)
  assert.match(run.stdout, /Sabotaged public\.clients: one character of column prénom changed in row \(id\)=\(\d\)\./)
})
