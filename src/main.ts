import * as fs from 'node:fs'
import * as path from 'node:path'
import * as core from '@actions/core'
import { uploadReport } from './artifact.js'
import { handleCancellation } from './cancellation.js'
import { markMainStarted } from './state.js'
import { describe } from './connection.js'
import { UserError, messageOf } from './errors.js'
import { verifyBackup } from './pipeline.js'
import { failureMessage, reportOutputs, type Report } from './report.js'
import { readSettings, type Settings } from './settings.js'
import { renderSummary } from './summary.js'
import { Workspace } from './workspace.js'

/** The action: read the inputs, verify the backup, publish the verdict. Never throws. */
export async function run(): Promise<void> {
  const started = performance.now()
  markMainStarted()
  handleCancellation()
  let settings: Settings
  try {
    settings = readSettings()
  } catch (error) {
    core.setOutput('result', 'error')
    fail(error)
    return
  }
  maskSecrets(settings)

  let workspace: Workspace | undefined
  const report = emptyReport(settings)
  try {
    workspace = new Workspace(settings.runnerTemp)
    await verifyBackup(settings, workspace, report)
  } catch (error) {
    report.result = 'error'
    report.error = messageOf(error)
    if (!(error instanceof UserError) && error instanceof Error && error.stack) core.debug(error.stack)
  } finally {
    workspace?.removeWorkFiles()
  }
  report.timings.total = (performance.now() - started) / 1000

  try {
    await publish(report, workspace)
  } catch (error) {
    core.warning(`Could not publish the report: ${messageOf(error)}`)
  }
  const failure = failureMessage(report)
  if (failure) core.setFailed(failure)
}

/** Registers every form a password can take, so the runner masks it wherever it appears. */
function maskSecrets(settings: Settings): void {
  for (const target of [settings.production, settings.cleanroom]) {
    for (const secret of target.secrets) core.setSecret(secret)
  }
}

function emptyReport(settings: Settings): Report {
  return {
    result: 'error',
    verify: settings.verify,
    production: { server: describe(settings.production), database: settings.production.database },
    cleanroom: { server: describe(settings.cleanroom) },
    sanitized: [],
    tables: [],
    sabotage: [],
    timings: {},
    startedAt: new Date().toISOString()
  }
}

/** Outputs, the JSON report, the job summary and (inside Actions) the report as an artifact. */
async function publish(report: Report, workspace: Workspace | undefined): Promise<void> {
  let reportPath = ''
  const summary = renderSummary(report)
  if (workspace) {
    reportPath = path.join(workspace.reportDir, 'report.json')
    fs.writeFileSync(reportPath, JSON.stringify(report, null, 2) + '\n', { mode: 0o600 })
    fs.writeFileSync(path.join(workspace.reportDir, 'summary.html'), summary, { mode: 0o600 })
  }
  for (const [name, value] of Object.entries(reportOutputs(report, reportPath))) core.setOutput(name, value)
  if (process.env.GITHUB_STEP_SUMMARY) await core.summary.addRaw(summary).write()
  if (workspace) {
    const name = `lazarus-report-${process.env.GITHUB_JOB ?? 'job'}-${report.production.database}-${workspace.runId}`
    await uploadReport([reportPath, path.join(workspace.reportDir, 'summary.html')], workspace.reportDir, sanitizeArtifactName(name))
  }
  if (reportPath) core.info(`Report: ${reportPath}`)
}

/** Artifact names may not contain " : < > | * ? \r \n \ /. */
function sanitizeArtifactName(name: string): string {
  return name.replace(/[":<>|*?\r\n\\/]/g, '-')
}

function fail(error: unknown): void {
  core.setFailed(messageOf(error))
  if (!(error instanceof UserError) && error instanceof Error && error.stack) core.debug(error.stack)
}
