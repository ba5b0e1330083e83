import * as fs from 'node:fs'
import * as path from 'node:path'
import * as exec from '@actions/exec'
import * as io from '@actions/io'
import type { StoredBackup } from './backup-format.js'
import { conninfo, type ConnectionTarget } from './connection.js'
import { UserError } from '../../util/errors.js'
import { isExecutable } from '../../util/executables.js'
import {
  DEFAULT_FAULT_LIMITS,
  RESTORE_PSQL_OPTIONS,
  cleanroomRestoreError,
  clientEnv,
  debianClientDirs,
  locationCheckError,
  programFailure,
  programLines,
  psqlFailure,
  runClient,
  shellQuote,
  toolVersion,
  withTcpSafeguards,
  type ClientTool,
  type FaultLimits
} from './pg-tools.js'
import { TOC_COMMENT_PATTERN } from './restore-failure.js'
import { streamBuffers } from './stdbuf.js'

/**
 * Restoring a stored backup: pg_restore (for archives) or the file itself (plain SQL, gzip or
 * not) is the source of the same SQL stream a fresh run restores, through the same sanitizing
 * sed into psql with ON_ERROR_STOP and the location check (pg-tools.ts). pg_restore never
 * connects anywhere: it only turns the archive into SQL (-f -), so that every statement passes
 * the sanitizer and psql's guards, whatever the format.
 */

export interface RestoreTools {
  /** Undefined when only psql is needed (plain backups) and no pg_restore was found. */
  pgRestore?: ClientTool
  psql: ClientTool
}

/**
 * pg_restore reads archives of its own version and older, so the newest installed client is the
 * one that reads the most; `binDir` (postgres-bin-dir) is used exclusively when set.
 */
export async function resolveRestoreTools(format: StoredBackup['format'], binDir?: string): Promise<RestoreTools> {
  const needsPgRestore = format !== 'plain'
  const dirs = binDir ? [binDir] : [...debianClientDirs().reverse()]
  if (!binDir) {
    const onPath = await io.which('psql', false)
    if (onPath) dirs.push(path.dirname(onPath))
  }
  for (const dir of dirs) {
    const psqlPath = path.join(dir, 'psql')
    const pgRestorePath = path.join(dir, 'pg_restore')
    if (!isExecutable(psqlPath)) continue
    if (needsPgRestore && !isExecutable(pgRestorePath)) continue
    return {
      psql: await toolVersion(psqlPath),
      ...(isExecutable(pgRestorePath) ? { pgRestore: await toolVersion(pgRestorePath) } : {})
    }
  }
  const programs = needsPgRestore ? 'pg_restore and psql' : 'psql'
  throw new UserError(
    binDir
      ? `Input 'postgres-bin-dir' is '${binDir}', which has no executable ${programs}: point it at the bin directory of a PostgreSQL client, or leave it empty.`
      : `No PostgreSQL client with ${programs} is installed: install postgresql-client (the newest reads the most archive versions), or set postgres-bin-dir.`
  )
}

/** What pg_restore -l says about an archive. */
export interface ArchiveToc {
  /** The header's fields: Format, Dump Version, Dumped from database version, Dumped by pg_dump version, dbname, Compression... */
  header: Record<string, string>
  /** How many entries it has in all. */
  entries: number
  /** Its entries as pg_restore -l lists them, by section (pg_restore's own --section split). */
  preData: string[]
  data: string[]
  postData: string[]
}

/**
 * Reads an archive's table of contents, once per section. An archive pg_restore cannot read
 * (truncated, damaged, written by a newer pg_dump) stops the run here with pg_restore's words.
 */
export async function readArchiveToc(tools: RestoreTools, backup: StoredBackup): Promise<ArchiveToc> {
  const pgRestore = tools.pgRestore
  if (!pgRestore) throw new Error('pg_restore is needed to read an archive')
  const list = async (section?: string) => {
    const sections = section ? [`--section=${section}`] : []
    const { exitCode, stdout, stderr } = await exec.getExecOutput(pgRestore.path, ['-l', ...sections, backup.path], {
      silent: true,
      ignoreReturnCode: true,
      env: clientEnv({ password: undefined } as unknown as ConnectionTarget)
    })
    if (exitCode !== 0) throw unreadableArchive(backup, stderr, pgRestore)
    return parseTocListing(stdout)
  }
  const all = await list()
  const pre = await list('pre-data')
  const data = await list('data')
  const post = await list('post-data')
  return { header: all.header, entries: all.entries.length, preData: pre.entries, data: data.entries, postData: post.entries }
}

/** The error for an archive pg_restore refused, naming the file and pg_restore's reason. */
export function unreadableArchive(backup: StoredBackup, stderr: string, pgRestore: ClientTool): UserError {
  const newer = /unsupported version \((\d+)\.(\d+)\) in file header/.exec(stderr)
  if (newer) return newerArchive(backup, `${newer[1]}.${newer[2]}`, pgRestore)
  const reason = programLines(stderr, /^pg_restore/) || 'no error output'
  return new UserError(`The backup '${backup.path}' (${backup.format} archive) cannot be read: ${reason}.`)
}

/**
 * The archive versions (pg_backup_archiver.h K_VERS_1_x) and the PostgreSQL major whose pg_dump
 * first writes each; pg_restore reads its own major's version and older ones. 1.13 changed the
 * search_path handling (11, and minor releases of 9.3 to 10), 1.14 added table access methods
 * (12), 1.15 the compression algorithm in the header (16), 1.16 large-object metadata entries and
 * relkind (17; 18 writes 1.16 too).
 */
const ARCHIVE_VERSIONS: { version: string; since: number }[] = [
  { version: '1.13', since: 11 },
  { version: '1.14', since: 12 },
  { version: '1.15', since: 16 },
  { version: '1.16', since: 17 }
]

/** The PostgreSQL major whose pg_restore first reads an archive version, or undefined when this Lazarus knows none. Pure. */
export function clientMajorReading(version: string): number | undefined {
  return ARCHIVE_VERSIONS.find(known => known.version === version)?.since
}

/** The newest archive version a pg_restore of `major` reads. Pure. */
export function newestArchiveVersionRead(major: number): string | undefined {
  return ARCHIVE_VERSIONS.filter(known => known.since <= major).at(-1)?.version
}

/**
 * An archive written by a newer pg_dump than the installed pg_restore reads: one line naming the
 * file, its archive version, the client major that reads it and how to point Lazarus at one. Pure.
 */
export function newerArchive(backup: Pick<StoredBackup, 'path' | 'format'>, version: string, pgRestore: ClientTool): UserError {
  const needed = clientMajorReading(version)
  const newest = ARCHIVE_VERSIONS.at(-1)!
  const reads = newestArchiveVersionRead(pgRestore.major)
  const writtenBy =
    needed !== undefined
      ? `written by pg_dump ${needed} or newer`
      : `written by a pg_dump newer than this Lazarus knows (PostgreSQL ${newest.since} and later write ${newest.version})`
  const install =
    needed !== undefined
      ? `install the PostgreSQL ${needed} client or newer (postgresql-client-${needed}) and point postgres-bin-dir at its bin directory ` +
        `(/usr/lib/postgresql/${needed}/bin on Debian and Ubuntu)`
      : `install the newest PostgreSQL client and point postgres-bin-dir at its bin directory`
  return new UserError(
    `The backup '${backup.path}' (${backup.format} archive) has archive version ${version}, ${writtenBy}; ` +
      `pg_restore ${pgRestore.version} (${pgRestore.path}) reads archive versions up to ${reads ?? 'its own'}, so it cannot read it: ${install}.`
  )
}

/** Splits pg_restore -l output into its header fields (`;     Key: value`) and entry lines. Pure. */
export function parseTocListing(listing: string): { header: Record<string, string>; entries: string[] } {
  const header: Record<string, string> = {}
  const entries: string[] = []
  for (const line of listing.split('\n')) {
    if (line.startsWith(';')) {
      const field = /^;\s+([A-Za-z][A-Za-z ]*?):\s*(.*)$/.exec(line)
      if (field && !(field[1] in header)) header[field[1]] = field[2].trim()
      continue
    }
    if (line.trim()) entries.push(line)
  }
  return { header, entries }
}

/**
 * Splits the data entries over `jobs` lists for parallel pipelines, largest first onto the list
 * that has least so far (sizes where known: a directory archive's data files; otherwise in order,
 * round robin). Pure.
 */
export function splitDataEntries(entries: string[], jobs: number, sizeOf: (entry: string) => number | undefined): string[][] {
  const lists: { entries: string[]; bytes: number }[] = Array.from({ length: Math.max(1, jobs) }, () => ({
    entries: [],
    bytes: 0
  }))
  const sized = entries.map((entry, index) => ({ entry, index, bytes: sizeOf(entry) }))
  const known = sized.every(item => item.bytes !== undefined)
  const order = known ? [...sized].sort((a, b) => b.bytes! - a.bytes! || a.index - b.index) : sized
  order.forEach((item, position) => {
    const list = known
      ? lists.reduce((least, candidate) => (candidate.bytes < least.bytes ? candidate : least))
      : lists[position % lists.length]
    list.entries.push(item.entry)
    list.bytes += item.bytes ?? 0
  })
  // Within a list, the archive's order: pg_restore reads a custom archive front to back.
  const rank = new Map(entries.map((entry, index) => [entry, index]))
  return lists.map(list => list.entries.sort((a, b) => rank.get(a)! - rank.get(b)!)).filter(list => list.length > 0)
}

/** A directory archive's data file for a TOC entry line (`<dumpId>; ...`): <dumpId>.dat, compressed or not. */
export function directoryDataBytes(dir: string, entry: string): number | undefined {
  const id = /^(\d+);/.exec(entry)?.[1]
  if (id === undefined) return undefined
  for (const name of [`${id}.dat`, `${id}.dat.gz`, `${id}.dat.lz4`, `${id}.dat.zst`]) {
    try {
      return fs.statSync(path.join(dir, name)).size
    } catch {
      // not this one
    }
  }
  return 0
}

type StageName = 'read' | 'sanitize' | 'restore'

interface Stage {
  exitCode: number
  at: number
}

/** How one pipeline (source | sed | psql) ended. */
export type PipelineOutcome =
  | { ok: true }
  | {
      ok: false
      stage: StageName
      error: string
      /** grep -n of the TOC comments psql saw, to name where a failed restore stopped. */
      tocFile: string
    }

export interface PipelineFiles {
  statusFile: string
  tocFile: string
  scriptFile: string
  /** Where pg_restore -L reads its list, for archives. */
  listFile: string
}

/**
 * One pipeline: the source (cat, gzip -dc, or pg_restore -f - with an optional list), the
 * sanitizing sed, and psql with RESTORE_PSQL_OPTIONS after the location check. The cleanroom's
 * password reaches psql alone, as in the fresh run's stream (pg-tools.ts); the source needs none.
 */
const PIPELINE_SCRIPT = `
pw_cleanroom=\${LAZARUS_CLEANROOM_PASSWORD-}
unset LAZARUS_CLEANROOM_PASSWORD PGPASSWORD
ended() { echo "$1 $2 $(date +%s.%N)" >> "$LAZARUS_STATUS_FILE"; }
toc() {
  LC_ALL=C grep -n -E "$LAZARUS_TOC_PATTERN" > "$LAZARUS_TOC_FILE"
  [ $? -le 1 ] && return
  rm -f "$LAZARUS_TOC_FILE"; cat > /dev/null
}
{ "\${LAZARUS_SOURCE[@]}"; ended read $?; } |
{ "\${LAZARUS_FILTER[@]}"; ended sanitize $?; } |
{ tee >(toc); wait $!; } |
{ if [ -n "$pw_cleanroom" ]; then export PGPASSWORD="$pw_cleanroom"; fi
  "\${LAZARUS_PSQL_BUFFERS[@]}" "$LAZARUS_PSQL" "\${LAZARUS_PSQL_OPTIONS[@]}" -f "$LAZARUS_CHECK_FILE" -f - --dbname="$LAZARUS_RESTORE_CONNINFO"; ended restore $?; }
`

export interface PipelineSpec {
  backup: StoredBackup
  tools: RestoreTools
  target: ConnectionTarget
  filter: string[]
  checkFile: string
  files: PipelineFiles
  /** For archives: the entries to restore (pg_restore -L), or all of them when undefined. */
  entries?: string[]
  /** Keep pg_dump's ALTER ... OWNER TO and GRANT/REVOKE (archives only: a plain dump holds what it holds). */
  withOwnersAndPrivileges: boolean
  /** TCP keepalives and tcp_user_timeout for psql, from server-timeout-seconds, as in the fresh run's restore. */
  limits?: FaultLimits
}

/** The source's argv: the command that writes the backup's SQL to stdout. */
export async function sourceCommand(spec: PipelineSpec): Promise<string[]> {
  const { backup } = spec
  if (backup.format === 'plain') {
    return backup.gzip
      ? [await io.which('gzip', true), '-dc', '--', backup.path]
      : [await io.which('cat', true), '--', backup.path]
  }
  if (!spec.tools.pgRestore) throw new Error('pg_restore is needed to read an archive')
  const list = spec.entries ? ['-L', spec.files.listFile] : []
  const owners = spec.withOwnersAndPrivileges ? [] : ['--no-owner', '--no-privileges']
  return [spec.tools.pgRestore.path, ...owners, ...list, '-f', '-', `--format=${backup.format}`, '--', backup.path]
}

/** Runs one pipeline to its end and judges it. */
export async function runPipeline(spec: PipelineSpec): Promise<PipelineOutcome> {
  const { files } = spec
  if (spec.entries) fs.writeFileSync(files.listFile, spec.entries.join('\n') + '\n', { mode: 0o600 })
  const source = await sourceCommand(spec)
  const arrays = [
    `LAZARUS_SOURCE=(${source.map(shellQuote).join(' ')})`,
    `LAZARUS_FILTER=(${spec.filter.map(shellQuote).join(' ')})`,
    `LAZARUS_PSQL_OPTIONS=(${RESTORE_PSQL_OPTIONS.map(shellQuote).join(' ')})`,
    // psql reads the stream in large pieces, as in the fresh run's (stdbuf.ts).
    `LAZARUS_PSQL_BUFFERS=(${streamBuffers({ input: true, output: false }).map(shellQuote).join(' ')})`
  ]
  fs.writeFileSync(files.scriptFile, `${arrays.join('\n')}\n${PIPELINE_SCRIPT}`, { mode: 0o600 })
  fs.writeFileSync(files.statusFile, '', { mode: 0o600 })
  const env = clientEnv(
    { ...spec.target, password: undefined },
    {
      LAZARUS_PSQL: spec.tools.psql.path,
      LAZARUS_RESTORE_CONNINFO: conninfo(withTcpSafeguards(spec.target, spec.limits ?? DEFAULT_FAULT_LIMITS)),
      LAZARUS_CHECK_FILE: spec.checkFile,
      LAZARUS_STATUS_FILE: files.statusFile,
      LAZARUS_TOC_FILE: files.tocFile,
      LAZARUS_TOC_PATTERN: TOC_COMMENT_PATTERN,
      LAZARUS_CLEANROOM_PASSWORD: spec.target.password ?? ''
    }
  )
  const { stderr } = await runClient('bash', [files.scriptFile], env)
  const stages = readStatus(files.statusFile)
  const outcome = judgePipeline(stages, stderr, spec.backup, files.tocFile)
  if (!outcome.ok && outcome.stage === 'restore') {
    const misplaced = locationCheckError(stderr, spec.checkFile)
    if (misplaced) throw misplaced
    // As in the fresh run: only a statement of the backup that failed is the backup's failure; a
    // lost connection, a killed psql or an error of the clean room's own is not.
    const environment = cleanroomRestoreError(stages.restore?.exitCode, stderr, spec.target)
    if (environment) throw environment
  }
  return outcome
}

function readStatus(statusFile: string): Partial<Record<StageName, Stage>> {
  const stages: Partial<Record<StageName, Stage>> = {}
  for (const line of fs.readFileSync(statusFile, 'utf8').split('\n')) {
    const [name, code, time] = line.split(' ')
    if (name === 'read' || name === 'sanitize' || name === 'restore') stages[name] = { exitCode: Number(code), at: Number(time) }
  }
  return stages
}

/** Exit code of a program killed by SIGPIPE: it lost its reader, which failed first. */
const SIGPIPE_EXIT = 141

/**
 * The program that failed first decides, by the times they recorded, as in the fresh run's
 * stream (judgeStream): the source failing first is a backup that cannot be read (an error
 * naming the file), psql failing first is a backup that does not restore. A source or sed that
 * died of a broken pipe only lost its reader. Pure.
 */
export function judgePipeline(
  stages: Partial<Record<StageName, Stage>>,
  stderr: string,
  backup: Pick<StoredBackup, 'path' | 'format' | 'gzip'>,
  tocFile: string
): PipelineOutcome {
  const failed = (name: StageName) => {
    const stage = stages[name]
    if (!stage) return true
    if (stage.exitCode === 0) return false
    return !(name !== 'restore' && stage.exitCode === SIGPIPE_EXIT)
  }
  const failures = (['read', 'sanitize', 'restore'] as const)
    .filter(failed)
    .sort((a, b) => (stages[a]?.at ?? Infinity) - (stages[b]?.at ?? Infinity))
  const first = failures[0]
  if (first === undefined) return { ok: true }
  const what =
    backup.format === 'plain' ? (backup.gzip ? 'gzip-compressed plain dump' : 'plain dump') : `${backup.format} archive`
  const error = {
    read: () => programFailure(`The backup '${backup.path}' (${what}) cannot be read`, stderr, /^(pg_restore|gzip|cat)/),
    sanitize: () => programFailure('sed failed', stderr, /^sed/),
    restore: () => psqlFailure(stderr)
  }[first]()
  return { ok: false, stage: first, error, tocFile }
}

/**
 * The SQL an archive starts with (its SET preamble), without any entry: pg_restore -L with an
 * empty list writes only that. Tells the sanitizer how pg_dump quoted strings.
 */
export async function archivePreamble(tools: RestoreTools, backup: StoredBackup, emptyListFile: string): Promise<string> {
  const pgRestore = tools.pgRestore
  if (!pgRestore) throw new Error('pg_restore is needed to read an archive')
  fs.writeFileSync(emptyListFile, '', { mode: 0o600 })
  const { exitCode, stdout, stderr } = await exec.getExecOutput(
    pgRestore.path,
    ['-L', emptyListFile, '-f', '-', `--format=${backup.format}`, '--', backup.path],
    { silent: true, ignoreReturnCode: true, env: clientEnv({ password: undefined } as unknown as ConnectionTarget) }
  )
  if (exitCode !== 0) throw unreadableArchive(backup, stderr, pgRestore)
  return stdout
}

/** Whether the dump's preamble sets standard_conforming_strings on (pg_dump's default since 9.1). Pure. */
export function standardConformingStringsOf(sql: string): boolean {
  const match = /^SET standard_conforming_strings = '?(on|off)'?;/m.exec(sql)
  return match ? match[1] === 'on' : true
}

/** The server major a dump was taken from, from its header (plain) or pg_restore -l's (archives). Pure. */
export function dumpedFromMajor(text: string): number | undefined {
  const match = /Dumped from database version:? (\S+)/.exec(text)
  return match ? majorOfVersion(match[1]) : undefined
}

/** "13.23" → 13, "9.6.24" → 9.6, as PostgreSQL numbers majors. Pure. */
export function majorOfVersion(version: string): number | undefined {
  const match = /^(\d+)(?:\.(\d+))?/.exec(version)
  if (!match) return undefined
  const major = Number(match[1])
  return major >= 10 ? major : Number(`${match[1]}.${match[2] ?? 0}`)
}

/**
 * Whether a plain dump carries owners, from its first TOC comment (`Owner: -` is pg_dump
 * --no-owner); undefined when the head holds no object. Archives always carry them. Pure.
 */
export function plainDumpHasOwners(head: string): boolean | undefined {
  const match = /^-- (?:Data for )?Name: .*; Owner: (.*)$/m.exec(head)
  return match ? match[1] !== '-' : undefined
}
