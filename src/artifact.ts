import * as path from 'node:path'
import * as core from '@actions/core'
import { DefaultArtifactClient } from '@actions/artifact'
import { messageOf } from './errors.js'

/**
 * Uploads the report. Only a workflow run has the runtime token the artifact service needs;
 * elsewhere (a local run) the upload is skipped with a notice, never an error.
 */
export async function uploadReport(files: string[], rootDirectory: string, name: string): Promise<void> {
  if (!process.env.ACTIONS_RUNTIME_TOKEN || !process.env.ACTIONS_RESULTS_URL) {
    core.notice(`Not running inside GitHub Actions: report kept at ${path.join(rootDirectory, 'report.json')}, not uploaded.`)
    return
  }
  try {
    const { id, size } = await new DefaultArtifactClient().uploadArtifact(name, files, rootDirectory)
    core.info(`Uploaded artifact ${name} (id ${id}, ${size} bytes).`)
  } catch (error) {
    core.warning(`Could not upload the report as an artifact: ${messageOf(error)}`)
  }
}
