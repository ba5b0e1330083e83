import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { Report } from '../../src/report/report.js'
import { RunContext } from '../../src/run/run-context.js'
import { readRunSettings, requireProduction, type ProductionSettings } from '../../src/run/settings.js'
import { Workspace } from '../../src/run/workspace.js'
import { capturingStdout } from './capture-stdout.js'
import { emptyReport } from './empty-report.js'

/**
 * Runs `stages` in a run context connected to production as the inputs say (any engine, chosen by
 * the URLs), its log captured; the run's temporary directory is removed afterwards.
 */
export async function inRun(
  inputs: Record<string, string>,
  stages: (context: RunContext<ProductionSettings>) => Promise<void>
): Promise<{ output: string; report: Report }> {
  const runnerTemp = mkdtempSync(path.join(os.tmpdir(), 'lazarus-in-run-'))
  try {
    const settings = requireProduction(
      await readRunSettings(name => inputs[name] ?? '', { RUNNER_TEMP: runnerTemp }),
      'to dump production'
    )
    const report = emptyReport(settings.productionAddress.database, settings.verify)
    const context = new RunContext(settings.engine, settings, new Workspace(runnerTemp), report)
    const { output } = await capturingStdout(async () => {
      await context.connectProduction()
      await context.run(() => stages(context))
    })
    return { output, report }
  } finally {
    rmSync(runnerTemp, { recursive: true, force: true })
  }
}
