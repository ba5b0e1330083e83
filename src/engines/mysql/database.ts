import { readFileSync } from 'node:fs'
import mysql from 'mysql2/promise'
import { UserError, messageOf } from '../../util/errors.js'
import { tableKey } from '../../util/table-name.js'
import type { RowDiffSide, SequenceBehindData, SequenceValue } from '../reads.js'
import type { DatabaseDefaults, SchemaObject, SeamSession, ServerFacts, ServerRole, TableFigures } from '../types.js'
import { describe, type MysqlTarget } from './connection.js'
import { readDrillCatalog, type MysqlDrillCatalog } from './drill-catalog.js'
import {
  LIST_TABLES_SQL,
  checksumSql,
  combineChecksum,
  countSql,
  outsideSnapshot,
  tablesFromRows,
  type MysqlTable
} from './figure-queries.js'
import type { MysqlQueryable } from './queryable.js'
import { rowDiffSide } from './row-diff-queries.js'
import { readCounters, readCountersBehindData, readPrimaryKeys, readSchema, type Flavour } from './schema-queries.js'
import { readSequences, sequenceCounter, sequenceSchemaObject } from './sequence-queries.js'

/**
 * The only module that talks to MySQL and MariaDB over the wire (through mysql2): Lazarus's own
 * sessions, with their settings pinned, production's read-only consistent snapshot, and the
 * brief global read lock that makes the dump's snapshot the same as Lazarus's.
 */

/** How long close() waits for the server to say goodbye before it drops the socket. */
const CLOSE_GRACE_MS = 2000

/** Limits one run sets for every session it opens (the inputs' defaults until then). */
export interface MysqlLimits {
  /** How long a production statement (and the global read lock) waits for a lock. */
  lockTimeoutSeconds: number
  /** TCP keepalive timing: a vanished server surfaces as an error. */
  serverTimeoutSeconds: number
}

/**
 * A server error's number (mysql2's `errno`), for the few Lazarus tells apart. Names as in
 * MySQL's and MariaDB's error lists (mysqld_error.h).
 */
const ER = {
  DBACCESS_DENIED: 1044,
  ACCESS_DENIED: 1045,
  BAD_DB: 1049,
  DB_CREATE_EXISTS: 1007,
  UNKNOWN_CHARACTER_SET: 1115,
  LOCK_WAIT_TIMEOUT: 1205,
  SPECIFIC_ACCESS_DENIED: 1227,
  UNKNOWN_COLLATION: 1273
} as const

/** A snapshot begun under the global read lock: joinable while the lock is held. */
interface SnapshotLock {
  id: string
  /** The lock's own connection: FLUSH TABLES WITH READ LOCK holds as long as it does. */
  connection: mysql.Connection
  held: boolean
  /** When FLUSH TABLES WITH READ LOCK was sent (performance.now()): production's writers wait from then on. */
  askedAt: number
  /** Set when the lock's connection ended before the release: the lock was gone from then on. */
  lost?: string
}

const snapshots = new Map<string, SnapshotLock>()
let nextSnapshot = 1

/**
 * The session the run hands back, as this engine opened it: MySQL's modules read through their
 * own sessions only (the run holds them as the seam's SeamSession).
 */
export function ownSession(session: unknown): MysqlSession {
  if (!(session instanceof MysqlSession)) throw new Error('The MySQL/MariaDB engine reads through its own sessions')
  return session
}

export class MysqlSession implements SeamSession<MysqlTable>, MysqlQueryable {
  static limits: MysqlLimits = { lockTimeoutSeconds: 30, serverTimeoutSeconds: 300 }

  private closed = false
  /** The snapshot lock this session took (beginSnapshot), released by releaseSnapshotLock. */
  private lock?: SnapshotLock
  private inSnapshot = false
  private factsRead?: ServerFacts

  protected constructor(
    private readonly connection: mysql.Connection,
    readonly target: MysqlTarget,
    readonly role: ServerRole,
    readonly flavour: Flavour,
    /** Whether the connection is encrypted (TLS). */
    readonly encrypted: boolean
  ) {}

  static async open(target: MysqlTarget, role: ServerRole): Promise<MysqlSession> {
    return MysqlSession.connect(target, role, (...session) => new MysqlSession(...session))
  }

  /** Opens a session of the class `make` builds (MysqlSession, or maintenance.ts's handle), its settings pinned. */
  protected static async connect<T extends MysqlSession>(
    target: MysqlTarget,
    role: ServerRole,
    make: (connection: mysql.Connection, target: MysqlTarget, role: ServerRole, flavour: Flavour, encrypted: boolean) => T
  ): Promise<T> {
    const { connection, encrypted } = await connectTo(target)
    try {
      const [rows] = await connection.query<mysql.RowDataPacket[]>('SELECT VERSION() AS version')
      const flavour: Flavour = /mariadb/i.test(String(rows[0].version)) ? 'mariadb' : 'mysql'
      for (const sql of sessionSettingsSql(role, flavour)) await connection.query(sql)
      return make(connection, target, role, flavour, encrypted)
    } catch (error) {
      connection.destroy()
      throw explain(error, target, role)
    }
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async query<T extends Record<string, any> = Record<string, any>>(sql: string, params: unknown[] = []): Promise<T[]> {
    try {
      const [rows] = await this.connection.query<mysql.RowDataPacket[]>(sql, params)
      return rows as unknown as T[]
    } catch (error) {
      // A statement on a session Lazarus closed never settles: whoever closed it reports why.
      if (this.closed) return new Promise<never>(() => undefined)
      throw explain(error, this.target, this.role)
    }
  }

  /**
   * Runs a read inside production's snapshot under a savepoint that is then rolled back: the
   * metadata locks the read took on its tables go with it (as mysqldump does), so a long run
   * never holds up production's DDL, nor the writes that would queue behind that DDL. Outside a
   * transaction, a plain read.
   */
  private async readAndForget<T>(read: () => Promise<T>): Promise<T> {
    if (!this.inSnapshot) return read()
    await this.query('SAVEPOINT lazarus_read')
    try {
      return await read()
    } finally {
      await this.query('ROLLBACK TO SAVEPOINT lazarus_read')
    }
  }

  /** The settings are pinned when the session opens; pinning again is harmless. */
  async pinSettings(): Promise<void> {
    for (const sql of sessionSettingsSql(this.role, this.flavour)) await this.query(sql)
  }

  /**
   * Takes the brief global read lock on a connection of its own (FLUSH TABLES WITH READ LOCK:
   * writes and commits wait, reads go on), then starts this session's consistent snapshot. Other
   * sessions join it while the lock holds; the dump starts its own; releaseSnapshotLock() ends
   * the lock. With no commit possible in between, every snapshot started under it sees the same
   * data. Needs the RELOAD privilege.
   */
  async beginSnapshot(): Promise<string> {
    if (this.role !== 'production') throw new Error('Only production sessions take the snapshot lock')
    const { connection } = await connectTo(this.target)
    const id = `lazarus-snapshot-${nextSnapshot++}`
    const lock: SnapshotLock = { id, connection, held: false, askedAt: 0 }
    connection.on('error', error => (lock.lost ??= messageOf(error)))
    connection.on('end', () => (lock.lost ??= 'the connection ended'))
    try {
      // Idle while the dump starts: a lowered wait_timeout must not end it (and with it the lock) early.
      await connection.query('SET SESSION wait_timeout = 31536000')
      await connection.query(`SET SESSION lock_wait_timeout = ${Math.max(1, Math.ceil(MysqlSession.limits.lockTimeoutSeconds))}`)
      // Writers wait from the moment the lock is asked for (it blocks them while it waits for running statements).
      lock.askedAt = performance.now()
      await connection.query('FLUSH TABLES WITH READ LOCK')
    } catch (error) {
      connection.destroy()
      throw lockError(error, this.target, MysqlSession.limits.lockTimeoutSeconds)
    }
    lock.held = true
    snapshots.set(id, lock)
    this.lock = lock
    try {
      await this.startSnapshot(lock)
    } catch (error) {
      await this.releaseSnapshotLock().catch(() => undefined)
      throw error
    }
    return id
  }

  /** Starts this session's consistent snapshot while the lock `id` holds. */
  async joinSnapshot(snapshotId: string): Promise<void> {
    const lock = snapshots.get(snapshotId)
    if (!lock) throw new Error(`No snapshot ${snapshotId} to join`)
    await this.startSnapshot(lock)
  }

  private async startSnapshot(lock: SnapshotLock): Promise<void> {
    if (!lock.held) throw new Error(`Snapshot ${lock.id} can no longer be joined: its lock was released`)
    // One statement under the lock: the isolation level is pinned with the session's settings.
    await this.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY')
    this.inSnapshot = true
    // The lock must still hold now that the snapshot exists: released (or lost) meanwhile, the
    // snapshot could hold commits the dump's does not.
    if (!lock.held || lock.lost) {
      throw new UserError(
        `The global read lock on production (${describe(this.target)}) ended while Lazarus's snapshot began` +
          `${lock.lost ? ` (${lock.lost})` : ''}: nothing proves that every session sees the same data. Run again.`
      )
    }
  }

  /**
   * Ends the global read lock. Throws when its connection ended before (the server ended it, the
   * network dropped it): the lock was gone from then on, so a snapshot started after that could
   * see other data than the others, and no verdict may rest on them.
   */
  async releaseSnapshotLock(): Promise<number | undefined> {
    const lock = this.lock
    if (!lock || !lock.held) return undefined
    // Kept in the map, released: a late joinSnapshot is told why it cannot join.
    lock.held = false
    let failure: string | undefined = lock.lost
    if (!failure) {
      try {
        await lock.connection.query('UNLOCK TABLES')
      } catch (error) {
        failure = lock.lost ?? messageOf(error)
      }
    }
    const heldSeconds = (performance.now() - lock.askedAt) / 1000
    await endConnection(lock.connection)
    if (failure) {
      throw new UserError(
        `Lost production's global read lock (${describe(this.target)}) before the dump's snapshot was known to have begun ` +
          `(${failure}): nothing proves that the dump and Lazarus saw the same data. Check that the server keeps ` +
          `idle connections (wait_timeout) and run again.`
      )
    }
    return heldSeconds
  }

  async facts(): Promise<ServerFacts> {
    if (this.factsRead) return this.factsRead
    const [row] = await this.query<{ version: string; uuid?: string; hostname: string; port: string; datadir: string }>(
      this.flavour === 'mysql'
        ? 'SELECT VERSION() AS version, @@server_uuid AS uuid, @@hostname AS hostname, @@port AS port, @@datadir AS datadir'
        : 'SELECT VERSION() AS version, @@hostname AS hostname, @@port AS port, @@datadir AS datadir'
    )
    const version = String(row.version)
    const major = Number(/^(\d+)/.exec(version)?.[1] ?? 0)
    // One server always reports the same values; MariaDB has no server_uuid, but no two running
    // servers share a host name, port and data directory.
    const instance: Record<string, string> =
      this.flavour === 'mysql' && row.uuid
        ? { server_uuid: String(row.uuid) }
        : { hostname: String(row.hostname), port: String(row.port), datadir: String(row.datadir) }
    this.factsRead = {
      version,
      major,
      product: this.flavour === 'mariadb' ? 'MariaDB' : 'MySQL',
      instance,
      encrypted: this.encrypted
    }
    return this.factsRead
  }

  async databaseDefaults(): Promise<DatabaseDefaults> {
    const [row] = await this.query<{ characterSet: string; collation: string }>(
      `SELECT DEFAULT_CHARACTER_SET_NAME AS characterSet, DEFAULT_COLLATION_NAME AS collation
       FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = DATABASE()`
    )
    return { characterSet: String(row.characterSet), collation: String(row.collation) }
  }

  async collations(): Promise<string[]> {
    const rows = await this.query<{ name: string }>('SELECT COLLATION_NAME AS name FROM information_schema.COLLATIONS')
    return rows.map(row => String(row.name)).sort()
  }

  /**
   * A table of the scratch database that is not the user's: the marker maintenance.ts creates on
   * servers without database comments, named as the database itself (lazarus_<run id>_...).
   */
  protected get markerTable(): string {
    return this.role === 'cleanroom' && this.target.database.startsWith('lazarus_') ? this.target.database : ''
  }

  outsideSnapshot(tables: MysqlTable[]): MysqlTable[] {
    return outsideSnapshot(tables)
  }

  async listTables(): Promise<MysqlTable[]> {
    const rows = await this.readAndForget(() =>
      this.query<{ name: string; engine: string; column_name: string; data_type: string }>(LIST_TABLES_SQL, [this.markerTable])
    )
    return tablesFromRows(rows, this.target.reportAs)
  }

  /**
   * Row counts (and checksums) of several tables in one statement (a UNION ALL): for many small
   * tables the round trips would take the time. Should it fail, each table is read on its own, so
   * that the error lands on the table that has it.
   */
  async tablesFigures(tables: MysqlTable[], withChecksum: boolean): Promise<TableFigures[]> {
    if (tables.length === 0) return []
    const one = (table: MysqlTable) =>
      withChecksum ? checksumSql(this.target.database, table) : countSql(this.target.database, table)
    if (tables.length > 1) {
      const sql = tables.map((table, index) => `SELECT ${index} AS i, q.* FROM (${one(table)}) AS q`).join('\nUNION ALL\n')
      try {
        const rows = await this.readAndForget(() => this.query<FigureRow & { i: string }>(sql))
        const byIndex = new Map(rows.map(row => [Number(row.i), row]))
        return tables.map((_, index) => figuresOf(byIndex.get(index)!, withChecksum))
      } catch (error) {
        if (error instanceof UserError) throw error
      }
    }
    const figures: TableFigures[] = []
    for (const table of tables) {
      try {
        const [row] = await this.readAndForget(() => this.query<FigureRow>(one(table)))
        figures.push(figuresOf(row, withChecksum))
      } catch (error) {
        // A lock wait or a lost server is the run's error; anything else is this table's.
        if (error instanceof UserError) throw error
        figures.push({ error: messageOf(error) })
      }
    }
    return figures
  }

  async readSchema(): Promise<SchemaObject[]> {
    return this.readAndForget(async () => [
      ...(await readSchema(this, this.flavour, this.target.database, this.markerTable)),
      ...(await readSequences(this, this.target.database, this.markerTable)).map(sequenceSchemaObject)
    ])
  }

  /** AUTO_INCREMENT counters and MariaDB's sequences' next values (sequence-queries.ts). */
  async readCounters(): Promise<SequenceValue[]> {
    return this.readAndForget(async () => [
      ...(await readCounters(this, this.markerTable)),
      ...(await readSequences(this, this.target.database, this.markerTable)).map(sequenceCounter)
    ])
  }

  async countersBehindData(): Promise<SequenceBehindData[]> {
    return this.readAndForget(() => readCountersBehindData(this, this.target.database, this.markerTable))
  }

  /** The drill's catalog (drill-catalog.ts), inside the snapshot; `rowCounts` by tableKey. */
  async drillCatalog(rowCounts: Map<string, number>): Promise<MysqlDrillCatalog> {
    const tables = await this.listTables()
    return this.readAndForget(() => readDrillCatalog(this, tables, rowCounts, tableKey, this.flavour))
  }

  async primaryKeys(): Promise<Map<string, string[]>> {
    const keys = await this.readAndForget(() => readPrimaryKeys(this, this.markerTable))
    return new Map([...keys].map(([name, columns]) => [tableKey({ schema: this.target.reportAs, name }), columns]))
  }

  /** One side's reads of `table` for the row diff (inside the snapshot on production). */
  rowDiffSide(table: MysqlTable, key: string[] | undefined): RowDiffSide {
    const side = rowDiffSide(this, this.target.database, table, key)
    const wrap =
      <A extends unknown[], R>(read: (...args: A) => Promise<R>) =>
      (...args: A) =>
        this.readAndForget(() => read(...args))
    return {
      estimateRows: wrap(side.estimateRows),
      aggregates: wrap(side.aggregates),
      hashes: wrap(side.hashes),
      firstRows: wrap(side.firstRows),
      rowTexts: wrap(side.rowTexts)
    }
  }

  async ping(): Promise<void> {
    await this.connection.query('SELECT 1')
  }

  /** Ends the session (and its snapshot lock, if it still holds one); never waits longer than CLOSE_GRACE_MS. */
  async close(): Promise<void> {
    if (this.closed) return
    await this.releaseSnapshotLock().catch(() => undefined)
    this.closed = true
    await endConnection(this.connection)
  }

  abandon(): void {
    this.closed = true
    this.connection.destroy()
    if (this.lock?.held) {
      this.lock.held = false
      this.lock.connection.destroy()
    }
  }
}

type FigureRow = { n: string; high?: string; low?: string }

function figuresOf(row: FigureRow, withChecksum: boolean): TableFigures {
  return {
    rows: Number(row.n),
    checksum: withChecksum ? combineChecksum(String(row.n), String(row.high ?? 0), String(row.low ?? 0)) : undefined
  }
}

async function endConnection(connection: mysql.Connection): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<'late'>(resolve => (timer = setTimeout(() => resolve('late'), CLOSE_GRACE_MS)))
  const ended = await Promise.race([
    connection.end().then(
      () => 'ended' as const,
      () => 'ended' as const
    ),
    late
  ])
  clearTimeout(timer)
  if (ended === 'late') connection.destroy()
}

/**
 * The settings every Lazarus session runs under, on both sides, so that text forms and checksums
 * are computed alike:
 * - time_zone '+00:00': TIMESTAMP values read in UTC whatever the server's zone;
 * - sql_mode fixed to STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION: no ANSI_QUOTES (backticks
 *   quote, '...' are strings), no PAD_CHAR_TO_FULL_LENGTH (CHAR values as stored, without pad),
 *   no NO_BACKSLASH_ESCAPES (the driver escapes parameters with backslashes), no PIPES_AS_CONCAT,
 *   no MariaDB ORACLE or EMPTY_STRING_IS_NULL: none of the modes that change how a read is
 *   parsed or what it returns; the server's or the account's defaults may have any of them;
 * - utf8mb4 for everything sent and returned;
 * - group_concat_max_len large: schema reads aggregate long definitions;
 * - no statement time limit (max_execution_time on MySQL, max_statement_time on MariaDB), and
 *   long idle and network timeouts, which a DBA may have lowered and which would cut a checksum
 *   of a large table or the snapshot's session while the dump runs; Lazarus bounds its own waits;
 * - sql_select_limit and max_join_size at their maximum: an account default would cut results;
 * - MySQL 8: information_schema_stats_expiry = 0, or AUTO_INCREMENT would be read from a cache
 *   (in a versioned comment: MySQL 5.7 has no such variable, and no such cache);
 * - production: every transaction read-only and REPEATABLE READ (what a consistent snapshot needs:
 *   set here, before the snapshot lock, so that only START TRANSACTION runs under it), and lock
 *   waits bounded by lock-timeout-seconds.
 */
export function sessionSettingsSql(role: ServerRole, flavour: Flavour): string[] {
  const settings = [
    "SET SESSION time_zone = '+00:00'",
    "SET SESSION sql_mode = 'STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION'",
    'SET NAMES utf8mb4',
    'SET SESSION group_concat_max_len = 4294967295',
    'SET SESSION sql_select_limit = DEFAULT',
    'SET SESSION max_join_size = 18446744073709551615',
    'SET SESSION wait_timeout = 31536000',
    'SET SESSION net_read_timeout = 3600',
    'SET SESSION net_write_timeout = 3600',
    flavour === 'mysql'
      ? 'SET SESSION max_execution_time = 0 /*!80003 , information_schema_stats_expiry = 0 */'
      : 'SET SESSION max_statement_time = 0'
  ]
  if (role === 'production') {
    settings.push(
      // A consistent snapshot is REPEATABLE READ's; an account default of another level would not be one.
      'SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ',
      'SET SESSION TRANSACTION READ ONLY',
      `SET SESSION lock_wait_timeout = ${Math.max(1, Math.ceil(MysqlSession.limits.lockTimeoutSeconds))}`
    )
  }
  return settings
}

/**
 * Connects as the description says. TLS as the client programs' --ssl-mode means it: preferred
 * tries TLS without checking the certificate and falls back to plain only when the server offers
 * no TLS at all; required encrypts without checking; verify-ca checks the chain; verify-identity
 * also the host name.
 */
async function connectTo(target: MysqlTarget): Promise<{ connection: mysql.Connection; encrypted: boolean }> {
  const attempts: (mysql.SslOptions | undefined)[] =
    target.tls.mode === 'disable'
      ? [undefined]
      : target.tls.mode === 'preferred'
        ? [{ rejectUnauthorized: false }, undefined]
        : target.tls.mode === 'required'
          ? [{ rejectUnauthorized: false, ...(target.tls.ca ? { ca: readCa(target) } : {}) }]
          : [
              {
                rejectUnauthorized: true,
                ...(target.tls.ca ? { ca: readCa(target) } : {}),
                ...(target.tls.mode === 'verify-ca' ? { checkServerIdentity: () => undefined } : {})
              }
            ]
  let lastError: unknown
  for (const ssl of attempts) {
    try {
      const connection = await mysql.createConnection({
        host: target.host,
        port: target.port,
        user: target.user,
        password: target.password ?? '',
        database: target.database,
        ssl,
        connectTimeout: target.connectTimeoutSeconds * 1000,
        enableKeepAlive: true,
        keepAliveInitialDelay: Math.max(1, Math.floor(MysqlSession.limits.serverTimeoutSeconds / 3)) * 1000,
        supportBigNumbers: true,
        bigNumberStrings: true,
        dateStrings: true,
        decimalNumbers: false,
        multipleStatements: false,
        charset: 'UTF8MB4_GENERAL_CI',
        // Every value as text: information_schema's binary-typed columns would come back as Buffers.
        typeCast: (field, next) => {
          if (field.type === 'BLOB' || field.type === 'VAR_STRING' || field.type === 'STRING') {
            const buffer = field.buffer()
            return buffer === null ? null : buffer.toString('utf8')
          }
          return next()
        }
      })
      // An idle connection whose server goes away emits 'error'; without a listener that would crash the process.
      connection.on('error', () => undefined)
      return { connection, encrypted: ssl !== undefined }
    } catch (error) {
      lastError = error
      // preferred: plain only when the server has no TLS to offer; any other failure is the answer.
      if (!/does not support secure connection|HANDSHAKE_NO_SSL_SUPPORT/i.test(`${codeOf(error)} ${messageOf(error)}`)) break
    }
  }
  throw connectionError(target, lastError)
}

function readCa(target: MysqlTarget): string {
  return readFileSync(target.tls.ca!, 'utf8')
}

function codeOf(error: unknown): string {
  return String((error as { code?: string }).code ?? '')
}

function errnoOf(error: unknown): number | undefined {
  return (error as { errno?: number }).errno
}

/** Network failures: the connection or the server went away. */
function isConnectionLoss(error: unknown): boolean {
  return /PROTOCOL_CONNECTION_LOST|ECONNRESET|EPIPE|ETIMEDOUT|PROTOCOL_SEQUENCE_TIMEOUT|ER_SERVER_SHUTDOWN|ER_CONNECTION_KILLED/.test(
    codeOf(error)
  )
}

/** The server's side of an error, named: which server, and what to do. Other errors pass unchanged. */
function explain(error: unknown, target: MysqlTarget, role: ServerRole): unknown {
  if (error instanceof UserError) return error
  const where = `${role === 'production' ? 'production' : 'the clean room'} (${describe(target)}, '${target.inputName}')`
  if (errnoOf(error) === ER.LOCK_WAIT_TIMEOUT) {
    return new UserError(
      `Lazarus waited ${MysqlSession.limits.lockTimeoutSeconds} s for a lock on ${where}: ${messageOf(error)}. ` +
        `Another session holds a lock that blocks reading (ALTER TABLE, LOCK TABLES ... WRITE): run Lazarus when no ` +
        `such lock is held, or raise 'lock-timeout-seconds' to wait longer.`
    )
  }
  if (isConnectionLoss(error)) {
    return new UserError(
      `Lost the connection to ${where}: ${messageOf(error)}. Check that the server stays up and reachable (its error log says why).`
    )
  }
  return error
}

/** Why FLUSH TABLES WITH READ LOCK failed, and what to do. */
function lockError(error: unknown, target: MysqlTarget, seconds: number): unknown {
  const errno = errnoOf(error)
  if (errno === ER.SPECIFIC_ACCESS_DENIED || errno === ER.DBACCESS_DENIED) {
    return new UserError(
      `User '${target.user}' on production (${describe(target)}) may not take the brief global read lock that makes ` +
        `the dump and Lazarus's figures see the same data (FLUSH TABLES WITH READ LOCK needs the RELOAD privilege): ` +
        `run GRANT RELOAD ON *.* TO '${target.user}'@'<host>' there.`
    )
  }
  if (errno === ER.LOCK_WAIT_TIMEOUT) {
    return new UserError(
      `Lazarus waited ${seconds} s for the brief global read lock on production (${describe(target)}): a long query, ` +
        `a LOCK TABLES or a running DDL holds tables open. Run Lazarus when none runs, or raise 'lock-timeout-seconds'.`
    )
  }
  return explain(error, target, 'production')
}

/** node's codes for a server certificate that failed verification. */
const CERTIFICATE_ERRORS =
  /CERT|SELF_SIGNED|UNABLE_TO_(GET_ISSUER|VERIFY)|ERR_TLS_CERT_ALTNAME_INVALID|HOSTNAME_MISMATCH|UNABLE_TO_GET_CRL|CRL/

/** Turns a failed connection into one line that says what to fix. */
function connectionError(target: MysqlTarget, error: unknown): Error {
  const code = codeOf(error)
  const errno = errnoOf(error)
  const message = messageOf(error)
  const host = target.host.includes(':') ? `[${target.host}]` : target.host
  const where = `${host}:${target.port}`
  const input = `'${target.inputName}'`
  const passwordInput = `'${target.inputName.replace(/-url$/, '-password')}'`
  if (errno === ER.ACCESS_DENIED) {
    return new UserError(
      `Access denied for user '${target.user}' at ${where} (${input}): check the password (in ${passwordInput} or the URL), ` +
        `the user name, and the host the account may connect from.`
    )
  }
  if (errno === ER.BAD_DB)
    return new UserError(`Database '${target.database}' does not exist at ${where}: fix the database name in ${input}.`)
  if (errno === ER.DBACCESS_DENIED) {
    return new UserError(`User '${target.user}' may not use database '${target.database}' at ${where} (${input}): ${message}.`)
  }
  switch (code) {
    case 'ECONNREFUSED':
      return new UserError(`Connection refused at ${where} (${input}): check the host and port, and that the server is running.`)
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new UserError(`Host '${target.host}' in ${input} could not be resolved: check the host name.`)
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new UserError(`No route to ${where} (${input}): check the host, and that the runner can reach its network.`)
    case 'ETIMEDOUT':
      return new UserError(
        `No answer from ${where} within ${target.connectTimeoutSeconds} s (${input}): check the host, the port, and that a firewall lets the runner through.`
      )
  }
  if (/does not support secure connection|HANDSHAKE_NO_SSL_SUPPORT/i.test(`${code} ${message}`)) {
    return new UserError(
      `The server at ${where} does not accept TLS connections, but ${input} has ssl-mode=${target.tls.mode}: ` +
        `enable TLS on the server, or use ssl-mode=preferred or disable.`
    )
  }
  if (CERTIFICATE_ERRORS.test(code)) {
    return new UserError(
      `The server's certificate at ${where} failed verification under ssl-mode=${target.tls.mode} (${input}): ${message}. ` +
        `Check ssl-ca (the CA that signed the server's certificate)` +
        `${target.tls.mode === 'verify-identity' ? ' and that the certificate names the host' : ''}, or choose an ssl-mode that checks less.`
    )
  }
  if (errno !== undefined) return new UserError(`The server at ${where} refused the connection (${input}): ${message}.`)
  return new UserError(
    `Could not connect to ${where} (${input}): ${message}. Check that a MySQL or MariaDB server listens at that host and port.`
  )
}
