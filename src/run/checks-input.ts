import * as fs from 'node:fs'
import * as path from 'node:path'
import { ChecksFileError, parseChecksFile, type CheckDefinition } from '../verification/checks-file.js'
import { UserError } from '../util/errors.js'
import type { CheckDialect } from '../engines/types.js'

/** Largest checks file read: it holds queries, not data. */
const MAX_FILE_BYTES = 1024 * 1024

/**
 * Reads the `checks` input's file: relative to the workspace (GITHUB_WORKSPACE, else the working
 * directory) or absolute. An empty input means no checks. Throws a one-line UserError naming
 * the input, the file and what to fix. `dialect`: the engine's SQL (its `userChecks` capability);
 * an engine without one never reads the input (its settings refuse it, settings.ts).
 */
export function readChecksInput(
  inputName: string,
  raw: string,
  dialect: CheckDialect,
  env: NodeJS.ProcessEnv = process.env
): CheckDefinition[] {
  const given = raw.trim()
  if (!given) return []
  const file = path.resolve(env.GITHUB_WORKSPACE || process.cwd(), given)
  let stat: fs.Stats
  try {
    stat = fs.statSync(file)
  } catch {
    throw new UserError(
      `Input '${inputName}' names ${file}, which does not exist: give a path relative to the workspace (GITHUB_WORKSPACE) or an absolute one, and check out the repository first.`
    )
  }
  if (!stat.isFile()) throw new UserError(`Input '${inputName}' names ${file}, which is not a file: name the SQL file of checks.`)
  if (stat.size > MAX_FILE_BYTES) {
    throw new UserError(`Input '${inputName}' names ${file}, which is larger than 1 MiB: a checks file holds queries, not data.`)
  }
  const bytes = fs.readFileSync(file)
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
    if (text.includes('\u0000')) throw new Error('NUL')
  } catch {
    throw new UserError(`Input '${inputName}': ${file} is not UTF-8 text: save the checks file as UTF-8.`)
  }
  try {
    return parseChecksFile(text.replace(/^\uFEFF/, ''), dialect)
  } catch (error) {
    if (error instanceof ChecksFileError) throw new UserError(`Input '${inputName}': ${file}, ${error.message}`)
    throw error
  }
}
