import * as fs from 'node:fs'
import * as path from 'node:path'
import * as exec from '@actions/exec'
import * as io from '@actions/io'
import { childProcessesEnded, isCancelling } from '../../util/cancellation.js'
import { untrustedOutput } from '../../util/command-guard.js'
import { UserError } from '../../util/errors.js'
import { CONNECT_TIMEOUT_SECONDS, conninfo, describe, isLibpqEnvironmentVariable, type ConnectionTarget } from './connection.js'
import type { KeptFormat } from './backup-format.js'
import { blamesCleanroom, cleanroomHint, parseVerboseError, withoutVerboseDetail } from './fault-classes.js'
import { streamBuffers } from './stdbuf.js'
import { diskFullError, workDirFix, writeWorkFile, type WorkFile } from '../../util/work-files.js'
import { isExecutable } from '../../util/executables.js'

// Lazarus's own work files and a full disk's error, shared by every engine (util/work-files.ts).
export { diskFullError, workDirFix, writeWorkFile, type WorkFile }

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
  /** pg_restore from the same directory, when it is there: archive formats need it (requirePgRestore). */
  pgRestore?: ClientTool
}

/** Debian and Ubuntu keep every installed client major here; /usr/bin/pg_dump runs the newest. */
const DEBIAN_CLIENT_ROOT = '/usr/lib/postgresql'
export { CONNECT_TIMEOUT_SECONDS }
/** pg_dump's session is read-only from its first statement, on top of its own read-only transaction. */
const READ_ONLY_OPTION = '-c default_transaction_read_only=on'
/** psql's exit code when a statement of its script failed under ON_ERROR_STOP: the only failure that can be the backup's. */
const PSQL_SCRIPT_ERROR = 3
/** psql's exit code when it could not open its connection, or lost it. */
const PSQL_CONNECTION_ERROR = 2
/** Lines of stderr kept for an error message; the full stream is already in the log. */
const STDERR_TAIL_BYTES = 4000
/** How often the stream's status file is read for pg_dump's end. */
const DUMP_END_POLL_MS = 100

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

export function debianClientDirs(): string[] {
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
  const pgRestorePath = path.join(dir, 'pg_restore')
  return {
    pgDump: await toolVersion(pgDumpPath),
    psql: await toolVersion(psqlPath),
    ...(isExecutable(pgRestorePath) ? { pgRestore: await toolVersion(pgRestorePath) } : {})
  }
}

/** pg_restore beside pg_dump, or a UserError saying what to install: `why` says what needs it. */
export function requirePgRestore(tools: ClientTools, why: string): ClientTool {
  if (tools.pgRestore) return tools.pgRestore
  const dir = path.dirname(tools.pgDump.path)
  throw new UserError(
    `${why} needs pg_restore, and there is none beside pg_dump in ${dir}: install the full PostgreSQL client ` +
      `(postgresql-client-${tools.pgDump.major}), or point postgres-bin-dir at a bin directory that has pg_restore.`
  )
}

export async function toolVersion(program: string): Promise<ClientTool> {
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

/**
 * The environment of a client program: without any variable libpq would read as a default
 * (PGHOST, PGHOSTADDR, PGSERVICE, PGSSLMODE, PGOPTIONS, ...), so that only the description in
 * its connection string decides where and how it connects; the password alone comes from here.
 */
export function clientEnv(target: ConnectionTarget, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {}
  // Without PGCLIENTENCODING, pg_dump writes in production's database encoding, which the drill
  // relies on to find names beyond ASCII in the dump (dump-encoding.ts); the dump sets psql's itself.
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !isLibpqEnvironmentVariable(key)) env[key] = value
  }
  if (target.password) env.PGPASSWORD = target.password
  return { ...env, ...extra }
}

/** How long the client programs wait on production's locks, and on a server that stopped answering. */
export interface FaultLimits {
  /** pg_dump's --lock-wait-timeout: a production table locked longer fails the run, naming the table. */
  lockTimeoutSeconds: number
  /**
   * Bounds a silent network: TCP keepalives probe an idle connection and tcp_user_timeout drops one
   * whose data goes unacknowledged, so a vanished host or a cut network ends pg_dump and psql
   * instead of leaving them waiting. (A frozen server process behind a live kernel still
   * acknowledges: the run's watchdog catches that.)
   */
  serverTimeoutSeconds: number
}

/** The defaults of lock-timeout-seconds and server-timeout-seconds. */
export const DEFAULT_FAULT_LIMITS: FaultLimits = { lockTimeoutSeconds: 60, serverTimeoutSeconds: 60 }

/**
 * The description with libpq's TCP safeguards derived from the server timeout (libpq ignores
 * them on Unix sockets); any the user's URI set stay as given. They go into the conninfo that
 * pg_dump and psql connect with, never into the URI the user wrote.
 */
export function withTcpSafeguards(target: ConnectionTarget, limits: FaultLimits): ConnectionTarget {
  const timeout = Math.max(1, Math.round(limits.serverTimeoutSeconds))
  const safeguards: Record<string, string> = {
    keepalives: '1',
    keepalives_idle: String(Math.max(1, Math.floor(timeout / 3))),
    keepalives_interval: String(Math.max(1, Math.floor(timeout / 9))),
    keepalives_count: '3',
    tcp_user_timeout: String(timeout * 1000)
  }
  return { ...target, tuning: { ...safeguards, ...target.tuning } }
}

/**
 * The error for a restore that the location check stopped (psql names the file of a failed
 * statement): not the backup's failure, but psql connected somewhere other than checked.
 */
export function locationCheckError(stderr: string, checkFile: string): UserError | undefined {
  const line = stderr.split('\n').find(text => text.includes(`psql:${checkFile}:`))
  if (!line) return undefined
  const reason = /Lazarus location check failed: ([^"]*)/.exec(line)?.[1] ?? line.replace(/^.*?ERROR:\s*/, '')
  return new UserError(
    `The restore stopped before its first statement: ${reason}. psql was not where Lazarus checked ` +
      `(the scratch database on the clean room it verified); nothing of the dump ran there.`
  )
}

/**
 * Runs a client program, keeping the tail of its stderr for the error message. A program that
 * ends because the run is being cancelled never returns: the cancellation handler owns the rest
 * of the run, and a "restore failed" from the program it stopped would only be a second, false
 * error.
 */
export async function runClient(
  program: string,
  args: string[],
  env: Record<string, string>
): Promise<{ exitCode: number; stderr: string }> {
  let stderr = ''
  // What the program prints may quote production's content: no line of it may act as a workflow command.
  const output = untrustedOutput(process.stdout)
  const exitCode = await exec
    .exec(program, args, {
      env,
      ignoreReturnCode: true,
      outStream: output,
      errStream: output,
      listeners: {
        stderr: (data: Buffer) => {
          stderr = (stderr + data.toString('utf8')).slice(-STDERR_TAIL_BYTES)
        }
      }
    })
    .finally(() => output.end())
  if (isCancelling() || childProcessesEnded()) await new Promise<never>(() => undefined)
  return { exitCode, stderr: stderr.trim() }
}

const STREAM_STAGE_NAMES = ['dump', 'keep', 'convert', 'sanitize', 'restore'] as const
type StreamStageName = (typeof STREAM_STAGE_NAMES)[number]

/** How one program of the streamed pipeline ended. */
export interface StreamStage {
  exitCode: number
  /** Seconds from the start of the pipeline until this program ended. */
  seconds: number
}

export interface StreamOptions {
  /** The snapshot production's reading transaction exported, so both see the same data. */
  snapshot: string
  /** The filter between pg_dump and psql (the sanitizing sed), as argv. */
  filter: string[]
  /** Where each program's end (name, exit code, time) is recorded. */
  statusFile: string
  /** Where the pipeline's bash script is written, so the log shows a short command line. */
  scriptFile: string
  /** Where dd reports how many bytes the dump had. */
  bytesFile: string
  /**
   * Settles when the restore target exists (it is created while pg_dump starts): psql waits for
   * it at the gate file. When it rejects, psql never runs and its error is the stream's.
   */
  restoreTargetReady: Promise<unknown>
  /** Where the pipeline reads whether psql may start ("go") or must not ("stop"). */
  gateFile: string
  /** Called once when pg_dump has ended (while psql may still be restoring), with whether it succeeded. */
  onDumpEnded?: (succeeded: boolean) => void
  /**
   * Dump owners (ALTER ... OWNER TO) and privileges (GRANT, REVOKE, ALTER DEFAULT PRIVILEGES):
   * only when the clean room has every role they name (see cleanroom-roles.ts).
   */
  withOwnersAndPrivileges?: boolean
  /** SQL file psql runs before the dump, which fails unless psql is where Lazarus checked (see guards.ts). */
  checkFile: string
  /** Keep the backup pg_dump writes (a restore point): the stream restores that same output. */
  keep?: KeepBackup
  /**
   * Whether production takes startup options (no pooler in front of it, which would refuse them):
   * then pg_dump's session is also made read-only by default_transaction_read_only.
   */
  productionTakesOptions: boolean
  /** The run's lock and server timeouts; the inputs' defaults when not given. */
  limits?: FaultLimits
  /** Files the filter writes, by path, with what each holds: a full disk names the one it hit. */
  workFiles?: Record<string, WorkFile>
  /**
   * Production's relations other sessions hold ACCESS EXCLUSIVE locks on, asked when pg_dump gave
   * up waiting for a lock: its LOCK TABLE may name many tables, the error names the locked one.
   */
  exclusiveLocks?: () => Promise<HeldLock[]>
}

/** A relation another session holds a lock on: its kind ("table", ...) and quoted schema.name. */
export interface HeldLock {
  kind: string
  name: string
}

export type StreamOutcome = (
  | { ok: true; dump: StreamStage; sanitize: StreamStage; restore: StreamStage; keep?: StreamStage; convert?: StreamStage }
  | {
      ok: false
      stage: StreamStageName
      error: string
      dump?: StreamStage
      keep?: StreamStage
      convert?: StreamStage
      sanitize?: StreamStage
      restore?: StreamStage
      /**
       * Set when the program that failed first failed because of a server or the setup, not the
       * backup (psql could not connect, lost the clean room, or stopped on an error of the clean
       * room's own; pg_dump could not connect, lost production, or waited too long for a lock).
       */
      environmentError?: UserError
    }
) & {
  dumpBytes?: number
  /** When the pipeline started and when psql was let through the gate, in seconds since the epoch. */
  startedAt?: number
  restoreStartedAt?: number
}

/**
 * The pipeline, in bash so the three programs run at once and the dump never lands anywhere it
 * does not have to: pg_dump | sed | psql. Each password reaches only its own program, through
 * PGPASSWORD set inside the pipeline from variables that are unset before anything runs; the
 * script itself (visible in the process list and echoed by @actions/exec) holds no secret.
 * Each program records its exit code and end time, since a pipeline has only one exit code;
 * dd counts the bytes pg_dump wrote as they pass. psql waits at the gate until the action says
 * its database exists, and gives up should the action itself be gone (killed), so that no
 * orphaned pipeline waits forever. Nothing else copies the stream: every program in it passes
 * every byte through a pipe once more, and on a machine that hosts the servers too that CPU is
 * the restore's (the sanitizing sed writes the line index a failed restore is named from).
 * psql runs with RESTORE_PSQL_OPTIONS.
 */
const STREAM_SCRIPT_HEAD = `
pw_production=\${LAZARUS_PRODUCTION_PASSWORD-}
pw_cleanroom=\${LAZARUS_CLEANROOM_PASSWORD-}
unset LAZARUS_PRODUCTION_PASSWORD LAZARUS_CLEANROOM_PASSWORD PGPASSWORD
ended() { echo "$1 $2 $(date +%s.%N)" >> "$LAZARUS_STATUS_FILE"; }
gate_open() {
  while [ ! -s "$LAZARUS_GATE_FILE" ]; do kill -0 "$PPID" 2> /dev/null || return 1; sleep 0.01; done
  [ "$(cat "$LAZARUS_GATE_FILE")" = go ]
}
`

/**
 * The first programs of the stream, which hand plain SQL to sed: pg_dump alone; or, keeping a
 * restore point, pg_dump with tee writing its output to the kept file (plain, custom) and
 * pg_restore turning a custom archive back into SQL as it arrives. Each program records its own
 * end, so the first to fail is known. The kept file and the restored stream are the same pg_dump
 * run's output, from the same snapshot. (A directory-format backup is not streamed: dumpDirectory.)
 * pg_dump writes a custom archive to stdout through stdio, and pg_restore reads it from stdin so:
 * with 1 MiB buffers (stdbuf.ts) each moves the archive in large pieces rather than 4 KiB ones.
 */
const STREAM_SOURCES: Record<'stream' | Exclude<KeptFormat, 'directory'>, string> = {
  stream: `{ if [ -n "$pw_production" ]; then export PGPASSWORD="$pw_production"; fi
  "$LAZARUS_PG_DUMP" "$@" | dd bs=1M 2> "$LAZARUS_BYTES_FILE"
  ended dump \${PIPESTATUS[0]}; } |`,
  plain: `{ if [ -n "$pw_production" ]; then export PGPASSWORD="$pw_production"; fi
  "$LAZARUS_PG_DUMP" "$@"; ended dump $?; } |
{ tee "$LAZARUS_KEEP_PATH" | dd bs=1M 2> "$LAZARUS_BYTES_FILE"; ended keep \${PIPESTATUS[0]}; } |`,
  custom: `{ if [ -n "$pw_production" ]; then export PGPASSWORD="$pw_production"; fi
  "\${LAZARUS_ARCHIVE_OUT[@]}" "$LAZARUS_PG_DUMP" "$@"; ended dump $?; } |
{ tee "$LAZARUS_KEEP_PATH"; ended keep $?; } |
{ "\${LAZARUS_ARCHIVE_IN[@]}" "$LAZARUS_PG_RESTORE" "\${LAZARUS_CONVERT[@]}" | dd bs=1M 2> "$LAZARUS_BYTES_FILE"; ended convert \${PIPESTATUS[0]}; } |`
}

/**
 * pg_dump alone, writing a directory-format backup: in parallel (--jobs), every worker in the one
 * exported snapshot. A directory archive is whole only when pg_dump ends (toc.dat is written
 * last), so nothing can restore it before: the run restores it afterwards, in sections and in
 * parallel (directory-stream.ts).
 */
const DIRECTORY_DUMP = `if [ -n "$pw_production" ]; then export PGPASSWORD="$pw_production"; fi
"$LAZARUS_PG_DUMP" "$@"; ended dump $?
`

const STREAM_SCRIPT_TAIL = `
{ "\${LAZARUS_FILTER[@]}" ; ended sanitize $?; } |
{ gate_open || exit 1
  if [ -n "$pw_cleanroom" ]; then export PGPASSWORD="$pw_cleanroom"; fi
  "\${LAZARUS_PSQL_BUFFERS[@]}" "$LAZARUS_PSQL" -X -q -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -o /dev/null -f "$LAZARUS_CHECK_FILE" -f - \\
    --dbname="$LAZARUS_RESTORE_CONNINFO"; ended restore $?; }
`

/** Where a run keeps the backup it verifies (a restore point), and how. */
export interface KeepBackup {
  format: KeptFormat
  /** The file (plain, custom) or directory (directory format, which must not exist yet) pg_dump writes. */
  path: string
  /** pg_dump's --compress value for the archive formats (e.g. `1`, gzip level 1; `0` none). */
  compress: string
  /** pg_dump's parallel jobs for the directory format. */
  jobs: number
  /**
   * Whether it is kept after the run (input backup-dir) rather than only until it is uploaded
   * (upload-dump, in RUNNER_TEMP): a full disk's fix names the one to change.
   */
  persistent?: boolean
}

/**
 * pg_dump's arguments for a stream, without the connection string and the snapshot (so they can
 * go into a manifest): plain SQL without owners and privileges unless the clean room takes them;
 * an archive (custom, directory) always whole, since pg_restore leaves out what the clean room
 * cannot take and the kept restore point should hold everything.
 */
export function dumpArguments(
  keep: KeepBackup | undefined,
  withOwnersAndPrivileges: boolean,
  lockTimeoutSeconds = DEFAULT_FAULT_LIMITS.lockTimeoutSeconds
): string[] {
  const strip = withOwnersAndPrivileges ? [] : ['--no-owner', '--no-privileges']
  const common = [`--lock-wait-timeout=${lockTimeoutSeconds}s`]
  switch (keep?.format) {
    case undefined:
    case 'plain':
      return ['--format=plain', ...strip, ...common]
    case 'custom':
      return ['--format=custom', `--compress=${keep.compress}`, ...common]
    case 'directory':
      return ['--format=directory', `--compress=${keep.compress}`, `--jobs=${keep.jobs}`, ...common]
  }
}

/** pg_restore's arguments that turn a kept custom archive, read from stdin, back into the SQL the clean room restores. */
function convertArguments(withOwnersAndPrivileges: boolean): string[] {
  return ['--file=-', ...(withOwnersAndPrivileges ? [] : ['--no-owner', '--no-privileges'])]
}

/** pg_dump's whole argv after the script: its options, where a directory goes, the snapshot and production. */
function dumpCommandArguments(
  keep: KeepBackup | undefined,
  production: ConnectionTarget,
  options: Pick<StreamOptions, 'withOwnersAndPrivileges' | 'snapshot' | 'productionTakesOptions'>,
  limits: FaultLimits
): string[] {
  return [
    ...dumpArguments(keep, options.withOwnersAndPrivileges ?? false, limits.lockTimeoutSeconds),
    ...(keep?.format === 'directory' ? [`--file=${keep.path}`] : []),
    `--snapshot=${options.snapshot}`,
    `--dbname=${conninfo(withTcpSafeguards(production, limits), options.productionTakesOptions ? READ_ONLY_OPTION : undefined)}`
  ]
}

/** Why pg_dump failed, when it is production's or the runner's fault rather than the backup's (see StreamOutcome). */
async function dumpEnvironmentError(
  stderr: string,
  production: ConnectionTarget,
  limits: FaultLimits,
  options: Pick<StreamOptions, 'exclusiveLocks'>
): Promise<UserError | undefined> {
  return productionDumpError(
    stderr,
    production,
    limits,
    dumpLockTimedOut(stderr) ? await options.exclusiveLocks?.().catch(() => []) : undefined
  )
}

/**
 * Dumps production (plain SQL, from the snapshot), sanitizes and restores it in one stream:
 * the restore takes about as long as the slower of dump and restore, not their sum. A
 * directory-format backup is not streamed (dumpDirectory).
 */
export async function streamDumpIntoRestore(
  tools: ClientTools,
  production: ConnectionTarget,
  restoreTarget: ConnectionTarget,
  options: StreamOptions
): Promise<StreamOutcome> {
  const limits = options.limits ?? DEFAULT_FAULT_LIMITS
  const keep = options.keep
  if (keep?.format === 'directory') throw new Error('a directory-format backup is dumped by dumpDirectory, then restored')
  const withOwners = options.withOwnersAndPrivileges ?? false
  if (keep && keep.format !== 'plain') requirePgRestore(tools, `backup-format '${keep.format}'`)
  const dumpArgs = dumpCommandArguments(keep, production, options, limits)
  const env = clientEnv(
    { ...production, password: undefined },
    {
      LAZARUS_PG_DUMP: tools.pgDump.path,
      LAZARUS_PSQL: tools.psql.path,
      LAZARUS_PG_RESTORE: tools.pgRestore?.path ?? '',
      LAZARUS_KEEP_PATH: keep?.path ?? '',
      LAZARUS_RESTORE_CONNINFO: conninfo(withTcpSafeguards(restoreTarget, limits)),
      LAZARUS_CHECK_FILE: options.checkFile,
      LAZARUS_STATUS_FILE: options.statusFile,
      LAZARUS_BYTES_FILE: options.bytesFile,
      LAZARUS_GATE_FILE: options.gateFile,
      LAZARUS_PRODUCTION_PASSWORD: production.password ?? '',
      LAZARUS_CLEANROOM_PASSWORD: restoreTarget.password ?? ''
    }
  )
  // bash cannot take an array from the environment: the filter's and pg_restore's argv become declared arrays.
  const arrays = [
    `LAZARUS_FILTER=(${options.filter.map(shellQuote).join(' ')})`,
    `LAZARUS_CONVERT=(${(keep ? convertArguments(withOwners) : []).map(shellQuote).join(' ')})`,
    // psql reads the stream in large pieces (stdbuf.ts); so do pg_dump and pg_restore move a custom archive.
    `LAZARUS_PSQL_BUFFERS=(${streamBuffers({ input: true, output: false }).map(shellQuote).join(' ')})`,
    `LAZARUS_ARCHIVE_OUT=(${streamBuffers({ input: false, output: true }).map(shellQuote).join(' ')})`,
    `LAZARUS_ARCHIVE_IN=(${streamBuffers({ input: true, output: false }).map(shellQuote).join(' ')})`
  ]
  const script = [...arrays, STREAM_SCRIPT_HEAD, STREAM_SOURCES[keep?.format ?? 'stream'], STREAM_SCRIPT_TAIL].join('\n')
  writeWorkFile(options.scriptFile, script, "the stream's script")
  writeWorkFile(options.statusFile, '', "the stream's status file")
  fs.rmSync(options.gateFile, { force: true })
  // Written whole, then renamed into place: the script never reads half a word.
  const openGate = (word: 'go' | 'stop') => {
    try {
      writeWorkFile(`${options.gateFile}.new`, word, "the stream's gate file")
      fs.renameSync(`${options.gateFile}.new`, options.gateFile)
    } catch {
      // psql then never starts: the pipeline ends with the action (its gate watches the parent).
    }
  }
  let restoreStartedAt: number | undefined
  const gate = options.restoreTargetReady.then(
    () => {
      restoreStartedAt = Date.now() / 1000
      openGate('go')
    },
    () => openGate('stop')
  )
  const startedAt = Date.now() / 1000
  const watching = watchDumpEnd(options)
  const { stderr } = await runClient('bash', [options.scriptFile, ...dumpArgs], env).finally(watching.stop)
  await gate
  // The stream cannot have restored anything without its target: that failure is the one to report.
  await options.restoreTargetReady
  const stages = readStreamStatus(options.statusFile, startedAt)
  const outcome = judgeStream(stages, stderr, streamStages(keep))
  if (!outcome.ok) {
    if (outcome.stage === 'restore') {
      const misplaced = locationCheckError(stderr, options.checkFile)
      if (misplaced) throw misplaced
    }
    const small = (what: string): WorkFile => ({ what, dumpSized: false })
    const workFiles = {
      ...options.workFiles,
      [options.bytesFile]: small("the dump's byte count"),
      // The script itself writes only its status file (bash names the script in its error).
      [options.scriptFile]: small("the stream's status file")
    }
    outcome.environmentError =
      streamDiskFullError(stderr, workFiles) ??
      (outcome.stage === 'restore'
        ? cleanroomRestoreError(outcome.restore?.exitCode, stderr, restoreTarget)
        : outcome.stage === 'dump'
          ? await dumpEnvironmentError(stderr, production, limits, options)
          : undefined)
  }
  return { ...outcome, dumpBytes: readDumpBytes(options.bytesFile), startedAt, restoreStartedAt }
}

/** What dumpDirectory needs: the stream's options that concern pg_dump, and the directory to write. */
export type DirectoryDumpOptions = Pick<
  StreamOptions,
  | 'snapshot'
  | 'statusFile'
  | 'scriptFile'
  | 'onDumpEnded'
  | 'withOwnersAndPrivileges'
  | 'productionTakesOptions'
  | 'limits'
  | 'exclusiveLocks'
> & { keep: KeepBackup & { format: 'directory' } }

/** How pg_dump writing a directory-format backup ended. */
export type DirectoryDumpOutcome = { startedAt: number } & (
  { ok: true; dump: StreamStage } | { ok: false; stage: 'dump'; error: string; dump?: StreamStage; environmentError?: UserError }
)

/**
 * Dumps production into a directory-format backup (pg_dump --format=directory --jobs, every
 * worker importing the one exported snapshot), with the password reaching pg_dump alone as in
 * the stream. The run restores the directory once it is whole (directory-stream.ts).
 */
export async function dumpDirectory(
  tools: ClientTools,
  production: ConnectionTarget,
  options: DirectoryDumpOptions
): Promise<DirectoryDumpOutcome> {
  const limits = options.limits ?? DEFAULT_FAULT_LIMITS
  requirePgRestore(tools, "backup-format 'directory'")
  const dumpArgs = dumpCommandArguments(options.keep, production, options, limits)
  const env = clientEnv(
    { ...production, password: undefined },
    {
      LAZARUS_PG_DUMP: tools.pgDump.path,
      LAZARUS_STATUS_FILE: options.statusFile,
      // Read by the script's head, which the stream shares; nothing here waits at a gate.
      LAZARUS_GATE_FILE: '',
      LAZARUS_PRODUCTION_PASSWORD: production.password ?? ''
    }
  )
  writeWorkFile(options.scriptFile, [STREAM_SCRIPT_HEAD, DIRECTORY_DUMP].join('\n'), "the dump's script")
  writeWorkFile(options.statusFile, '', "the dump's status file")
  const startedAt = Date.now() / 1000
  const watching = watchDumpEnd(options)
  const { stderr } = await runClient('bash', [options.scriptFile, ...dumpArgs], env).finally(watching.stop)
  const stages = readStreamStatus(options.statusFile, startedAt)
  const dump = stages.dump
  if (dump?.exitCode === 0) return { ok: true, dump, startedAt }
  return {
    ok: false,
    stage: 'dump',
    error: programFailure('pg_dump failed', stderr, /^pg_dump/),
    ...(dump ? { dump } : {}),
    environmentError: await dumpEnvironmentError(stderr, production, limits, options),
    startedAt
  }
}

/**
 * Polls the status file for pg_dump's end, to tell options.onDumpEnded; stop() (the pipeline is
 * over) tells it at the latest, as failed if pg_dump never recorded its end.
 */
function watchDumpEnd(options: Pick<StreamOptions, 'statusFile' | 'onDumpEnded'>): { stop: () => void } {
  const onDumpEnded = options.onDumpEnded
  if (!onDumpEnded) return { stop: () => undefined }
  let told = false
  const tell = (pipelineOver: boolean) => {
    if (told) return
    const dump = readStreamStatus(options.statusFile, 0).dump
    if (!dump && !pipelineOver) return
    told = true
    clearInterval(timer)
    onDumpEnded(dump?.exitCode === 0)
  }
  const timer = setInterval(() => tell(false), DUMP_END_POLL_MS)
  timer.unref()
  return { stop: () => tell(true) }
}

/** dd ends with "N bytes (...) copied"; undefined when it never got there. */
function readDumpBytes(bytesFile: string): number | undefined {
  const match = /^(\d+) bytes/m.exec(fs.existsSync(bytesFile) ? fs.readFileSync(bytesFile, 'utf8') : '')
  return match ? Number(match[1]) : undefined
}

export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`
}

/** The programs of a stream that record their end: tee keeps the backup, pg_restore converts a custom archive. */
export function streamStages(keep?: Pick<KeepBackup, 'format'>): StreamStageName[] {
  const keeping: StreamStageName[] = !keep ? [] : keep.format === 'plain' ? ['keep'] : ['keep', 'convert']
  return ['dump', ...keeping, 'sanitize', 'restore']
}

function readStreamStatus(statusFile: string, startedAt: number): Partial<Record<StreamStageName, StreamStage>> {
  const stages: Partial<Record<StreamStageName, StreamStage>> = {}
  // Gone when the run already ended (a stopped run removes its work files while the stream winds down).
  const text = fs.existsSync(statusFile) ? fs.readFileSync(statusFile, 'utf8') : ''
  for (const line of text.split('\n')) {
    const [name, code, time] = line.split(' ')
    if ((STREAM_STAGE_NAMES as readonly string[]).includes(name)) {
      stages[name as StreamStageName] = { exitCode: Number(code), seconds: Math.max(0, Number(time) - startedAt) }
    }
  }
  return stages
}

/**
 * The program that failed first decides the verdict, by the end times they recorded: psql failing
 * first is a backup that does not restore (pg_dump and sed then die of the broken pipe); pg_dump
 * or sed failing first is an error, whatever psql made of the partial stream it was fed. A program
 * that never recorded its end (killed) failed last.
 */
export function judgeStream(
  stages: Partial<Record<StreamStageName, StreamStage>>,
  stderr: string,
  expected: StreamStageName[] = ['dump', 'sanitize', 'restore']
): StreamOutcome {
  const recorded = Object.fromEntries(expected.filter(name => stages[name]).map(name => [name, stages[name]]))
  if (expected.every(name => stages[name]?.exitCode === 0)) {
    return { ok: true, ...recorded } as StreamOutcome
  }
  const failures = expected
    .filter(name => stages[name]?.exitCode !== 0)
    .sort((a, b) => (stages[a]?.seconds ?? Infinity) - (stages[b]?.seconds ?? Infinity))
  const first = failures[0]
  const error = {
    dump: () => programFailure('pg_dump failed', stderr, /^pg_dump/),
    keep: () => programFailure('Writing the kept backup failed', stderr, /^tee/),
    convert: () => programFailure('pg_restore failed reading the archive', stderr, /^pg_restore/),
    sanitize: () => programFailure('sed failed', stderr, /^sed/),
    restore: () => psqlFailure(stderr)
  }[first]()
  return { ok: false, stage: first, error, ...recorded } as StreamOutcome
}

/**
 * The disk-full error of the streamed pipeline, whichever of its writers hit it (sed's copy of the
 * dump or its removed lines, dd's byte count, the status file): `files` names what each file is.
 */
export function streamDiskFullError(stderr: string, files: Record<string, WorkFile>): UserError | undefined {
  // A server's own full disk ("ERROR:  could not extend file ...") is the server's, not the runner's.
  const line = stderr.split('\n').find(text => /No space left on device/i.test(text) && !/\b(ERROR|FATAL|PANIC):/.test(text))
  if (!line) return undefined
  const program = /^(?:\S*\/)?(sed|dd|tee|grep|pg_dump|pg_restore|psql)\b/.exec(line)?.[1] ?? 'the stream'
  const known = Object.entries(files).find(([file]) => line.includes(file))
  if (known) return diskFullError(line, program, known[1].what, known[0], workDirFix(known[1].dumpSized))
  const anyFile = Object.keys(files)[0]
  return anyFile ? diskFullError(line, program, 'a work file', anyFile, workDirFix(false)) : undefined
}

/** "; 12.0 KiB free of 1.0 MiB" for a message, or nothing when the filesystem cannot be asked. */
export type RestoreOutcome = { ok: true } | { ok: false; error: string }

/**
 * psql as every restore runs it: stop at the first error (a backup that needs a statement skipped
 * is a backup that does not restore), each statement in its own transaction. Not
 * --single-transaction: one transaction holds a lock on every table and index it creates until
 * the end, and a schema of many thousand tables runs past the clean room's lock table ("out of
 * shared memory", max_locks_per_transaction) while a plain `pg_dump | psql` restores it. All or
 * nothing buys nothing here: a failed restore's scratch database is dropped anyway.
 */
export const RESTORE_PSQL_OPTIONS = ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-v', 'VERBOSITY=verbose', '-o', '/dev/null'] as const

/**
 * Restores a plain dump with psql (RESTORE_PSQL_OPTIONS). `checkFile` runs first and stops psql
 * unless it is where Lazarus checked. A failure that is not the backup's (see
 * cleanroomRestoreError) is thrown, not returned.
 */
export async function restoreDump(
  tools: Pick<ClientTools, 'psql'>,
  target: ConnectionTarget,
  file: string,
  checkFile: string,
  limits: FaultLimits = DEFAULT_FAULT_LIMITS
): Promise<RestoreOutcome> {
  const args = [...RESTORE_PSQL_OPTIONS, '-f', checkFile, '-f', file, `--dbname=${conninfo(withTcpSafeguards(target, limits))}`]
  const { exitCode, stderr } = await runClient(tools.psql.path, args, clientEnv(target))
  if (exitCode === 0) return { ok: true }
  const misplaced = locationCheckError(stderr, checkFile)
  if (misplaced) throw misplaced
  const environment = cleanroomRestoreError(exitCode, stderr, target)
  if (environment) throw environment
  return { ok: false, error: lastLines(withoutVerboseDetail(stderr)) || `psql exited with code ${exitCode}` }
}

/**
 * Why a failed restore is not the backup's failure, or undefined when it is. Only a statement of
 * the dump that failed under ON_ERROR_STOP (psql's exit code 3) can be the backup's, and then only
 * when the error is not one of the clean room's own (a full disk, a missing extension's files, a
 * shutdown, a role without a privilege): "the backup does not restore" describes only the backup.
 */
export function cleanroomRestoreError(
  exitCode: number | undefined,
  stderr: string,
  target: ConnectionTarget
): UserError | undefined {
  const where = `the clean room (${describe(target)}, '${target.inputName}')`
  const psqlLines = stderr
    .split('\n')
    .filter(line => /^psql/.test(line))
    .join('\n')
  const said = lastLines(withoutVerboseDetail(psqlLines || stderr)) || 'no error output'
  if (exitCode === PSQL_SCRIPT_ERROR) {
    const failed = psqlLines
      .split('\n')
      .map(parseVerboseError)
      .filter(error => error !== undefined)
      .pop()
    if (!failed || !blamesCleanroom(failed.code)) return undefined
    return new UserError(
      `The restore stopped on an error of ${where}, not of the backup: ${said} (SQLSTATE ${failed.code}). ` +
        `To verify the backup, ${cleanroomHint(failed.code, failed.message)}.`
    )
  }
  if (exitCode === PSQL_CONNECTION_ERROR) {
    if (/connection to server .* failed|invalid (URI|connection option)|could not translate host name|missing "="/i.test(said)) {
      return new UserError(
        `psql could not connect to ${where}, so the backup was not tried: ${said}. Fix '${target.inputName}' or the clean-room server.`
      )
    }
    return new UserError(
      `psql lost its connection to ${where} during the restore, so the backup was not fully tried: ${said}. ` +
        `Check that the clean-room server stays up (its log says why the session ended).`
    )
  }
  // Killed (no exit code), a signal, or psql's own failure (exit 1): nothing the backup did.
  return new UserError(
    `psql failed on ${where} for a reason of its own (exit code ${exitCode ?? 'none: it was killed'}): ${said}.`
  )
}

/**
 * Why pg_dump failed, as a user error naming production and what to change, when the failure is
 * a connection or a lock; undefined otherwise (the generic "pg_dump failed" then stands).
 */
export function productionDumpError(
  stderr: string,
  production: ConnectionTarget,
  limits: FaultLimits,
  held: HeldLock[] = []
): UserError | undefined {
  const where = `production (${describe(production)}, '${production.inputName}')`
  const dumpLines = pgDumpLines(stderr)
  const said = lastLines(dumpLines || stderr) || 'no error output'
  const locked = dumpLockTimedOut(stderr)
  if (locked) {
    return new UserError(
      `pg_dump waited ${limits.lockTimeoutSeconds} s for a lock on ${lockedTables(locked, held)} on ${where}: another session holds ` +
        `a lock that blocks reading it (an ACCESS EXCLUSIVE lock: ALTER TABLE, TRUNCATE, VACUUM FULL, LOCK TABLE). ` +
        `Run Lazarus when no such lock is held, or raise 'lock-timeout-seconds' to wait longer.`
    )
  }
  if (
    /error: connection to server .* failed|error: invalid (URI|connection option)|could not translate host name|missing "="/i.test(
      dumpLines
    )
  ) {
    return new UserError(`pg_dump could not connect to ${where}: ${said}. Fix '${production.inputName}' or the server.`)
  }
  if (
    /server closed the connection unexpectedly|terminating connection|connection to server was lost|SSL SYSCALL error/i.test(
      dumpLines
    )
  ) {
    return new UserError(
      `pg_dump lost its connection to ${where} during the dump: ${said}. Check that production stays up and reachable.`
    )
  }
  return undefined
}

function pgDumpLines(stderr: string): string {
  return stderr
    .split('\n')
    .filter(line => /^pg_dump/.test(line))
    .join('\n')
}

/**
 * The tables of the LOCK TABLE statement pg_dump gave up on (its --lock-wait-timeout), as it
 * wrote them (schema.name, quoted where needed), or undefined when pg_dump did not fail so. A
 * long batch may have lost its start to the stderr tail kept: the names that are left count.
 */
export function dumpLockTimedOut(stderr: string): string[] | undefined {
  if (!/canceling statement due to (statement|lock) timeout/.test(pgDumpLines(stderr))) return undefined
  const line = /^.* IN ACCESS SHARE MODE/m.exec(stderr)?.[0]
  if (line === undefined) return undefined
  const list = line.replace(/^.*?LOCK TABLE /, '').replace(/ IN ACCESS SHARE MODE$/, '')
  const identifier = '(?:"(?:[^"]|"")*"|[^\\s,."]+)'
  return [...list.matchAll(new RegExp(`${identifier}\\.${identifier}`, 'g'))].map(match => match[0])
}

/**
 * "table public.orders": the tables of pg_dump's LOCK TABLE that another session holds
 * exclusively (`held`), or, when that cannot be told, the statement's tables (the first few of
 * a batch).
 */
function lockedTables(tables: string[], held: HeldLock[]): string {
  const blocking = held.filter(lock => tables.includes(lock.name))
  if (blocking.length > 0) return blocking.map(lock => `${lock.kind} ${lock.name}`).join(', ')
  return tables.length === 1
    ? `table ${tables[0]}`
    : `one of the tables ${tables.slice(0, 5).join(', ')}${tables.length > 5 ? ', ...' : ''}`
}

/**
 * What one program of a stream said: the last lines of stderr that it wrote (each starts with its
 * name), else stderr's last lines. Shared by the fresh stream and the stored backup's (pg-restore.ts).
 */
export function programLines(stderr: string, program: RegExp): string {
  return (
    lastLines(
      stderr
        .split('\n')
        .filter(line => program.test(line))
        .join('\n')
    ) || lastLines(stderr)
  )
}

/** "<what>: <what the program said>", or "no error output" when it said nothing. */
export function programFailure(what: string, stderr: string, program: RegExp): string {
  return `${what}: ${programLines(stderr, program) || 'no error output'}`
}

/** psql's own message, as a person reads it (psql runs verbose: RESTORE_PSQL_OPTIONS). */
export function psqlFailure(stderr: string): string {
  return withoutVerboseDetail(programLines(stderr, /^psql/)) || 'psql failed'
}

export function lastLines(text: string, count = 5): string {
  return text.split('\n').filter(Boolean).slice(-count).join(' | ')
}
