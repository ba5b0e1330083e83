import * as fs from 'node:fs'
import * as path from 'node:path'
import { randomBytes } from 'node:crypto'

/**
 * The run's private corner of RUNNER_TEMP. Dumps hold production data: the directories are mode
 * 0700, every file in them 0600, and the work directory is removed at the end; only the report
 * directory outlives the run.
 */
export class Workspace {
  readonly runId: string
  readonly reportDir: string
  readonly workDir: string

  constructor(runnerTemp: string) {
    // Files are private from the start: pg_dump, psql and sed create theirs under the umask they
    // inherit, and a dump readable by other users for even a moment has leaked production data.
    process.umask(0o077)
    const stamp = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14)
    this.runId = `${stamp}_${randomBytes(3).toString('hex')}`
    this.reportDir = path.join(runnerTemp, `lazarus-${this.runId}`)
    this.workDir = path.join(this.reportDir, 'work')
    fs.mkdirSync(this.workDir, { recursive: true, mode: 0o700 })
    fs.chmodSync(this.reportDir, 0o700)
  }

  /** The sanitized dump that is restored and verified: the backup under test. */
  get backupFile(): string {
    return this.file('backup.sql')
  }

  /** A path inside the private work directory. */
  file(name: string): string {
    return path.join(this.workDir, name)
  }

  removeFile(file: string): void {
    fs.rmSync(file, { force: true })
  }

  /** Removes every work file (dumps included), keeping the report. */
  removeWorkFiles(): void {
    fs.rmSync(this.workDir, { recursive: true, force: true })
  }
}
