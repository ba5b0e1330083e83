import * as fs from 'node:fs/promises'
import * as exec from '@actions/exec'
import { diskFullError } from './pg-tools.js'

/**
 * The only module that runs sed. The program writes its own output files (`w`), so the dump
 * streams from disk to disk and never through this process.
 */
export async function runSedProgram(program: string, programFile: string, inputFile: string, outputFile: string): Promise<void> {
  await fs.writeFile(programFile, program, { mode: 0o600 })
  let stderr = ''
  const exitCode = await exec.exec('sed', ['-n', '-E', '-f', programFile, inputFile], {
    ignoreReturnCode: true,
    listeners: { stderr: (data: Buffer) => void (stderr = (stderr + data.toString('utf8')).slice(-2000)) }
  })
  if (exitCode !== 0) {
    throw diskFullError(stderr, 'sed', 'the sanitized copy of the dump', outputFile) ?? new Error(`sed exited with code ${exitCode}: ${stderr.trim() || 'no error output'}`)
  }
}
