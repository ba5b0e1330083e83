import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { verifyBackup } from '../../../src/run/pipeline.js'
import type { Report } from '../../../src/report/report.js'
import { readRunSettings } from '../../../src/run/settings.js'
import { postgres } from '../../../src/engines/postgres/index.js'
import { mysql } from '../../../src/engines/mysql/index.js'
import type { Engine } from '../../../src/engines/types.js'
import { Workspace } from '../../../src/run/workspace.js'
import { createShop } from '../../support/shop.js'
import { createMariadbDatabase, mariadbInputs, MYSQL_SHOP_SQL } from '../../support/engines.js'
import { emptyReport } from '../../support/empty-report.js'
import { capturingStdout } from '../../support/capture-stdout.js'

// A drill copy that the restore program stops on is the drill's catch (detectedBy 'restore',
// report.ts judgeDrill), not an error of the run, for every engine: the engine's restoreDumpFile
// words the failure (StreamOutcome.restoreError) and run/drill-copies.ts judges it.

/**
 * Runs `inputs` with the drill's plans made to corrupt their copy so that no server restores it:
 * the plan's own rewrite, after a first line that calls a function no server has.
 */
async function runWithUnrestorableCopies(
  engine: Engine,
  database: string,
  inputs: Record<string, string>,
  t: { after(fn: () => void): void }
): Promise<{ report: Report; output: string }> {
  const runnerTemp = mkdtempSync(path.join(os.tmpdir(), 'lazarus-drill-copy-fails-'))
  t.after(() => rmSync(runnerTemp, { recursive: true, force: true }))
  const planDrill = engine.planDrill
  t.after(() => {
    engine.planDrill = planDrill
  })
  engine.planDrill = (operator, catalog) => {
    const plan = planDrill(operator, catalog)
    if (!('rewriter' in plan)) return plan
    const rewriter = plan.rewriter
    let first = true
    return {
      ...plan,
      rewriter: {
        push(line: string) {
          if (!first) return rewriter.push(line)
          first = false
          return ['SELECT lazarus_no_such_function();', ...rewriter.push(line)]
        },
        result: () => rewriter.result()
      }
    }
  }
  const settings = await readRunSettings(name => inputs[name] ?? '', { RUNNER_TEMP: runnerTemp })
  const report: Report = emptyReport(database, settings.verify)
  const { output } = await capturingStdout(() => verifyBackup(settings, new Workspace(runnerTemp), report))
  return { report, output }
}

function assertCaughtByTheRestore(report: Report, output: string): void {
  assert.equal(report.result, 'verified', `${report.error ?? ''}\n${output.slice(-3000)}`)
  const [drill] = report.sabotage
  assert.equal(drill?.detected, true, drill?.evidence)
  assert.equal(drill.detectedBy, 'restore', drill.evidence)
  // The restore program's own words.
  assert.match(drill.evidence, /restore failed: .*lazarus_no_such_function/)
}

test('PostgreSQL: a sabotaged copy that psql stops on is caught by the restore, and the run still verifies', async t => {
  const shop = await createShop('drill_copy_fails')
  const { report, output } = await runWithUnrestorableCopies(postgres, shop.database, shop.inputs({ sabotage: 'drop-row' }), t)
  assertCaughtByTheRestore(report, output)
})

test('MariaDB: a sabotaged copy that the client stops on is caught by the restore, and the run still verifies', async t => {
  const { database } = await createMariadbDatabase('drill_copy_fails', MYSQL_SHOP_SQL)
  const inputs = await mariadbInputs(database, { sabotage: 'drop-row' })
  const { report, output } = await runWithUnrestorableCopies(mysql, database, inputs, t)
  assertCaughtByTheRestore(report, output)
})
