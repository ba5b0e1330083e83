import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { verifyBackup } from '../../../src/run/pipeline.js'
import type { Report } from '../../../src/report/report.js'
import { readSettings } from '../../../src/run/settings.js'
import { postgres } from '../../../src/engines/postgres/index.js'
import { Workspace } from '../../../src/run/workspace.js'
import { createShop } from '../../support/shop.js'
import { emptyReport } from '../../support/empty-report.js'
import { capturingStdout } from '../../support/capture-stdout.js'

// A drill copy that psql cannot restore is the drill's catch (detectedBy 'restore', report.ts
// judgeDrill), not an error of the run: the engine's restoreDumpFile words the failure
// (StreamOutcome.restoreError) and run/drill-copies.ts judges it, for every engine (MySQL's:
// mysql/stream.ts judged, unit-tested in test/unit/engines/mysql/tools.test.ts).

test('PostgreSQL: a sabotaged copy that psql stops on is caught by the restore, and the run still verifies', async t => {
  const shop = await createShop('drill_copy_fails')
  const inputs = shop.inputs({ sabotage: 'drop-row' })
  const runnerTemp = mkdtempSync(path.join(os.tmpdir(), 'lazarus-drill-copy-fails-'))
  t.after(() => rmSync(runnerTemp, { recursive: true, force: true }))
  // A corruption psql stops on (as a rewrite that breaks a statement would): the plan's own
  // rewrite, after a first line no server runs.
  const planDrill = postgres.planDrill
  t.after(() => {
    postgres.planDrill = planDrill
  })
  postgres.planDrill = ((operator, catalog) => {
    const plan = planDrill(operator, catalog)
    if (!('rewriter' in plan) || !plan.rewriter) return plan
    const rewriter = plan.rewriter
    let first = true
    return {
      ...plan,
      rewriter: {
        push(line: string) {
          if (!first) return rewriter.push(line)
          first = false
          return ['SELECT pg_catalog.lazarus_no_such_function();', ...rewriter.push(line)]
        },
        result: () => rewriter.result()
      }
    }
  }) as typeof planDrill
  const settings = readSettings(postgres, name => inputs[name] ?? '', { RUNNER_TEMP: runnerTemp })
  const report: Report = emptyReport(shop.database, settings.verify)
  const { output } = await capturingStdout(() => verifyBackup(settings, new Workspace(runnerTemp), report))
  assert.equal(report.result, 'verified', `${report.error ?? ''}\n${output.slice(-3000)}`)
  const [drill] = report.sabotage
  assert.equal(drill?.detected, true, drill?.evidence)
  assert.equal(drill.detectedBy, 'restore', drill.evidence)
  // psql's own words, and where in the copy it stopped.
  assert.match(drill.evidence, /restore failed: stopped .*lazarus_no_such_function/)
})
