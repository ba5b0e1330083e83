import * as fs from 'node:fs'
import * as path from 'node:path'
import { randomBytes } from 'node:crypto'

/**
 * The run's private corner of RUNNER_TEMP. Dumps hold production data: the work directory is
 * mode 0700 and removed at the end; only the report directory outlives the run.
 */
export class Workspace {
  readonly runId: string
  readonly reportDir: string
  readonly workDir: string

  constructor(runnerTemp: string) {
    const stamp = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14)
    this.runId = `${stamp}_${randomBytes(3).toString('hex')}`
    this.reportDir = path.join(runnerTemp, `lazarus-${this.runId}`)
    this.workDir = path.join(this.reportDir, 'work')
    fs.mkdirSync(this.workDir, { recursive: true, mode: 0o700 })
    fs.chmodSync(this.reportDir, 0o700)
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
