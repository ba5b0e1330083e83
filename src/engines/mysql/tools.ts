import * as fs from 'node:fs'
import * as path from 'node:path'
import * as exec from '@actions/exec'
import * as io from '@actions/io'
import { childProcessesEnded, isCancelling } from '../../util/cancellation.js'
import { untrustedOutput } from '../../util/command-guard.js'
import { numberedLinesUpTo } from '../../util/dump-lines.js'
import { lastLine, UserError } from '../../util/errors.js'
import { isExecutable } from '../../util/executables.js'
import { diskFullError } from '../../util/work-files.js'
import type {
  RestoreFileRequest as SeamRestoreFileRequest,
  EngineShapes,
  SanitizedConstruct,
  StageOutcome,
  StreamOutcome
} from '../types.js'
import { describeDumpObject, dumpObjectAt, mysqlErrorLine, parseObjectLine } from './restore-failure.js'
import {
  buildSedProgram,
  disabledEvents,
  STOP_EXIT_CODE,
  stopMessage,
  stoppedConstruct,
  summarizeRemovedLines
} from './sanitize-rules.js'
import { displayIdentifier } from './schema-queries.js'

/**
 * The only module that runs the MySQL/MariaDB client programs (mysqldump or mariadb-dump, mysql
 * or mariadb) and the sed that sanitizes between them. Passwords reach them through a 0600
 * option file (`--defaults-file`, the first option of each command line), never argv nor the
 * environment: @actions/exec echoes every command line to the log, and a process's environment
 * is readable wherever its command line is.
 *
 * `--defaults-file`, not `--defaults-extra-file`: with the extra file, the programs still read
 * /etc/mysql/my.cnf and then ~/.my.cnf, whose `[client]` host, user or options would override
 * Lazarus's (the user's file is read after the extra one). The login-path file (.mylogin.cnf,
 * read even then) is pointed at /dev/null through MYSQL_TEST_LOGIN_FILE.
 */

export type Flavour = 'mysql' | 'mariadb'

export interface MysqlClientTool {
  path: string
  flavour: Flavour
  /** The server release the program belongs to, as it reports it: "10.11.19", "8.0.36". */
  version: string
  major: number
  minor: number
  patch: number
}

export interface MysqlClientTools {
  /** mysqldump or mariadb-dump. */
  dump: MysqlClientTool
  /** mysql or mariadb. */
  client: MysqlClientTool
  /** The production server they were chosen for (the dump's options depend on its flavour). */
  production: ServerRelease
}

/** A server as the client programs need to know it: its flavour and release. */
export interface ServerRelease {
  flavour: Flavour
  /** e.g. "10.11.19" or "8.0.36" (VERSION() without its suffix). */
  version: string
}

/** A server's release from what it says of itself (engines/types.ts ServerFacts: product, version). */
export function releaseOf(facts: { product: string; version: string }): ServerRelease {
  return {
    flavour: /mariadb/i.test(facts.product) || /mariadb/i.test(facts.version) ? 'mariadb' : 'mysql',
    version: facts.version
  }
}

/**
 * What the programs need of a connection target (engine A's MysqlTarget is one): where, who, TLS.
 * The password goes only into the option file.
 */
export interface ClientTarget {
  inputName: string
  host: string
  port: number
  user: string
  password?: string
  database: string
  tls: { mode: 'disable' | 'preferred' | 'required' | 'verify-ca' | 'verify-identity'; ca?: string }
}

/** The programs' names, preferred first (MariaDB's own names; mysqldump and mysql may be either). */
const DUMP_NAMES = ['mariadb-dump', 'mysqldump']
const CLIENT_NAMES = ['mariadb', 'mysql']
/** Largest packet the programs accept: a dump's row, or a statement of the restore, may be this big. */
const MAX_ALLOWED_PACKET = '1073741824'
/** Lines of stderr kept for an error message; the full stream is already in the log. */
const STDERR_TAIL_BYTES = 4000
/** How often the stream's status and marker files are read: production's writers wait on the lock until the marker is seen. */
const POLL_MS = 20

/**
 * Reads `mariadb-dump --version` / `mysql --version` output:
 *   mariadb-dump  Ver 10.19 Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)
 *   mariadb-dump from 11.4.2-MariaDB, client 10.19 for debian-linux-gnu (x86_64)
 *   mysqldump  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)
 *   mysqldump  Ver 10.13 Distrib 5.7.44, for Linux (x86_64)
 */
export function parseClientVersion(output: string): Omit<MysqlClientTool, 'path'> | undefined {
  const mariadb = /(?:Distrib|from) (\d+)\.(\d+)\.(\d+)-MariaDB/.exec(output)
  const mysql = mariadb ? undefined : (/Distrib (\d+)\.(\d+)\.(\d+)/.exec(output) ?? /\bVer (\d+)\.(\d+)\.(\d+)/.exec(output))
  const match = mariadb ?? mysql
  if (!match) return undefined
  const [major, minor, patch] = [1, 2, 3].map(i => Number(match[i]))
  return { flavour: mariadb ? 'mariadb' : 'mysql', version: `${major}.${minor}.${patch}`, major, minor, patch }
}

/** "10.11.19-MariaDB-0+deb12u1" or "8.0.36" as a ServerRelease's version: the three numbers. */
export function releaseNumbers(version: string): [number, number, number] {
  const match = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(version)
  return match ? [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)] : [0, 0, 0]
}

function atLeast(a: [number, number, number], b: [number, number, number]): boolean {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] > b[i]
  return true
}

function serverName(server: ServerRelease): string {
  return `${server.flavour === 'mariadb' ? 'MariaDB' : 'MySQL'} ${server.version}`
}

function toolName(tool: MysqlClientTool): string {
  return `${path.basename(tool.path)} ${tool.version} (${tool.flavour === 'mariadb' ? 'MariaDB' : 'MySQL'})`
}

/**
 * Why `dump` cannot dump `server`, or undefined when it can. Pure.
 * - The same flavour: the dump program must be at least the server's major.minor (an older one
 *   does not know the newer server's objects and options).
 * - MySQL's mysqldump dumping MariaDB: it works given --column-statistics=0 (8.0+, which otherwise
 *   queries MySQL-only histograms) and --set-gtid-purged=OFF, which dumpArguments passes.
 * - MariaDB's mariadb-dump dumping MySQL: it takes a server's features from its version number as
 *   if it were MariaDB's, which holds for MySQL 5.7 to 9 (below MariaDB's 10.x) but not from the
 *   year-numbered MySQL releases on (26.x: it sends MariaDB-only statements such as
 *   `SHOW PACKAGE STATUS`, which fail).
 */
export function dumpIncompatibility(dump: MysqlClientTool, server: ServerRelease): string | undefined {
  const serverRelease = releaseNumbers(server.version)
  if (dump.flavour === server.flavour) {
    if (dump.major > serverRelease[0] || (dump.major === serverRelease[0] && dump.minor >= serverRelease[1])) return undefined
    return `${toolName(dump)} is older than production (${serverName(server)}) and may not know its objects`
  }
  if (dump.flavour === 'mariadb' && serverRelease[0] >= 10) {
    return `${toolName(dump)} takes MySQL ${server.version} for a MariaDB release by its number and sends it MariaDB-only statements`
  }
  return undefined
}

/**
 * Finds the dump and restore programs: in `binDir` only when given (the `mysql-bin-dir` input),
 * else on PATH. Of the dump programs found, the first that can dump production (dumpIncompatibility)
 * wins, production's own flavour first; of the clients, the clean room's flavour first. Throws one
 * clear line naming what was found and what to install.
 */
export async function findClientTools(
  production: ServerRelease,
  cleanroom: ServerRelease,
  binDir?: string
): Promise<MysqlClientTools> {
  const where = binDir ? `in '${binDir}' (input 'mysql-bin-dir')` : 'on PATH'
  const locate = async (name: string): Promise<string | undefined> => {
    if (!binDir) return (await io.which(name, false)) || undefined
    const file = path.join(binDir, name)
    return isExecutable(file) ? file : undefined
  }
  if (binDir && !fs.existsSync(binDir)) {
    throw new UserError(
      `Input 'mysql-bin-dir' is '${binDir}', which does not exist: point it at the directory holding mysqldump and mysql ` +
        `(or mariadb-dump and mariadb), or leave it empty to use the programs on PATH.`
    )
  }
  const found = async (names: string[]): Promise<MysqlClientTool[]> => {
    const tools: MysqlClientTool[] = []
    const seen = new Set<string>()
    for (const name of names) {
      const file = await locate(name)
      if (!file) continue
      const real = fs.realpathSync(file)
      if (seen.has(real)) continue
      seen.add(real)
      tools.push(await toolVersion(file))
    }
    return tools
  }
  const dumps = await found(DUMP_NAMES)
  const clients = await found(CLIENT_NAMES)
  const install = (what: string) =>
    `install ${what} (Debian/Ubuntu: apt-get install mariadb-client, or mysql-client for MySQL's)` +
    (binDir ? `, or fix 'mysql-bin-dir'` : `, or set 'mysql-bin-dir'`)
  if (dumps.length === 0) throw new UserError(`Found no mysqldump or mariadb-dump ${where}: ${install('one')}.`)
  if (clients.length === 0) throw new UserError(`Found no mysql or mariadb client ${where}: ${install('one')}.`)
  const byFlavour = (flavour: Flavour) => (a: MysqlClientTool, b: MysqlClientTool) =>
    Number(b.flavour === flavour) - Number(a.flavour === flavour)
  const dump = [...dumps].sort(byFlavour(production.flavour)).find(tool => !dumpIncompatibility(tool, production))
  if (!dump) {
    const reasons = dumps.map(tool => dumpIncompatibility(tool, production)).join('; ')
    throw new UserError(
      `No dump program ${where} can dump production (${serverName(production)}): ${reasons}. ` +
        install(
          production.flavour === 'mariadb'
            ? `mariadb-dump ${production.version} or newer`
            : `mysqldump ${production.version} or newer`
        ) +
        '.'
    )
  }
  const client = [...clients].sort(byFlavour(cleanroom.flavour))[0]
  return { dump, client, production }
}

export async function toolVersion(program: string): Promise<MysqlClientTool> {
  const { stdout } = await exec.getExecOutput(program, ['--version'], { silent: true, ignoreReturnCode: true })
  const version = parseClientVersion(stdout)
  if (!version) throw new UserError(`Could not read the version of ${program} (it printed '${stdout.trim()}').`)
  return { path: program, ...version }
}

/**
 * True when this mariadb client knows the sandbox command (`\-`, and `--sandbox`), which
 * mariadb-dump writes as the dump's first line since MDEV-33727 (10.5.25, 10.6.18, 10.11.8,
 * 11.0.6, 11.1.5, 11.2.4, 11.4.2): MySQL's client, and MariaDB's older ones, stop at that line.
 */
export function clientKnowsSandbox(client: Pick<MysqlClientTool, 'flavour' | 'major' | 'minor' | 'patch'>): boolean {
  if (client.flavour !== 'mariadb') return false
  const firstPatch: Record<string, number> = { '10.5': 25, '10.6': 18, '10.11': 8, '11.0': 6, '11.1': 5, '11.2': 4, '11.4': 2 }
  const needed = firstPatch[`${client.major}.${client.minor}`]
  if (needed !== undefined) return client.patch >= needed
  // 11.3 ended before the fix; every release series after 11.4 had it from its start.
  return atLeast([client.major, client.minor, client.patch], [11, 5, 0])
}

/**
 * The sanitizing sed's argv, a filter inside the stream. It runs in the C locale, where every
 * byte is one character: the dump may hold any bytes, and the program's lexer must never see a
 * byte sequence a UTF-8 locale would call invalid.
 */
export async function sedFilter(programFile: string): Promise<string[]> {
  const env = await io.which('env', true)
  const sed = await io.which('sed', true)
  return [env, 'LC_ALL=C', sed, '-n', '-E', '-f', programFile]
}

// ---------------------------------------------------------------------------------------------
// Option files

/**
 * A value in a MySQL option file: double-quoted, with the escapes the option-file reader
 * undoes (\\ \" \n \r \t), so that any password (quotes, #, spaces, line breaks) reads back whole.
 */
export function optionValue(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t')}"`
}

/**
 * The option file for one program connecting to `target`: the `[client]` group, which both
 * flavours' programs read, with only options both the dump and the client know (an option a
 * program does not know is an error there). TLS as the program's flavour spells it: MySQL's
 * programs take `ssl-mode`; MariaDB's have `ssl`, `skip-ssl` and `ssl-verify-server-cert`.
 */
export function optionFile(target: ClientTarget, flavour: Flavour): string {
  const lines = [
    '[client]',
    `host=${optionValue(target.host)}`,
    `port=${target.port}`,
    `user=${optionValue(target.user)}`,
    ...(target.password !== undefined ? [`password=${optionValue(target.password)}`] : []),
    'protocol=TCP'
  ]
  const { mode, ca } = target.tls
  if (flavour === 'mysql') {
    lines.push(`ssl-mode=${MYSQL_SSL_MODES[mode]}`)
    if (ca) lines.push(`ssl-ca=${optionValue(ca)}`)
  } else if (mode === 'disable') {
    lines.push('skip-ssl')
  } else {
    // MariaDB's clients check the certificate from 11.4 on by default; only the verify modes ask for it.
    if (mode !== 'preferred') lines.push('ssl')
    if (ca) lines.push(`ssl-ca=${optionValue(ca)}`)
    lines.push(mode === 'verify-ca' || mode === 'verify-identity' ? 'ssl-verify-server-cert' : 'skip-ssl-verify-server-cert')
  }
  return lines.join('\n') + '\n'
}

/** MySQL's --ssl-mode values. */
const MYSQL_SSL_MODES: Record<ClientTarget['tls']['mode'], string> = {
  disable: 'DISABLED',
  preferred: 'PREFERRED',
  required: 'REQUIRED',
  'verify-ca': 'VERIFY_CA',
  'verify-identity': 'VERIFY_IDENTITY'
}

/** Writes an option file (0600: it holds a password) and returns its path. */
export function writeOptionFile(file: string, target: ClientTarget, flavour: Flavour): string {
  fs.rmSync(file, { force: true })
  fs.writeFileSync(file, optionFile(target, flavour), { mode: 0o600 })
  return file
}

/** The environment of every client program: no login-path file, nothing that could add a password or options. */
export function clientEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !/^(MYSQL_PWD|MYSQL_HOST|MYSQL_TCP_PORT|MYSQL_UNIX_PORT|MYSQL_HOME|MARIADB_HOME)$/.test(key)) {
      env[key] = value
    }
  }
  return { ...env, MYSQL_TEST_LOGIN_FILE: '/dev/null', ...extra }
}

// ---------------------------------------------------------------------------------------------
// Argument lists

/**
 * The dump's arguments after its option file, for one database: a consistent snapshot of InnoDB
 * tables (--single-transaction, no table locks), routines, triggers and events, binary columns in
 * hex (a dump is text), utf8mb4, no date (two dumps of the same data are the same text), no
 * tablespaces (they need PROCESS and do not restore elsewhere), and comments on: the restore names
 * the object it failed on from them, and the snapshot marker is one of them. No `--databases`, so
 * the dump has no CREATE DATABASE or USE and restores into the scratch database. No `LOCK TABLES
 * ... WRITE` around each table's rows (--skip-add-locks): they only speed up a MyISAM restore, and
 * MariaDB refuses the rows of a table whose DEFAULT takes a sequence's next value under them
 * ("Table 's' was not locked with LOCK TABLES"), a backup that restores without them.
 */
export function dumpArguments(dump: MysqlClientTool, server: ServerRelease, database: string): string[] {
  const args = [
    '--single-transaction',
    '--quick',
    '--routines',
    '--triggers',
    '--events',
    '--hex-blob',
    '--default-character-set=utf8mb4',
    '--skip-dump-date',
    '--no-tablespaces',
    '--skip-lock-tables',
    '--skip-add-locks',
    '--comments',
    `--max-allowed-packet=${MAX_ALLOWED_PACKET}`
  ]
  if (dump.flavour === 'mysql') {
    // GTID state is a replica's business, and SET @@GLOBAL.GTID_PURGED needs SUPER on the clean room (5.6+).
    if (dump.major > 5 || dump.minor >= 6) args.push('--set-gtid-purged=OFF')
    // MySQL 8's mysqldump reads column histograms from information_schema.COLUMN_STATISTICS, which MariaDB lacks.
    if (dump.major >= 8 && server.flavour === 'mariadb') args.push('--column-statistics=0')
  }
  return [...args, '--', database]
}

/**
 * The restore client's arguments after its option file: the dump's character set; binary mode,
 * in which the client runs none of its own commands from the input but `\C` and `delimiter`
 * (no `\!` shell, no `source`, no `tee`), and passes every byte through; no LOAD DATA LOCAL, which
 * would let a statement of the dump read the runner's files; the sandbox on MariaDB clients that
 * have it (file-system commands refused even outside binary mode). In batch mode, without --force,
 * the client stops at the first failing statement.
 */
export function clientArguments(client: MysqlClientTool, database: string): string[] {
  return [
    '--default-character-set=utf8mb4',
    '--binary-mode',
    '--batch',
    '--local-infile=0',
    `--max-allowed-packet=${MAX_ALLOWED_PACKET}`,
    ...(clientKnowsSandbox(client) ? ['--sandbox'] : []),
    `--database=${database}`
  ]
}

// ---------------------------------------------------------------------------------------------
// The stream

/**
 * The stream's request and outcome are the seam's (engines/types.ts), with this engine's shapes:
 * its programs and its targets (the clean room's `database` the scratch database).
 */
interface StreamShapes extends EngineShapes {
  tools: MysqlClientTools
  target: ClientTarget
}
/** A fresh stream as this engine's stream takes it: the sed program as text, the copy of the dump to keep, its own work directory. */
export interface DumpRestoreRequest {
  tools: MysqlClientTools
  production: ClientTarget
  restoreInto: ClientTarget
  /** The sed program (sanitizerProgram), built for `workDir`: it writes its marker, line index and removed lines there. */
  sanitizer: string
  workDir: string
  /** Also keep the sanitized dump here (the drill's copies are made from it); streamed, never held in memory. */
  keepDumpAt?: string
  /** Called once, as soon as the dump's own snapshot has begun (the marker file exists) or the dump ended. */
  onDumpSnapshotStarted(): Promise<void>
}
export type RestoreFileRequest = SeamRestoreFileRequest<StreamShapes>
export type { StageOutcome, StreamOutcome }

/** What the sanitizer's program is built from (sanitizer.ts buildSanitizer, the engine's sanitizer capability). */
export interface SanitizerOptions {
  tools: MysqlClientTools
  cleanroom: ServerRelease
  /** The clean room's collations (SHOW COLLATION). */
  cleanroomCollations: Iterable<string>
  /** The stream's work directory (the same as the request's): the sanitizer writes its files there. */
  workDir: string
  /** Production's target: its database's name, which SHOW CREATE writes into sequence references. */
  productionTarget?: { database: string }
}

/** The sanitizing sed program for a stream into this clean room with these programs (sanitize-rules.ts). */
export function sanitizerProgram(options: SanitizerOptions): string {
  const client = options.tools.client
  return buildSedProgram({
    clientFlavour: client.flavour,
    clientKnowsSandbox: clientKnowsSandbox(client),
    cleanroom: {
      flavour: options.cleanroom.flavour,
      version: options.cleanroom.version,
      collations: options.cleanroomCollations
    },
    productionDatabase: options.productionTarget?.database,
    ...sanitizerFiles(options.workDir)
  })
}

/** The files the sanitizer writes in a stream's work directory (sanitizerFiles is shared by the program and the stream). */
export interface SanitizerFiles {
  markerFile: string
  removedLinesFile: string
  linesFile: string
}

/** The lines the sanitizer removed or rewrote in a stream's work directory, as it recorded them (none when it recorded none). */
export function readRemovedLines(workDir: string): string[] {
  const { removedLinesFile } = sanitizerFiles(workDir)
  return fs.existsSync(removedLinesFile) ? fs.readFileSync(removedLinesFile, 'latin1').split('\n') : []
}

/** What the sanitizer changed, rule by rule, as the report lists it (StreamOutcome's `sanitized`). */
export function sanitizedConstructs(removedLines: Iterable<string>): SanitizedConstruct[] {
  return summarizeRemovedLines(removedLines).map(entry => ({ parameter: entry.construct, rule: entry.rule, lines: entry.lines }))
}

export function sanitizerFiles(workDir: string): SanitizerFiles {
  return {
    markerFile: path.join(workDir, 'snapshot-marker'),
    removedLinesFile: path.join(workDir, 'sanitized-lines'),
    linesFile: path.join(workDir, 'line-index')
  }
}

/**
 * The pipeline, in bash: dump | dd (counts bytes) | sed [| tee kept] | client. Each program
 * records its exit code and end time (a pipeline has one exit code) and writes its stderr to a
 * file of its own. The script holds no secret: the programs read theirs from their option files.
 * Every file it makes is private (umask 077): the kept copy of the dump holds production's data.
 */
const STREAM_SCRIPT = `
umask 077
ended() { echo "$1 $2 $(date +%s.%N)" >> "$LAZARUS_STATUS_FILE"; }
ended start 0
{ "$LAZARUS_DUMP" "$@" 2> "$LAZARUS_WORK/dump.stderr" | dd bs=1M 2> "$LAZARUS_WORK/bytes"; ended dump \${PIPESTATUS[0]}; } |
{ "\${LAZARUS_FILTER[@]}" 2> "$LAZARUS_WORK/sanitize.stderr"; ended sanitize $?; } |
{ if [ -n "$LAZARUS_KEEP" ]; then tee "$LAZARUS_KEEP" 2> "$LAZARUS_WORK/keep.stderr"; ended keep $?; else cat; fi; } |
{ "$LAZARUS_CLIENT" "\${LAZARUS_CLIENT_ARGS[@]}" > /dev/null 2> "$LAZARUS_WORK/restore.stderr"; ended restore $?; }
`

/** A kept file (already rewritten) into the client. */
const RESTORE_SCRIPT = `
umask 077
ended() { echo "$1 $2 $(date +%s.%N)" >> "$LAZARUS_STATUS_FILE"; }
ended start 0
"$LAZARUS_CLIENT" "\${LAZARUS_CLIENT_ARGS[@]}" < "$LAZARUS_INPUT" > /dev/null 2> "$LAZARUS_WORK/restore.stderr"; ended restore $?
`

export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`
}

/**
 * Dumps production's database, sanitizes and restores it into the scratch database in one stream
 * (never held anywhere whole). The option files are removed as soon as the stream ends.
 */
export async function streamDumpToRestore(request: DumpRestoreRequest): Promise<StreamOutcome> {
  const { tools, workDir } = request
  const files = sanitizerFiles(workDir)
  const programFile = path.join(workDir, 'sanitize.sed')
  fs.writeFileSync(programFile, request.sanitizer, { mode: 0o600 })
  const dumpOptions = writeOptionFile(path.join(workDir, 'dump.cnf'), request.production, tools.dump.flavour)
  const clientOptions = writeOptionFile(path.join(workDir, 'restore.cnf'), request.restoreInto, tools.client.flavour)
  const statusFile = path.join(workDir, 'stream-status')
  try {
    const dumpArgs = [
      `--defaults-file=${dumpOptions}`,
      ...dumpArguments(tools.dump, tools.production, request.production.database)
    ]
    const clientArgs = [`--defaults-file=${clientOptions}`, ...clientArguments(tools.client, request.restoreInto.database)]
    const script = [
      `LAZARUS_FILTER=(${(await sedFilter(programFile)).map(shellQuote).join(' ')})`,
      `LAZARUS_CLIENT_ARGS=(${clientArgs.map(shellQuote).join(' ')})`,
      STREAM_SCRIPT
    ].join('\n')
    const scriptFile = path.join(workDir, 'stream.sh')
    fs.writeFileSync(scriptFile, script, { mode: 0o600 })
    fs.writeFileSync(statusFile, '', { mode: 0o600 })
    const env = clientEnv({
      LAZARUS_DUMP: tools.dump.path,
      LAZARUS_CLIENT: tools.client.path,
      LAZARUS_STATUS_FILE: statusFile,
      LAZARUS_WORK: workDir,
      LAZARUS_KEEP: request.keepDumpAt ?? ''
    })
    const watching = watchSnapshot(files.markerFile, statusFile, request.onDumpSnapshotStarted)
    await runScript(scriptFile, dumpArgs, env).finally(watching.stop)
    await watching.told
    const outcome = await streamOutcome(workDir, statusFile, tools, ['dump', 'sanitize', 'restore'])
    const keptCopy = request.keepDumpAt && keepFailure(workDir, statusFile, request.keepDumpAt)
    return keptCopy ? { ...outcome, ok: false, fault: keptCopy } : outcome
  } finally {
    fs.rmSync(dumpOptions, { force: true })
    fs.rmSync(clientOptions, { force: true })
  }
}

/**
 * Why tee could not keep the copy of the dump (a full disk), when it could not: tee goes on
 * feeding the client when it cannot write its file, so only its own status and words tell. Its
 * words name the file; a tee that merely died of the broken pipe (the client stopped: the
 * restore's failure, judged on its own) names none and is no failure of the copy.
 */
function keepFailure(workDir: string, statusFile: string, keptAt: string): Error | undefined {
  const status = /^keep (\d+) /m.exec(fs.readFileSync(statusFile, 'utf8'))?.[1]
  if (status === undefined || status === '0') return undefined
  const stderrFile = path.join(workDir, 'keep.stderr')
  const stderr = fs.existsSync(stderrFile) ? fs.readFileSync(stderrFile, 'utf8') : ''
  if (!stderr.includes(keptAt)) return undefined
  return (
    diskFullError(stderr, 'Lazarus', 'the copy of the dump', keptAt) ??
    new Error(`The copy of the dump could not be kept at ${keptAt}: ${lastLine(stderr)}`)
  )
}

/**
 * Restores a kept sanitized dump into a scratch database, as it is: a drill's copy comes already
 * rewritten (run/drill-copies.ts, drill/rewrite.ts).
 */
export async function restoreDumpFile(request: RestoreFileRequest): Promise<StreamOutcome> {
  const { tools, workDir } = request
  const clientOptions = writeOptionFile(path.join(workDir, 'restore.cnf'), request.restoreInto, tools.client.flavour)
  const statusFile = path.join(workDir, 'restore-status')
  try {
    const clientArgs = [`--defaults-file=${clientOptions}`, ...clientArguments(tools.client, request.restoreInto.database)]
    const scriptFile = path.join(workDir, 'restore.sh')
    fs.writeFileSync(scriptFile, [`LAZARUS_CLIENT_ARGS=(${clientArgs.map(shellQuote).join(' ')})`, RESTORE_SCRIPT].join('\n'), {
      mode: 0o600
    })
    fs.writeFileSync(statusFile, '', { mode: 0o600 })
    const env = clientEnv({
      LAZARUS_CLIENT: tools.client.path,
      LAZARUS_STATUS_FILE: statusFile,
      LAZARUS_WORK: workDir,
      LAZARUS_INPUT: request.file
    })
    await runScript(scriptFile, [], env)
    const outcome = await streamOutcome(workDir, statusFile, tools, ['restore'], request.file)
    return { ...outcome, dumpBytes: fs.statSync(request.file).size }
  } finally {
    fs.rmSync(clientOptions, { force: true })
  }
}

/**
 * How the stream ended, by what each program recorded. For a failed restore, the object the
 * client was restoring: from sed's line index (a fresh stream) or the kept file itself.
 */
async function streamOutcome(
  workDir: string,
  statusFile: string,
  tools: MysqlClientTools,
  expected: StreamStageName[],
  restoredFile?: string
): Promise<StreamOutcome> {
  const status = readStreamStatus(statusFile)
  const read = (name: string) => {
    const file = path.join(workDir, name)
    return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : ''
  }
  const files = sanitizerFiles(workDir)
  const programs: Record<StreamStageName, string> = { dump: tools.dump.path, sanitize: 'sed', restore: tools.client.path }
  // The object the sanitizer stopped in, if it did: the last object line it indexed (a fresh stream's).
  const stoppedIn =
    status.sanitize?.exitCode === STOP_EXIT_CODE ? await dumpObjectInIndex(files.linesFile, Number.MAX_SAFE_INTEGER) : undefined
  const stages: StageOutcome[] = expected.map(stage => {
    let stderr = stage === 'restore' ? withoutEchoedStatements(read(`${stage}.stderr`)) : read(`${stage}.stderr`)
    if (stage === 'sanitize' && status[stage]?.exitCode === STOP_EXIT_CODE) {
      const stopped = fs.existsSync(files.removedLinesFile)
        ? stoppedConstruct(fs.readFileSync(files.removedLinesFile, 'latin1').split('\n'))
        : undefined
      if (stopped) stderr = stopMessage(stopped, stoppedIn ? describeDumpObject(stoppedIn) : undefined)
    }
    return { stage, program: programs[stage], exitCode: status[stage]?.exitCode ?? null, stderr: tail(stderr) }
  })
  const ok = stages.every(stage => stage.exitCode === 0)
  const bytesText = fs.existsSync(path.join(workDir, 'bytes')) ? fs.readFileSync(path.join(workDir, 'bytes'), 'utf8') : ''
  const dumpBytes = Number(/^(\d+) bytes/m.exec(bytesText)?.[1] ?? 0)
  // What the sanitizer changed (a fresh stream runs it; a kept dump was sanitized when it was made).
  const sanitizing = expected.includes('sanitize')
  const removedLines = sanitizing ? readRemovedLines(workDir) : []
  // What it changed is the run's sanitizer's to say (sanitizer.ts removed()); what it restored disabled is the stream's.
  const changes = sanitizing
    ? { restoredDisabled: disabledEvents(removedLines).map(name => ({ kind: 'event', name: displayIdentifier(name) })) }
    : {}
  const seconds = stageSeconds(status, startedAt(statusFile))
  if (ok) return { ok, stages, dumpBytes, ...changes, seconds }
  const first = firstFailure(status, expected)
  let failedAt: string | undefined
  if (first === 'restore') {
    const line = mysqlErrorLine(stages.find(stage => stage.stage === 'restore')?.stderr ?? '')
    if (line !== undefined) {
      const object = restoredFile ? await dumpObjectInFile(restoredFile, line) : await dumpObjectInIndex(files.linesFile, line)
      // Said as PostgreSQL's is, after "The restore stopped": "while restoring the data of table `orders`".
      if (object) failedAt = `while restoring ${describeDumpObject(object)}`
    }
  }
  // The program that failed first goes first: the others died of the broken pipe it left.
  const ordered = first
    ? [...stages.filter(stage => stage.stage === first), ...stages.filter(stage => stage.stage !== first)]
    : stages
  return { ok, stages: ordered, dumpBytes, ...changes, seconds, ...(failedAt ? { failedAt } : {}) }
}

/** When the stream's script started (its `start` record), in seconds since the epoch; undefined without one. */
function startedAt(statusFile: string): number | undefined {
  const text = fs.existsSync(statusFile) ? fs.readFileSync(statusFile, 'utf8') : ''
  const time = Number(/^start 0 ([0-9.]+)$/m.exec(text)?.[1])
  return Number.isFinite(time) ? time : undefined
}

/** Seconds from the stream's start until each program ended, for those that recorded both. Pure. */
export function stageSeconds(
  status: Partial<Record<StreamStageName, { exitCode: number; at: number }>>,
  start: number | undefined
): Partial<Record<StreamStageName, number>> {
  const seconds: Partial<Record<StreamStageName, number>> = {}
  if (start === undefined) return seconds
  for (const stage of STAGES) {
    const at = status[stage]?.at
    if (at !== undefined && Number.isFinite(at)) seconds[stage] = Math.max(0, at - start)
  }
  return seconds
}

/** The object line in force at `line` of the client's input: from sed's line index, or the file itself. */
async function dumpObjectInIndex(linesFile: string, line: number) {
  return dumpObjectInFile(linesFile, line)
}

async function dumpObjectInFile(file: string, line: number) {
  if (!fs.existsSync(file)) return undefined
  return dumpObjectAt(await numberedLinesUpTo(file, line, text => text !== '' && parseObjectLine(text) !== undefined), line)
}

/** Polls for the marker (sed writes it when the dump's transaction has begun) or the dump's end; tells once. */
function watchSnapshot(
  markerFile: string,
  statusFile: string,
  onStarted: () => Promise<void>
): { stop: () => void; told: Promise<void> } {
  let resolveTold: () => void = () => undefined
  const told = new Promise<void>(resolve => (resolveTold = resolve))
  let done = false
  const tell = (over: boolean) => {
    if (done) return
    const marked = fs.existsSync(markerFile) && fs.statSync(markerFile).size > 0
    if (!marked && !over && !readStreamStatus(statusFile).dump) return
    done = true
    clearInterval(timer)
    onStarted().then(resolveTold, resolveTold)
  }
  const timer = setInterval(() => tell(false), POLL_MS)
  timer.unref()
  return { stop: () => tell(true), told }
}

const STAGES = ['dump', 'sanitize', 'restore'] as const
type StreamStageName = (typeof STAGES)[number]

function readStreamStatus(statusFile: string): Partial<Record<StreamStageName, { exitCode: number; at: number }>> {
  const stages: Partial<Record<StreamStageName, { exitCode: number; at: number }>> = {}
  const text = fs.existsSync(statusFile) ? fs.readFileSync(statusFile, 'utf8') : ''
  for (const line of text.split('\n')) {
    const [name, code, time] = line.split(' ')
    if ((STAGES as readonly string[]).includes(name))
      stages[name as StreamStageName] = { exitCode: Number(code), at: Number(time) }
  }
  return stages
}

/**
 * The program that failed first, by the end times they recorded: the client failing first is a
 * backup that does not restore (the dump and sed then die of the broken pipe); the dump or sed
 * failing first is an error, whatever the client made of the partial stream. A program that never
 * recorded its end (killed) failed last. Pure.
 */
export function firstFailure(
  status: Partial<Record<StreamStageName, { exitCode: number; at: number }>>,
  expected: readonly StreamStageName[] = STAGES
): StreamStageName | undefined {
  return expected
    .filter(name => status[name]?.exitCode !== 0)
    .sort((a, b) => (status[a]?.at ?? Infinity) - (status[b]?.at ?? Infinity))[0]
}

/** Runs the stream's script (cancellation as pg-tools.ts's runClient: a program the cancellation ended never returns). */
async function runScript(scriptFile: string, args: string[], env: Record<string, string>): Promise<void> {
  const output = untrustedOutput(process.stdout)
  await exec
    .exec('bash', [scriptFile, ...args], { env, ignoreReturnCode: true, outStream: output, errStream: output })
    .finally(() => output.end())
  if (isCancelling() || childProcessesEnded()) await new Promise<never>(() => undefined)
}

/**
 * The client's stderr without the failing statement it echoes between two lines of dashes
 * (MariaDB's --print-query-on-error, on in batch mode): the statement is production's text (a
 * whole INSERT of rows), which has no place in a log or a report. Pure.
 */
export function withoutEchoedStatements(stderr: string): string {
  return stderr.replace(/^-{14}\n[\s\S]*?\n-{14}\n\n?/gm, '').trim()
}

function tail(text: string): string {
  return text.slice(-STDERR_TAIL_BYTES).trim()
}
