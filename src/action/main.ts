import * as path from 'node:path'
import * as core from '@actions/core'
import { defaultArtifactName, uploadArtifacts } from './artifact.js'
import { isCancelling } from '../util/cancellation.js'
import { handleCancellation } from './signals.js'
import { leftoverState, markMainStarted } from './state.js'
import { recordLeftoversWith } from '../util/leftovers.js'
import { UserError, messageOf } from '../util/errors.js'
import { actionsCacheHistoryStore, databaseId, describeTrend, historyRun, trackRun } from '../report/history.js'
import { writeWorkFile } from '../util/work-files.js'
import { verifyBackup } from '../run/pipeline.js'
import { verifyStoredBackup } from '../run/stored-pipeline.js'
import { checkRto, failureMessage, judgeStopped, reportOutputs, rtoWarning, type Report } from '../report/report.js'
import { readRunSettings, type Settings } from '../run/settings.js'
import { renderSummary } from '../report/summary.js'
import { Workspace } from '../run/workspace.js'

/** The action: read the inputs, verify the backup, publish the verdict. Never throws. */
export async function run(): Promise<void> {
  const started = performance.now()
  markMainStarted()
  recordLeftoversWith(leftoverState)
  handleCancellation()
  let chosen: ChosenRun
  try {
    chosen = chooseRun(await readRunSettings(name => core.getInput(name)))
  } catch (error) {
    core.setOutput('result', 'error')
    fail(error)
    return
  }

  let workspace: Workspace | undefined
  const report = chosen.report
  try {
    workspace = new Workspace(chosen.publishing.runnerTemp)
    await chosen.verify(workspace, report)
    if (report.result === 'restored') {
      core.notice(
        "The stored backup restores and its schema matches production's as it is now, but its content was not proven: " +
          'without its manifest nothing says what production held when it was taken. Keep restore points with backup-dir to verify them fully.',
        { title: 'Lazarus: restored, content not proven' }
      )
    }
  } catch (error) {
    Object.assign(report, judgeStopped(messageOf(error)))
    if (!(error instanceof UserError) && error instanceof Error && error.stack) core.debug(error.stack)
  } finally {
    // The dump holds production data: it outlives the pipeline only when it is to be uploaded.
    if (!chosen.uploadDump) workspace?.removeWorkFiles()
  }
  // A cancellation is already reporting and exiting; a half-finished run has nothing to publish.
  if (isCancelling()) return
  report.timings.total = (performance.now() - started) / 1000
  report.rto = checkRto(report, chosen.publishing)

  try {
    // upload-dump uploads the restore point: the backup that was verified and its manifest.
    const restorePoint = chosen.uploadDump ? report.restorePoint?.directory : undefined
    if (chosen.uploadDump && !restorePoint)
      core.warning(`upload-dump is set, but no backup was kept to upload (${report.result}).`)
    await publish(report, chosen.publishing, workspace, restorePoint)
  } catch (error) {
    core.warning(`Could not publish the report: ${messageOf(error)}`)
  } finally {
    workspace?.removeWorkFiles()
  }
  const failure = failureMessage(report)
  if (failure) core.setFailed(failure)
}

/** What publishing a run's report needs of its settings, whatever the engine. */
interface PublishSettings {
  /** Without production (a stored backup verified from its manifest), the manifest names it. */
  production?: { host: string; port: number; database: string }
  cleanroom: { host: string; port: number }
  historyKey?: string
  runnerTemp: string
  artifactName?: string
  artifactRetentionDays?: number
  rtoSeconds?: number
  rtoWarnSeconds?: number
}

/** One run, ready to start: its empty report, how it verifies, and how its report is published. */
interface ChosenRun {
  report: Report
  verify(workspace: Workspace, report: Report): Promise<void>
  publishing: PublishSettings
  uploadDump: boolean
}

/**
 * A fresh dump, or a stored backup (backup-path), over the engine the URLs chose. Masks the
 * passwords, and has the engine forget its client's environment (engines/types.ts
 * ClientEnvironment), before anything is logged or connected.
 */
function chooseRun(settings: Settings): ChosenRun {
  maskSecrets(settings)
  settings.engine.clientEnvironment?.forget()
  const publishing = { ...settings, production: settings.productionAddress, cleanroom: settings.cleanroomAddress }
  return {
    report: emptyReport(settings),
    verify: (workspace, report) =>
      settings.backupPath ? verifyStoredBackup(settings, workspace, report) : verifyBackup(settings, workspace, report),
    publishing,
    uploadDump: settings.uploadDump
  }
}

/** Registers every form a password can take, so the runner masks it wherever it appears. */
function maskSecrets(settings: Settings): void {
  for (const secret of settings.secrets) core.setSecret(secret)
  // The runner masks a secret line by line: each line of the signing key's PEM is registered.
  if (settings.signingKeyPem) {
    core.setSecret(settings.signingKeyPem)
    for (const line of settings.signingKeyPem.split(/\r?\n|\\n/).map(text => text.trim())) {
      if (line.length > 8 && !line.startsWith('-----')) core.setSecret(line)
    }
  }
}

function emptyReport(settings: Settings): Report {
  return {
    result: 'error',
    verify: settings.verify,
    // Without production (a stored backup verified from its manifest), the manifest names it.
    production:
      settings.production !== undefined && settings.productionAddress
        ? { server: settings.engine.describe(settings.production), database: settings.productionAddress.database }
        : { server: '', database: '' },
    cleanroom: { server: settings.engine.describe(settings.cleanroom) },
    sanitized: [],
    tables: [],
    sabotage: [],
    timings: {},
    startedAt: new Date().toISOString()
  }
}

/**
 * Outputs, the run history, the JSON report, the job summary and (inside Actions) the report as
 * an artifact. Annotates a restore slower than rto-warn-seconds or sharply slower than usual.
 */
async function publish(
  report: Report,
  settings: PublishSettings,
  workspace: Workspace | undefined,
  dumpPath: string | undefined
): Promise<void> {
  const warning = rtoWarning(report)
  if (warning) core.warning(warning, { title: 'Lazarus: restore slower than rto-warn-seconds' })

  // Without production (a stored backup verified from its manifest), the run is filed under the manifest's production.
  const production = settings.production ?? { host: report.production.server, port: 0, database: report.production.database }
  const id = databaseId(production, settings.historyKey)
  const { history, trend } = await trackRun(await actionsCacheHistoryStore(id, settings.runnerTemp), historyRun(report), id)
  if (trend) report.restoreTrend = trend
  if (trend?.alarm) core.warning(describeTrend(trend), { title: 'Lazarus: restore time grew sharply' })

  let reportPath = ''
  const summary = renderSummary(report, history)
  if (workspace) {
    // A full disk loses the files, not the verdict: the outputs and the job summary still follow.
    try {
      writeWorkFile(path.join(workspace.reportDir, 'report.json'), JSON.stringify(report, null, 2) + '\n', 'the JSON report')
      writeWorkFile(path.join(workspace.reportDir, 'summary.html'), summary, 'the summary')
      reportPath = path.join(workspace.reportDir, 'report.json')
    } catch (error) {
      core.warning(`Could not write the report: ${messageOf(error)}`)
    }
  }
  for (const [name, value] of Object.entries(reportOutputs(report, reportPath))) core.setOutput(name, value)
  if (process.env.GITHUB_STEP_SUMMARY) await core.summary.addRaw(summary).write()
  if (workspace) {
    await uploadArtifacts({
      name: settings.artifactName ?? defaultArtifactName(process.env, { production, cleanroom: settings.cleanroom }),
      reportDir: workspace.reportDir,
      reportFiles: [reportPath, path.join(workspace.reportDir, 'summary.html')],
      retentionDays: settings.artifactRetentionDays,
      dumpPath
    })
  }
  if (reportPath) core.info(`Report: ${reportPath}`)
}

function fail(error: unknown): void {
  core.setFailed(messageOf(error))
  if (!(error instanceof UserError) && error instanceof Error && error.stack) core.debug(error.stack)
}
