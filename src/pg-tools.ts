import * as fs from 'node:fs'
import * as path from 'node:path'
import * as exec from '@actions/exec'
import * as io from '@actions/io'
import { isCancelling } from './cancellation.js'
import { UserError } from './errors.js'
import type { ConnectionTarget } from './connection.js'
import { formatBytes } from './summary.js'

/**
 * The only module that runs PostgreSQL client programs. Passwords reach them through the
 * environment (PGPASSWORD), never argv: @actions/exec echoes every command line to the log.
 */

export interface ClientTool {
  path: string
  /** As the program reports it, e.g. "15.18". */
  version: string
  major: number
}

export interface ClientTools {
  pgDump: ClientTool
  psql: ClientTool
}

/** Debian and Ubuntu keep every installed client major here; /usr/bin/pg_dump runs the newest. */
const DEBIAN_CLIENT_ROOT = '/usr/lib/postgresql'
/** How long a client waits for a server to answer before giving up, in seconds. */
export const CONNECT_TIMEOUT_SECONDS = 10
/** How long pg_dump waits for a table lock before failing rather than queueing behind production traffic. */
const LOCK_WAIT_TIMEOUT = '60s'
/** Lines of stderr kept for an error message; the full stream is already in the log. */
const STDERR_TAIL_BYTES = 4000

/**
 * Picks the pg_dump/psql pair for a production server of `serverMajor`. A dump loads into servers
 * of its pg_dump's version or newer, so the oldest client that can still dump production is the
 * one most likely to produce SQL the clean room accepts.
 */
export async function resolveClientTools(serverMajor: number, binDir?: string): Promise<ClientTools> {
  if (binDir) {
    const tools = await toolsIn(binDir)
    if (!tools) {
      const missing = ['pg_dump', 'psql'].filter(program => !isExecutable(path.join(binDir, program)))
      const what = fs.existsSync(binDir) ? `which has no executable ${missing.join(' or ')}` : 'which does not exist'
      throw new UserError(
        `Input 'postgres-bin-dir' is '${binDir}', ${what}: point it at the bin directory of PostgreSQL ${serverMajor} ` +
          `client tools or newer (e.g. ${DEBIAN_CLIENT_ROOT}/${serverMajor}/bin after installing postgresql-client-${serverMajor}), ` +
          `or leave it empty to let Lazarus pick an installed client.`
      )
    }
    if (tools.pgDump.major < serverMajor) {
      throw new UserError(
        `pg_dump ${tools.pgDump.version} in '${binDir}' is older than production (PostgreSQL ${serverMajor}) and cannot dump it: ` +
          `install postgresql-client-${serverMajor} or newer and point postgres-bin-dir at its bin directory ` +
          `(e.g. ${DEBIAN_CLIENT_ROOT}/${serverMajor}/bin), or leave postgres-bin-dir empty.`
      )
    }
    return tools
  }

  const seen: string[] = []
  for (const dir of debianClientDirs()) {
    const tools = await toolsIn(dir)
    if (!tools) continue
    seen.push(`${tools.pgDump.version} (${dir})`)
    if (tools.pgDump.major >= serverMajor) return tools
  }
  const onPath = await io.which('pg_dump', false)
  if (onPath) {
    const tools = await toolsIn(path.dirname(onPath))
    if (tools) {
      seen.push(`${tools.pgDump.version} (${path.dirname(onPath)})`)
      if (tools.pgDump.major >= serverMajor) return tools
    }
  }
  const found = seen.length > 0 ? `found only pg_dump ${seen.join(', ')}` : 'found no pg_dump'
  throw new UserError(
    `No PostgreSQL client can dump production (PostgreSQL ${serverMajor}); ${found}. ` +
      `Install postgresql-client-${serverMajor} or newer, or set postgres-bin-dir.`
  )
}

function debianClientDirs(): string[] {
  let entries: string[]
  try {
    entries = fs.readdirSync(DEBIAN_CLIENT_ROOT)
  } catch {
    return []
  }
  return entries
    .filter(entry => /^\d+(\.\d+)?$/.test(entry))
    .sort((a, b) => Number(a) - Number(b))
    .map(entry => path.join(DEBIAN_CLIENT_ROOT, entry, 'bin'))
}

async function toolsIn(dir: string): Promise<ClientTools | undefined> {
  const pgDumpPath = path.join(dir, 'pg_dump')
  const psqlPath = path.join(dir, 'psql')
  if (!isExecutable(pgDumpPath) || !isExecutable(psqlPath)) return undefined
  return { pgDump: await toolVersion(pgDumpPath), psql: await toolVersion(psqlPath) }
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK)
    return fs.statSync(file).isFile()
  } catch {
    return false
  }
}

async function toolVersion(program: string): Promise<ClientTool> {
  const { stdout } = await exec.getExecOutput(program, ['--version'], { silent: true })
  const version = parseClientVersion(stdout)
  if (!version) throw new UserError(`Could not read the version of ${program} (it printed '${stdout.trim()}').`)
  return { path: program, ...version }
}

/** "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)" → 15.18, major 15 (9.6 → major 9). */
export function parseClientVersion(output: string): { version: string; major: number } | undefined {
  const match = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(output)
  if (!match) return undefined
  const version = match[2] === undefined ? match[1] : `${match[1]}.${match[2]}`
  return { version, major: Number(match[1]) }
}

/**
 * True when this psql knows \restrict, which pg_dump writes since the August 2025 minor releases
 * to stop a hostile dump from running meta-commands.
 */
export function psqlUnderstandsRestrict(psql: ClientTool): boolean {
  const [major, minor = 0] = psql.version.split('.').map(Number)
  const firstMinorWithRestrict: Record<number, number> = { 13: 22, 14: 19, 15: 14, 16: 10, 17: 6 }
  if (major >= 18) return true
  const needed = firstMinorWithRestrict[major]
  return needed !== undefined && minor >= needed
}

function clientEnv(target: ConnectionTarget, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && key !== 'PGPASSWORD') env[key] = value
  }
  if (target.password) env.PGPASSWORD = target.password
  env.PGCONNECT_TIMEOUT = String(CONNECT_TIMEOUT_SECONDS)
  env.PGAPPNAME = 'lazarus'
  return { ...env, ...extra }
}

/**
 * Runs a client program, keeping the tail of its stderr for the error message. A program that
 * ends because the run is being cancelled never returns: the cancellation handler owns the rest
 * of the run, and a "restore failed" from the program it stopped would only be a second, false
 * error.
 */
async function runClient(program: string, args: string[], env: Record<string, string>): Promise<{ exitCode: number; stderr: string }> {
  let stderr = ''
  const exitCode = await exec.exec(program, args, {
    env,
    ignoreReturnCode: true,
    listeners: {
      stderr: (data: Buffer) => {
        stderr = (stderr + data.toString('utf8')).slice(-STDERR_TAIL_BYTES)
      }
    }
  })
  if (isCancelling()) await new Promise<never>(() => undefined)
  return { exitCode, stderr: stderr.trim() }
}

export interface DumpOptions {
  file: string
  /** A snapshot exported by production's fingerprinting transaction, so both see the same data. */
  snapshot?: string
}

/** pg_dump in plain SQL straight to a file; the dump never passes through this process. */
export async function dumpDatabase(tools: ClientTools, production: ConnectionTarget, options: DumpOptions): Promise<void> {
  const args = [
    '--format=plain',
    '--no-owner',
    '--no-privileges',
    `--lock-wait-timeout=${LOCK_WAIT_TIMEOUT}`,
    `--file=${options.file}`
  ]
  if (options.snapshot) args.push(`--snapshot=${options.snapshot}`)
  args.push(`--dbname=${production.uri}`)
  const env = clientEnv(production, { PGOPTIONS: '-c default_transaction_read_only=on' })
  const { exitCode, stderr } = await runClient(tools.pgDump.path, args, env)
  if (exitCode === 0) return
  const diskFull = diskFullError(stderr, 'pg_dump', 'the dump', options.file)
  if (diskFull) throw diskFull
  throw new Error(`pg_dump exited with code ${exitCode}: ${lastLines(stderr) || 'no error output'}`)
}

/**
 * The error to show when a program ran out of disk space writing `file` (its stderr says so, as
 * strerror(ENOSPC) words it), or undefined when it failed for another reason. Shared by every
 * program that writes a copy of the dump into RUNNER_TEMP.
 */
export function diskFullError(stderr: string, program: string, what: string, file: string): UserError | undefined {
  if (!/No space left on device/i.test(stderr)) return undefined
  const directory = path.dirname(file)
  return new UserError(
    `The disk filled up while ${program} was writing ${what} to ${directory} (No space left on device${freeSpace(directory)}). ` +
      `A run needs room there for two copies of the dump (each about the size of production's data): free disk space on the runner, ` +
      `use a runner with a larger disk, or point RUNNER_TEMP at a volume with room for it.`
  )
}

/** "; 12.0 KiB free of 1.0 MiB" for a message, or nothing when the filesystem cannot be asked. */
function freeSpace(directory: string): string {
  try {
    const stats = fs.statfsSync(directory)
    return `; ${formatBytes(stats.bavail * stats.bsize)} free of ${formatBytes(stats.blocks * stats.bsize)}`
  } catch {
    return ''
  }
}

export type RestoreOutcome = { ok: true } | { ok: false; error: string }

/**
 * Restores a plain dump with psql in one transaction, stopping at the first error: a backup that
 * needs a statement skipped is a backup that does not restore.
 */
export async function restoreDump(tools: ClientTools, target: ConnectionTarget, file: string): Promise<RestoreOutcome> {
  const args = ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction', '-o', '/dev/null', '-f', file, `--dbname=${target.uri}`]
  const { exitCode, stderr } = await runClient(tools.psql.path, args, clientEnv(target))
  if (exitCode === 0) return { ok: true }
  return { ok: false, error: lastLines(stderr) || `psql exited with code ${exitCode}` }
}

function lastLines(text: string, count = 5): string {
  return text.split('\n').filter(Boolean).slice(-count).join(' | ')
}
