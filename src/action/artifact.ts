import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import * as core from '@actions/core'
import { messageOf } from '../util/errors.js'

/** What to upload after a run. */
export interface ArtifactUpload {
  /** The artifact's name (see defaultArtifactName). */
  name: string
  /** The directory holding report.json and summary.html; files go in under their names. */
  reportDir: string
  reportFiles: string[]
  /** Days to keep it; undefined for the repository's default. */
  retentionDays?: number
  /** The dump (a file, or a directory-format dump), uploaded as `<name>-dump` when set. */
  dumpPath?: string
}

/** What was uploaded, or why nothing was. */
export interface UploadOutcome {
  skipped?: string
  uploaded: { name: string; id?: number; size?: number }[]
}

/** Just the part of the artifact client used here, so a caller can hand in its own. */
export interface ArtifactUploader {
  uploadArtifact(
    name: string,
    files: string[],
    rootDirectory: string,
    options?: { retentionDays?: number }
  ): Promise<{ id?: number; size?: number }>
}

/**
 * Uploads the report (report.json and summary.html) as one artifact and, when asked, the dump as
 * a second one, so the report can be shared without handing out production data. Only a workflow
 * run has the runtime token the artifact service needs; elsewhere (a local run) the upload is
 * skipped with a notice. Never throws: a failed upload is a warning.
 */
export async function uploadArtifacts(
  upload: ArtifactUpload,
  env: NodeJS.ProcessEnv = process.env,
  uploader?: ArtifactUploader
): Promise<UploadOutcome> {
  if (!env.ACTIONS_RUNTIME_TOKEN || !env.ACTIONS_RESULTS_URL) {
    const where = path.join(upload.reportDir, 'report.json')
    core.notice(`Not running inside GitHub Actions: report kept at ${where}, not uploaded as an artifact.`)
    return { skipped: 'no Actions runtime token', uploaded: [] }
  }
  // Loaded only here: the artifact client and its dependencies are most of the bundle, and
  // reading them at start-up would cost every run a quarter of a second and tens of MiB.
  const client = uploader ?? new (await import('@actions/artifact')).DefaultArtifactClient()
  const outcome: UploadOutcome = { uploaded: [] }
  const options = upload.retentionDays === undefined ? {} : { retentionDays: upload.retentionDays }
  const send = async (name: string, files: string[], root: string, what: string) => {
    try {
      const { id, size } = await client.uploadArtifact(name, files, root, options)
      core.info(`Uploaded ${what} as artifact ${name} (id ${id}, ${size} bytes).`)
      outcome.uploaded.push({ name, id, size })
    } catch (error) {
      core.warning(`Could not upload the ${what} as an artifact: ${messageOf(error)}`)
    }
  }
  await send(upload.name, upload.reportFiles, upload.reportDir, 'report')
  if (upload.dumpPath && fs.existsSync(upload.dumpPath)) {
    const dumpName = artifactName(`${upload.name}-dump`)
    core.warning(
      `Uploading the dump as artifact ${dumpName}: it holds production data, readable by anyone who can read this workflow's artifacts.`,
      { title: 'Lazarus: production data uploaded' }
    )
    const isDirectory = fs.statSync(upload.dumpPath).isDirectory()
    const root = isDirectory ? upload.dumpPath : path.dirname(upload.dumpPath)
    await send(dumpName, isDirectory ? filesUnder(upload.dumpPath) : [upload.dumpPath], root, 'dump')
  } else if (upload.dumpPath) {
    core.warning(`upload-dump is set, but there is no dump to upload (${upload.dumpPath} is gone).`)
  }
  return outcome
}

/**
 * The report artifact's default name. Artifact names must be unique within a workflow run, and
 * the action may run several times in one: in several steps of a job, in several jobs, in every
 * leg of a matrix (whose legs share the job id). So the name carries the job, the step and the
 * database for people to read, and a short hash that tells apart what those do not:
 * - the job run's backend id from the runtime token (each matrix leg and each attempt has its
 *   own), or where that cannot be read the runner name and attempt;
 * - the step id (GITHUB_ACTION, which the runner makes unique per step, `__owner_repo_2` for a
 *   second use of the same action);
 * - the production and clean-room servers, for a matrix over databases of the same name.
 * It is deterministic: the same step of the same job run always gets the same name.
 */
export function defaultArtifactName(
  env: NodeJS.ProcessEnv,
  databases: { production: { host: string; port: number; database: string }; cleanroom: { host: string; port: number } }
): string {
  const { production, cleanroom } = databases
  const jobRun = jobRunId(env.ACTIONS_RUNTIME_TOKEN) ?? `${env.RUNNER_NAME ?? ''}#${env.GITHUB_RUN_ATTEMPT ?? ''}`
  const distinguishing = [
    jobRun,
    env.GITHUB_JOB ?? '',
    env.GITHUB_ACTION ?? '',
    `${production.host}:${production.port}/${production.database}`,
    `${cleanroom.host}:${cleanroom.port}`
  ].join('\n')
  const hash = createHash('sha256').update(distinguishing).digest('hex').slice(0, 8)
  const readable = [env.GITHUB_JOB || 'job', production.database].join('-')
  return artifactName(`lazarus-${readable.slice(0, 80)}-${hash}`)
}

/** Artifact names may not contain " : < > | * ? \r \n \ /; anything else outside ASCII is replaced too. */
export function artifactName(name: string): string {
  return name.replace(/[":<>|*?\r\n\\/\s]/g, '-').replace(/[^\x21-\x7e]/g, '_')
}

/**
 * The job run's backend id from the runtime token's `scp` claim (`Actions.Results:<run>:<job>`),
 * as the artifact client reads it; undefined when the token is not such a JWT.
 */
export function jobRunId(token: string | undefined): string | undefined {
  const payload = token?.split('.')[1]
  if (!payload) return undefined
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { scp?: unknown }
    if (typeof claims.scp !== 'string') return undefined
    const scope = claims.scp.split(' ').find(part => part.startsWith('Actions.Results:'))
    return scope?.split(':')[2] || undefined
  } catch {
    return undefined
  }
}

function filesUnder(directory: string): string[] {
  return fs
    .readdirSync(directory, { withFileTypes: true, recursive: true })
    .filter(entry => entry.isFile())
    .map(entry => path.join(entry.parentPath, entry.name))
}
