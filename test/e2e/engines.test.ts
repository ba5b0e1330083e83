import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { ENGINES, type EngineShop } from '../support/engines.js'
import {
  errorAnnotations,
  explain,
  leftoverWorkDirs,
  runActionProcess,
  workspaceRunIds,
  type ActionResult
} from '../support/action-process.js'

// The behaviours every engine shares, run once per engine from one list (support/engines.ts), by
// the bundled action as the runner runs it: a clean backup verifies, a backup corrupted in one
// cell is a mismatch naming that table and pinning the row, the drill's drop-row is caught, and
// nothing is left in the clean room or the workspace.

/** The run id of an action's one workspace. */
function runIdOf(run: ActionResult): string {
  const [id] = workspaceRunIds(run.runnerTemp)
  assert.ok(id, 'the run made a workspace')
  return id
}

for (const engine of ENGINES) {
  describe(engine.name, () => {
    let shop: EngineShop | undefined
    const theShop = async () => (shop ??= await engine.shop('engines'))

    test(`${engine.name}: a clean backup verifies, every table matching, and leaves nothing behind`, async () => {
      const run = await runActionProcess((await theShop()).inputs({ verify: 'checksums' }), { timeoutMs: 240_000 })
      assert.equal(run.exitCode, 0, explain(run))
      assert.equal(run.outputs.result, 'verified')
      assert.ok(Number(run.outputs.tables) >= 4, `tables: ${run.outputs.tables}`)
      assert.equal(run.outputs['mismatched-tables'], '0')
      assert.ok(Number(run.outputs['dump-bytes']) > 0, `dump-bytes: ${run.outputs['dump-bytes']}`)
      assert.match(run.outputs['restore-seconds'], /^\d+\.\d{3}$/)
      assert.ok(run.report.tables.every((table: { match: boolean }) => table.match))
      assert.deepEqual(run.report.schema, [])
      assert.deepEqual(errorAnnotations(run.stdout), [])
      assert.match(run.summary, /verified/i)
      assert.deepEqual(await engine.leftovers(runIdOf(run)), [])
      assert.deepEqual(leftoverWorkDirs(run.runnerTemp), [])
    })

    test(`${engine.name}: a dump corrupted in one cell is a mismatch naming that table, pinned to its row`, async () => {
      const current = await theShop()
      const clients = engine.corruptingClients()
      const run = await runActionProcess(current.inputs({ [clients.input]: clients.dir, verify: 'checksums' }), {
        timeoutMs: 240_000
      })
      assert.equal(run.exitCode, 1, explain(run))
      assert.equal(run.outputs.result, 'mismatch')
      assert.equal(run.outputs['mismatched-tables'], '1')
      const differing = run.report.tables.filter((table: { match: boolean }) => !table.match)
      const expected = engine.corruptedTable(current)
      assert.deepEqual(
        differing.map((table: { schema: string; name: string; difference: string }) => [
          table.schema,
          table.name,
          table.difference
        ]),
        [[expected.schema, expected.name, 'content checksum differs']]
      )
      const rows = differing[0].differences
      assert.ok(rows, 'the differing rows were pinned')
      assert.ok(rows.changed + rows.missing + rows.extra >= 1, JSON.stringify(rows))
      // Values stay out of the report without show-values.
      assert.doesNotMatch(JSON.stringify(run.report), /examplf|lazarus-sentinal/)
      assert.match(run.stdout, /::error::The restored backup differs from production in 1 table\(s\)/)
      assert.deepEqual(await engine.leftovers(runIdOf(run)), [])
    })

    test(`${engine.name}: the drill's drop-row is caught by the counts, on its own copy of the dump`, async () => {
      const run = await runActionProcess((await theShop()).inputs({ sabotage: 'drop-row' }), { timeoutMs: 240_000 })
      assert.equal(run.exitCode, 0, explain(run))
      assert.equal(run.outputs.result, 'verified')
      assert.equal(run.outputs['sabotage-caught'], '1')
      assert.equal(run.outputs['sabotage-missed'], '0')
      const [drill] = run.report.sabotage
      assert.equal(drill.operator, 'drop-row')
      assert.equal(drill.applied, true)
      assert.equal(drill.detected, true)
      assert.equal(drill.detectedBy, 'counts')
      assert.deepEqual(await engine.leftovers(runIdOf(run)), [])
    })
  })
}
