import pg from 'pg'
import { UserError, messageOf } from '../../util/errors.js'
import { describe, type ConnectionTarget } from './connection.js'
import { connectAttempts } from './tls.js'
import { CLUSTER_STARTED_AT_SQL } from './guards.js'
import { DEFAULT_FAULT_LIMITS, type FaultLimits } from './pg-tools.js'
import { LOCK_NOT_AVAILABLE, isEnvironmentSqlState } from './fault-classes.js'
import type { Queryable } from './queryable.js'
import {
  LIST_TABLES_SQL,
  checksumSql,
  countSql,
  pinSettingsSql,
  quoteIdent,
  quoteLiteral,
  type TableRef
} from './figure-queries.js'
import { readingEveryRow } from './row-security.js'
import { readPrimaryKeys } from './row-diff-queries.js'
import { readSchemaFingerprint, type SchemaObject } from './schema-fingerprint.js'
import { findSequencesBehindData, readSequenceValues } from './sequence-queries.js'
import type { DatabaseDefaults, SeamSession, ServerFacts as EngineServerFacts } from '../types.js'
import type { SequenceBehindData, SequenceValue } from '../reads.js'
import { bySchemaAndName, compareText } from '../../util/text-order.js'

/** The only module that talks to PostgreSQL over the wire (through `pg`). */

/**
 * XX001 data_corrupted, XX002 index_corrupted: what was read is damaged. A finding about the data
 * (amcheck reports them as such), passed on unchanged, not a failure of the server.
 */
const DATA_CORRUPTED = new Set(['XX001', 'XX002'])

/** How long close() waits for the server to say goodbye before it drops the socket (a frozen server never does). */
const CLOSE_GRACE_MS = 2000

/** A promise that never settles: what a query on a session Lazarus itself closed turns into. */
const never = () => new Promise<never>(() => undefined)

/** Clients still connecting: a stop drops them too (a connect to a silent server waits out its timeout). */
const connecting = new Set<pg.Client>()
/** Set by DatabaseSession.abandonAll: the run is stopping, and a session opened from now on never opens. */
let stopping = false

export type Role = 'production' | 'cleanroom'

export interface ServerFacts {
  /** e.g. "13.23" */
  serverVersion: string
  serverVersionNum: number
  major: number
}

/** A column of a query's result, as the server described it. */
export interface ResultColumn {
  name: string
  typeId: number
  typeModifier: number
}

/** What one side reports for one table: `rows` and `checksum` are undefined when not read. */
export interface TableFigures {
  rows?: number
  checksum?: string
  /** Why the figures could not be read. */
  error?: string
}

/** A database's encoding, LC_COLLATE and LC_CTYPE (DatabaseSession.databaseFacts) as the seam's defaults. */
export function asDatabaseDefaults(facts: { encoding: string; collate: string; ctype: string }): DatabaseDefaults {
  return { characterSet: facts.encoding, collation: facts.collate, characterType: facts.ctype }
}

/**
 * The session the run hands back, as this engine opened it: PostgreSQL's modules read through
 * their own driver session only (the run holds it as the seam's SeamSession).
 */
export function ownSession(session: unknown): DatabaseSession {
  if (!(session instanceof DatabaseSession)) throw new Error('The PostgreSQL engine reads through its own sessions')
  return session
}

/**
 * A session on one PostgreSQL database: the engine's read session (engines/types.ts SeamSession:
 * snapshots, tables, figures, schema, sequences, keys), plus what only PostgreSQL's own modules
 * read through it (savepoints, the snapshot's start, locks, identity).
 */
export class DatabaseSession implements Queryable, SeamSession<TableRef> {
  /**
   * How long production statements wait for a lock, and the TCP keepalive timing: one setting per
   * run, from its inputs, shared by every session it opens (the defaults are the inputs' defaults).
   */
  static limits: FaultLimits = DEFAULT_FAULT_LIMITS

  /** Set once Lazarus closes or abandons the session: its pending queries' failures are then not findings. */
  private closed = false
  /** Whether this session's transaction holds production's snapshot (begun or joined, not yet ended). */
  private inSnapshot = false

  /** Every session not yet closed, so that a run that must stop at once can drop them all. */
  private static readonly live = new Set<DatabaseSession>()

  /**
   * Drops every open session but `keep`, at once: after a server stopped answering, work still
   * waiting on either server must neither report nor hold the process open.
   */
  static abandonAll(keep: DatabaseSession[] = []): void {
    stopping = true
    for (const session of [...DatabaseSession.live]) if (!keep.includes(session)) session.abandon()
    for (const client of connecting) socketOf(client)?.destroy()
  }

  protected constructor(
    private readonly client: pg.Client,
    readonly target: ConnectionTarget,
    readonly role: Role,
    /** The server process this session runs in: it must stay the same for the session's settings to hold. */
    private readonly backendPid: number,
    /** Whether a connection pooler (session pooling) stands between Lazarus and the server. */
    readonly viaPooler: boolean
  ) {}

  /**
   * Connects as the description says (TLS attempts as libpq makes them), checks
   * target_session_attrs as libpq does, refuses a pooler that does not give the session one
   * server connection of its own, and then applies the session's settings with SET: production
   * read-only with a lock timeout, so Lazarus can neither write to production nor queue behind
   * its traffic for long, and without parallel query (production gives Lazarus `jobs` backends,
   * not `jobs` times the parallel workers, which would also slow the dump they run beside).
   * Settings go in SET statements after connecting, not in the startup packet's `options`,
   * which connection poolers such as PgBouncer refuse.
   */
  static async open(target: ConnectionTarget, role: Role): Promise<DatabaseSession> {
    return DatabaseSession.connect(target, role, (...session) => new DatabaseSession(...session))
  }

  /** Opens a session of the class `make` builds: DatabaseSession, or the clean room's MaintenanceSession. */
  protected static async connect<T extends DatabaseSession>(
    target: ConnectionTarget,
    role: Role,
    make: (client: pg.Client, target: ConnectionTarget, role: Role, pid: number, viaPooler: boolean) => T
  ): Promise<T> {
    const client = await connectClient(target)
    try {
      const { pid, viaPooler } = await withinConnectTimeout(target, client, async () => {
        await checkTargetSessionAttrs(client, target)
        const own = await assertOwnServerConnection(client, target)
        await client.query(sessionSettingsSql(role))
        return own
      })
      const session = make(client, target, role, pid, viaPooler)
      DatabaseSession.live.add(session)
      return session
    } catch (error) {
      await client.end().catch(() => undefined)
      if (stopping) return never()
      throw error
    }
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async query<T extends Record<string, any> = Record<string, any>>(sql: string, params: unknown[] = []): Promise<T[]> {
    const result = await this.run<T>(sql, params)
    return result.rows
  }

  /**
   * Runs one statement through the extended query protocol, which the server refuses to run
   * with more than one statement in it: for SQL written by the user (checks). Also returns the
   * result's columns.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async queryExtended<T extends Record<string, any> = Record<string, any>>(
    sql: string,
    params: unknown[] = []
  ): Promise<{ rows: T[]; columns: ResultColumn[] }> {
    const config = { text: sql, values: params, queryMode: 'extended' } as pg.QueryConfig
    let result: pg.QueryResult<T>
    try {
      result = await this.client.query<T>(config)
    } catch (error) {
      // The check's own failure (its SQL, its timeout) is its answer; a session Lazarus closed gives none.
      if (this.closed) return never()
      throw error
    }
    return {
      rows: result.rows,
      columns: result.fields.map(field => ({ name: field.name, typeId: field.dataTypeID, typeModifier: field.dataTypeModifier }))
    }
  }

  /**
   * Every statement goes through here. A statement on a session Lazarus closed (a cancellation,
   * a server that stopped answering) never settles: its failure is the closing's consequence, and
   * whoever closed the session reports why, once; a "table differs" from it would be false.
   * Otherwise a lost connection or a lock wait becomes an error that names the server.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  protected async run<T extends Record<string, any>>(sql: string, params?: unknown[], what?: string): Promise<pg.QueryResult<T>> {
    try {
      return await this.client.query<T>(sql, params)
    } catch (error) {
      if (this.closed) return never()
      const code = (error as { code?: string }).code
      throw this.explain(error, what ?? (code === LOCK_NOT_AVAILABLE ? await this.exclusivelyLocked() : undefined))
    }
  }

  /**
   * Which relations of this database other sessions hold ACCESS EXCLUSIVE locks on (the only mode
   * that blocks reading), asked on a session of its own (this one's transaction may be aborted):
   * "table public.orders", or undefined when that cannot be told.
   */
  private async exclusivelyLocked(): Promise<string | undefined> {
    const held = await this.exclusiveLocks()
    return held.length > 0 ? held.map(lock => `${lock.kind} ${lock.name}`).join(', ') : undefined
  }

  /**
   * The relations of this database that other sessions hold ACCESS EXCLUSIVE locks on, each as
   * its kind ("table", "materialized view", ...) and quoted name (schema.name, quoted as pg_dump
   * and quote_ident quote). Asked on a session of its own; empty when that cannot be told.
   */
  async exclusiveLocks(): Promise<{ kind: string; name: string }[]> {
    try {
      const other = await DatabaseSession.open(this.target, this.role)
      try {
        return await other.query<{ kind: string; name: string }>(
          `SELECT DISTINCT CASE c.relkind WHEN 'm' THEN 'materialized view' WHEN 'v' THEN 'view' WHEN 'S' THEN 'sequence'
             ELSE 'table' END AS kind, pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS name
           FROM pg_catalog.pg_locks l
           JOIN pg_catalog.pg_class c ON c.oid = l.relation
           JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
           WHERE l.granted AND l.mode = 'AccessExclusiveLock' AND l.pid <> pg_catalog.pg_backend_pid()
             AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
             AND n.nspname NOT LIKE 'pg\\_temp\\_%'
           ORDER BY 2, 1`
        )
      } finally {
        await other.close()
      }
    } catch {
      return []
    }
  }

  /** The server's side of an error, named: which server, what it was reading, and what to do. Other errors pass unchanged. */
  private explain(error: unknown, what?: string): unknown {
    const code = (error as { code?: string }).code
    const where = `${this.role === 'production' ? 'production' : 'the clean room'} (${describe(this.target)}, '${this.target.inputName}')`
    if (code === LOCK_NOT_AVAILABLE) {
      return new UserError(
        `Lazarus waited ${DatabaseSession.limits.lockTimeoutSeconds} s for a lock on ${what ? `${what} on ` : ''}${where}: ${messageOf(error)}. ` +
          `Another session holds a lock that blocks reading (ACCESS EXCLUSIVE: ALTER TABLE, TRUNCATE, VACUUM FULL, LOCK TABLE): ` +
          `run Lazarus when no such lock is held, or raise 'lock-timeout-seconds' to wait longer.`
      )
    }
    if (isConnectionLoss(error)) {
      return new UserError(
        `Lost the connection to ${where}: ${messageOf(error)}. Check that the server stays up and reachable (its log says why the session ended).`
      )
    }
    if (isEnvironmentSqlState(code) && !DATA_CORRUPTED.has(code!)) {
      return new UserError(
        `${where[0].toUpperCase()}${where.slice(1)} failed a query for a reason of its own: ${messageOf(error)} (SQLSTATE ${code}).`
      )
    }
    return error
  }

  /**
   * Ends the session. The server gets CLOSE_GRACE_MS to say goodbye; a frozen one never does, so
   * then the socket is dropped, and closing never waits longer than that.
   */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    DatabaseSession.live.delete(this)
    let timer: NodeJS.Timeout | undefined
    const grace = new Promise<'late'>(resolve => (timer = setTimeout(() => resolve('late'), CLOSE_GRACE_MS)))
    const ended = await Promise.race([
      this.client.end().then(
        () => 'ended' as const,
        () => 'ended' as const
      ),
      grace
    ])
    clearTimeout(timer)
    if (ended === 'late') this.abandon()
  }

  /** Drops the connection at once, without a word to the server (which may not be answering). */
  abandon(): void {
    this.closed = true
    DatabaseSession.live.delete(this)
    socketOf(this.client)?.destroy()
  }

  /** Answers `SELECT 1`: a live server does so at once, whatever else it is busy with. */
  async ping(): Promise<void> {
    await this.client.query('SELECT 1')
  }

  /**
   * Lazarus's sessions on this database (pg_dump's among them: it connects with the same
   * application_name and role) that have waited on a lock longer than `seconds`: what they wait for
   * and which sessions block them. pg_dump sets its own lock_timeout to 0 and bounds only its
   * first LOCK TABLE pass, so a lock met later (a materialized view being refreshed) would hold it
   * for as long as the other transaction lasts.
   */
  async lockWaits(seconds: number): Promise<{ pid: number; waitingFor: string; blockers: string; seconds: number }[]> {
    const { rows } = await this.client.query<{ pid: number; waiting_for: string; blockers: string; seconds: string }>(
      `SELECT a.pid,
         coalesce((SELECT pg_catalog.string_agg(DISTINCT CASE WHEN c.oid IS NULL THEN 'a ' || l.locktype || ' lock'
                     ELSE CASE c.relkind WHEN 'm' THEN 'materialized view ' WHEN 'v' THEN 'view ' WHEN 'S' THEN 'sequence '
                       WHEN 'i' THEN 'index ' ELSE 'table ' END
                       || pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) END, ', ')
                   FROM pg_catalog.pg_locks l
                   LEFT JOIN pg_catalog.pg_class c ON c.oid = l.relation
                   LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                   WHERE l.pid = a.pid AND NOT l.granted), 'a lock') AS waiting_for,
         pg_catalog.array_to_string(pg_catalog.pg_blocking_pids(a.pid), ', ') AS blockers,
         extract(epoch FROM pg_catalog.now() - a.query_start)::text AS seconds
       FROM pg_catalog.pg_stat_activity a
       WHERE a.datname = pg_catalog.current_database() AND a.usename = current_user AND a.application_name = $2
         AND a.pid <> pg_catalog.pg_backend_pid() AND a.wait_event_type = 'Lock'
         AND a.query_start < pg_catalog.now() - pg_catalog.make_interval(secs => $1)`,
      [seconds, this.target.applicationName]
    )
    return rows.map(row => ({ pid: row.pid, waitingFor: row.waiting_for, blockers: row.blockers, seconds: Number(row.seconds) }))
  }

  async serverFacts(): Promise<ServerFacts> {
    const [row] = await this.query<{ version: string; num: string }>(
      "SELECT current_setting('server_version') AS version, current_setting('server_version_num') AS num"
    )
    const num = Number(row.num)
    return { serverVersion: row.version.split(' ')[0], serverVersionNum: num, major: Math.floor(num / 10000) }
  }

  /** Encoding and locale of the connected database, to create a faithful scratch database. */
  async databaseFacts(): Promise<{ encoding: string; collate: string; ctype: string }> {
    const [row] = await this.query<{ encoding: string; collate: string; ctype: string }>(
      `SELECT pg_catalog.pg_encoding_to_char(encoding) AS encoding, datcollate AS collate, datctype AS ctype
       FROM pg_catalog.pg_database WHERE datname = current_database()`
    )
    return row
  }

  async settingNames(): Promise<string[]> {
    const rows = await this.query<{ name: string }>('SELECT name FROM pg_catalog.pg_settings')
    return rows.map(row => row.name)
  }

  /** Pins the settings that make text output identical on both sides. */
  async pinSettings(): Promise<void> {
    await this.run(pinSettingsSql())
  }

  /**
   * Opens a read-only repeatable-read transaction and exports its snapshot: pg_dump run with
   * `--snapshot` then sees exactly the data this session reads figures of, however busy production is.
   */
  async beginSnapshot(): Promise<string> {
    await this.run('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
    this.inSnapshot = true
    await this.assertSameServerConnection()
    const [row] = await this.query<{ snapshot: string }>('SELECT pg_catalog.pg_export_snapshot() AS snapshot')
    return row.snapshot
  }

  /**
   * Joins a snapshot another session exported, so several sessions can read production's figures
   * in parallel and all see exactly what pg_dump sees.
   */
  async joinSnapshot(snapshotId: string): Promise<void> {
    await this.run('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
    this.inSnapshot = true
    await this.run(`SET TRANSACTION SNAPSHOT ${quoteLiteral(snapshotId)}`)
    await this.assertSameServerConnection()
  }

  /** Ends the snapshot's read-only transaction (begun or joined): it only read, so there is nothing to keep. */
  async endSnapshot(): Promise<void> {
    await this.run('COMMIT')
    this.inSnapshot = false
  }

  /**
   * Inside the snapshot transaction: the session still runs in the server process it opened
   * with, so the settings it applied then hold now. A pooler that moved it (transaction pooling
   * the opening probe did not catch) stops the run here, before anything is read.
   */
  private async assertSameServerConnection(): Promise<void> {
    const [row] = await this.query<{ pid: number }>('SELECT pg_catalog.pg_backend_pid() AS pid')
    if (row.pid !== this.backendPid)
      throw transactionPoolingError(this.target, `moved from server process ${this.backendPid} to ${row.pid}`)
  }

  /**
   * Runs `work` under a savepoint, so that a failing statement inside production's snapshot
   * transaction rolls back to here instead of aborting the snapshot.
   */
  async withSavepoint<T>(work: () => Promise<T>): Promise<T> {
    await this.run('SAVEPOINT lazarus_work')
    try {
      const result = await work()
      await this.run('RELEASE SAVEPOINT lazarus_work')
      return result
    } catch (error) {
      await this.run('ROLLBACK TO SAVEPOINT lazarus_work')
      throw error
    }
  }

  async listTables(): Promise<TableRef[]> {
    const rows = await this.query<TableRef>(LIST_TABLES_SQL)
    return rows
      .map(row => ({ ...row, columns: [...row.columns].sort((a, b) => compareText(a.name, b.name)) }))
      .sort(bySchemaAndName)
  }

  /**
   * Reads one table's figures. Inside a transaction a failed statement would abort it (and with
   * it the snapshot), so each read runs under a savepoint there (see readAndForget).
   */
  async tableFigures(table: TableRef, withChecksum: boolean, inTransaction: boolean): Promise<TableFigures> {
    if (!table.populated) return { rows: 0, checksum: withChecksum ? 'not populated' : undefined }
    try {
      const [row] = await this.readFigures<{ rows: string; sum?: string }>(
        withChecksum ? checksumSql(table) : countSql(table),
        inTransaction,
        [table],
        `table ${quoteIdent(table.schema)}.${quoteIdent(table.name)}`
      )
      return figuresOf(row, withChecksum)
    } catch (error) {
      // A lock another session holds, a lost server: the table was not read, which is no difference.
      if (error instanceof UserError) throw error
      return { error: messageOf(error) }
    }
  }

  /**
   * Reads the figures of several tables in one statement (a UNION ALL of their queries): for many
   * small tables the round trips, not the reading, would take the time. Should the statement
   * fail, each table is read on its own, so the error lands on the table that has it.
   */
  async tablesFigures(tables: TableRef[], withChecksum: boolean, inTransaction: boolean): Promise<TableFigures[]> {
    const readable = tables.map((table, index) => ({ table, index })).filter(entry => entry.table.populated)
    if (readable.length < 2) return Promise.all(tables.map(table => this.tableFigures(table, withChecksum, inTransaction)))
    const sql = readable
      .map(({ table, index }) => `SELECT ${index} AS i, q.* FROM (${withChecksum ? checksumSql(table) : countSql(table)}) AS q`)
      .join('\nUNION ALL\n')
    let rows: { i: number; rows: string; sum?: string }[]
    try {
      rows = await this.readFigures(
        sql,
        inTransaction,
        readable.map(entry => entry.table)
      )
    } catch (error) {
      // A lock or a lost server would fail each table's own read too: the run's error, at once.
      if (error instanceof UserError) throw error
      const figures: TableFigures[] = []
      for (const table of tables) figures.push(await this.tableFigures(table, withChecksum, inTransaction))
      return figures
    }
    const byIndex = new Map(rows.map(row => [Number(row.i), row]))
    return tables.map((table, index) =>
      table.populated
        ? figuresOf(byIndex.get(index)!, withChecksum)
        : { rows: 0, checksum: withChecksum ? 'not populated' : undefined }
    )
  }

  /**
   * Runs a figures query (no parameters) on `tables`; in a transaction, as readAndForget does,
   * with the savepoint sent along in the same message: two round trips in all. Outside one (the
   * restored copy), so that it sees every row of a table that forces row-level security.
   */
  private async readFigures<T extends { rows: string; sum?: string }>(
    sql: string,
    inTransaction: boolean,
    tables: TableRef[],
    what?: string
  ): Promise<T[]> {
    if (!inTransaction) return readingEveryRow(this, tables, async () => (await this.run<T>(sql, undefined, what)).rows)
    try {
      const results = (await this.run(`SAVEPOINT lazarus_read;\n${sql}`, undefined, what)) as unknown as pg.QueryResult<T>[]
      return results[1].rows
    } finally {
      await this.run('ROLLBACK TO SAVEPOINT lazarus_read; RELEASE SAVEPOINT lazarus_read')
    }
  }

  /**
   * Runs a read inside the snapshot's transaction under a savepoint that is then rolled back, not
   * released: a failed statement cannot abort the snapshot, and the locks the read took (each
   * table and, for the planner, each of its indexes) go with the savepoint instead of piling up
   * until the end. Otherwise a schema of many thousand tables, read in one transaction, would run
   * past production's lock table (max_locks_per_transaction, "out of shared memory"). The
   * transaction's snapshot stays as it was: only a read is undone.
   */
  async readAndForget<T>(read: () => Promise<T>): Promise<T> {
    await this.run('SAVEPOINT lazarus_read')
    try {
      return await read()
    } finally {
      // Rolled back and released at once: savepoints do not stack up, one round trip.
      await this.run('ROLLBACK TO SAVEPOINT lazarus_read; RELEASE SAVEPOINT lazarus_read')
    }
  }

  /** Whether standard_conforming_strings is on in this session (pg_dump's session starts with the same defaults). */
  async standardConformingStrings(): Promise<boolean> {
    const [row] = await this.query<{ on: boolean }>("SELECT current_setting('standard_conforming_strings') = 'on' AS on")
    return row.on
  }

  /** The start of the current transaction: inside a snapshot, the instant it was taken. */
  async transactionStart(): Promise<Date> {
    const [row] = await this.query<{ at: Date }>('SELECT pg_catalog.now() AS at')
    return row.at
  }

  /** The size of the connected database on disk, in bytes. */
  async databaseSize(): Promise<number> {
    const [row] = await this.query<{ bytes: string }>('SELECT pg_catalog.pg_database_size(current_database())::text AS bytes')
    return Number(row.bytes)
  }

  /**
   * The server's version and what tells it apart from every other server, as the seam names
   * them: the system identifier (when the role may read pg_control_system()), the postmaster's
   * start time and the port, as guards.ts compares them.
   */
  async facts(): Promise<EngineServerFacts> {
    const [server, identity] = await Promise.all([this.serverFacts(), this.clusterIdentity()])
    return {
      product: 'PostgreSQL',
      version: server.serverVersion,
      major: server.major,
      instance: {
        ...(identity.systemIdentifier !== undefined ? { systemIdentifier: identity.systemIdentifier } : {}),
        startedAt: identity.startedAt,
        port: identity.port
      }
    }
  }

  /** The encoding, LC_COLLATE and LC_CTYPE (which PostgreSQL keeps apart from the collation). */
  async databaseDefaults(): Promise<DatabaseDefaults> {
    return asDatabaseDefaults(await this.databaseFacts())
  }

  async collations(): Promise<string[]> {
    const rows = await this.query<{ name: string }>('SELECT collname AS name FROM pg_catalog.pg_collation ORDER BY 1')
    return rows.map(row => row.name)
  }

  /** The schema fingerprint (schema-fingerprint.ts): inside production's snapshot, the schema pg_dump saw. */
  readSchema(): Promise<SchemaObject[]> {
    return readSchemaFingerprint(this)
  }

  /** Every sequence's value as it stands now (sequences are not transactional). */
  readCounters(): Promise<SequenceValue[]> {
    // Reading a sequence locks it until the transaction ends: inside the snapshot, forgotten with the read.
    return this.inSnapshot ? this.readAndForget(() => readSequenceValues(this)) : readSequenceValues(this)
  }

  /** Sequences whose next value their column already holds. */
  countersBehindData(): Promise<SequenceBehindData[]> {
    return findSequencesBehindData(this)
  }

  /** Each table's primary key, or a unique index over NOT NULL columns, by tableKey. */
  primaryKeys(): Promise<Map<string, string[]>> {
    return readPrimaryKeys(this)
  }

  /** An exported snapshot takes no global lock: pg_dump imports it, and writers never wait on it. */
  async releaseSnapshotLock(): Promise<undefined> {
    return undefined
  }

  /** Every PostgreSQL table is read through MVCC: the snapshot isolates them all. */
  outsideSnapshot(): TableRef[] {
    return []
  }

  /**
   * What identifies the server process: its system identifier where this role may read it, and
   * its start time, which two running clusters practically never share.
   */
  async clusterIdentity(): Promise<{ systemIdentifier?: string; startedAt: string; port: string }> {
    const [row] = await this.query<{ started_at: string; port: string; may_read_control: boolean }>(
      `SELECT ${CLUSTER_STARTED_AT_SQL} AS started_at, pg_catalog.current_setting('port') AS port, ` +
        // pg_control_system() came with 9.6: an older server (refused by name once its version is
        // read, serverChecks.unsupported) must not fail here first on a function it lacks. CASE,
        // not AND: only CASE promises not to evaluate the privilege check first.
        `CASE WHEN pg_catalog.current_setting('server_version_num')::int >= 90600 ` +
        `THEN pg_catalog.has_function_privilege('pg_catalog.pg_control_system()', 'EXECUTE') ELSE false END AS may_read_control`
    )
    let systemIdentifier: string | undefined
    // Asked first rather than caught: inside production's snapshot (the schema comparison asks
    // both servers' majors through facts()) a refused call would abort the snapshot's transaction.
    if (row.may_read_control)
      try {
        const [control] = await this.query<{ id: string }>(
          'SELECT system_identifier::text AS id FROM pg_catalog.pg_control_system()'
        )
        systemIdentifier = control.id
      } catch {
        // Refused all the same (a server that hides it); the start time still tells clusters apart.
      }
    return { systemIdentifier, startedAt: row.started_at, port: row.port }
  }
}

function figuresOf(row: { rows: string; sum?: string }, withChecksum: boolean): TableFigures {
  return { rows: Number(row.rows), checksum: withChecksum ? combineChecksum(row.rows, row.sum ?? '0') : undefined }
}

/** The socket under a pg client (pg does not expose it): dropping it ends the connection without a word. */
function socketOf(client: pg.Client): { destroy(): void } | undefined {
  return (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream
}

/** A connection the server or the network ended: pg reports these without a SQLSTATE, or as shutdown (57P0x) or 08xxx. */
function isConnectionLoss(error: unknown): boolean {
  const code = (error as { code?: string }).code ?? ''
  if (/^(08|57P0)/.test(code)) return true
  if (/^[0-9A-Z]{5}$/.test(code)) return false
  return /Connection terminated|connection ended|not queryable|ECONNRESET|EPIPE|ETIMEDOUT|socket hang up|closed the connection/i.test(
    messageOf(error)
  )
}

/** One short string: the row count and the hash sum modulo 2^64, both in hex. */
function combineChecksum(rows: string, sum: string): string {
  return `${BigInt(rows).toString(16)}-${BigInt.asUintN(64, BigInt(sum)).toString(16)}`
}

/**
 * Opens one connection as the description says, making libpq's TLS attempts in libpq's order:
 * the next attempt (prefer: unencrypted after TLS; allow: TLS after unencrypted) is made only
 * when the server answered the first one, as libpq does. Only user, database, application_name
 * and the user's own `options` go in the startup packet: poolers refuse anything else there.
 */
async function connectClient(target: ConnectionTarget): Promise<pg.Client> {
  let lastError: unknown
  for (const ssl of connectAttempts(target)) {
    if (stopping) return never()
    // A vanished host or a cut network surfaces as an error instead of a wait without end: the
    // user's keepalives_idle, or a third of server-timeout-seconds.
    const idle = target.tuning.keepalives_idle ?? Math.max(1, Math.floor(DatabaseSession.limits.serverTimeoutSeconds / 3))
    const client = new pg.Client({
      host: target.host,
      port: target.port,
      database: target.database,
      user: target.user,
      password: target.password ?? '',
      application_name: target.applicationName,
      options: target.options,
      ssl,
      connectionTimeoutMillis: target.connectTimeoutSeconds * 1000,
      keepAlive: target.tuning.keepalives !== '0',
      keepAliveInitialDelayMillis: Number(idle) * 1000
    })
    // An idle client whose server goes away emits 'error'; without a listener that would crash the process.
    client.on('error', () => undefined)
    connecting.add(client)
    try {
      await client.connect()
      return client
    } catch (error) {
      await client.end().catch(() => undefined)
      if (stopping) return never()
      lastError = error
      if (!serverAnswered(error)) break
    } finally {
      connecting.delete(client)
    }
  }
  throw connectionError(target, lastError)
}

/**
 * Runs a new connection's setup (its checks and SET statements) within the connect timeout, as
 * libpq bounds its own connection setup: a server that froze right after accepting the
 * connection, before the run's probes watch it, fails with the timeout instead of a wait without
 * end. The connection is dropped then.
 */
async function withinConnectTimeout<T>(target: ConnectionTarget, client: pg.Client, setup: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      socketOf(client)?.destroy()
      reject(
        new UserError(
          `The server at ${target.host}:${target.port} ('${target.inputName}') accepted the connection but answered nothing ` +
            `within ${target.connectTimeoutSeconds} s: check that it is not overloaded or stopped, then run again.`
        )
      )
    }, target.connectTimeoutSeconds * 1000)
  })
  try {
    return await Promise.race([setup(), timedOut])
  } finally {
    clearTimeout(timer)
  }
}

/** Network failures end the attempts (libpq does not retry them); anything the server said allows the next. */
function serverAnswered(error: unknown): boolean {
  const code = (error as { code?: string }).code ?? ''
  return !NETWORK_ERRORS.has(code) && !/timeout/i.test(messageOf(error))
}

const NETWORK_ERRORS = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ENOENT'])

/** target_session_attrs, checked as libpq checks it (one host: the server is that kind, or the connection fails). */
async function checkTargetSessionAttrs(client: pg.Client, target: ConnectionTarget): Promise<void> {
  const attrs = target.targetSessionAttrs
  if (!attrs || attrs === 'any' || attrs === 'prefer-standby') return
  const { rows } = await client.query<{ standby: boolean; read_only: boolean }>(
    `SELECT pg_catalog.pg_is_in_recovery() AS standby,
            pg_catalog.current_setting('default_transaction_read_only') = 'on' AS read_only`
  )
  const { standby, read_only: readOnlyDefault } = rows[0]
  const readOnly = standby || readOnlyDefault
  const fits = { 'read-write': !readOnly, 'read-only': readOnly, primary: !standby, standby }[attrs]
  if (!fits) {
    const is = standby ? 'a standby' : readOnly ? 'a read-only primary' : 'a read-write primary'
    throw new UserError(
      `The server at ${describe(target)} is ${is}, but '${target.inputName}' has target_session_attrs=${attrs}: ` +
        `point the URI at the right server or change target_session_attrs.`
    )
  }
}

/** How many times a pooled connection is probed for transaction pooling. */
const POOLING_PROBES = 3

/**
 * Returns the session's server process id after making sure the session has a server
 * connection of its own. A direct connection (or a plain TCP forward) passes on the server's
 * cancel key, whose process id is the backend's; a connection pooler answers the startup itself
 * with a key of its own. Behind a pooler, Lazarus probes whether it pools sessions (one server
 * connection per client, where SET and an exported snapshot hold) or transactions or statements
 * (the server connection changes hands between transactions, so session settings, pg_dump's
 * among them, would be lost or land in other clients' sessions): a second client that is handed
 * this session's server process while this one idles, or this session finding itself in another
 * process, prove transaction pooling. Session pooling passes every probe.
 */
async function assertOwnServerConnection(
  client: pg.Client,
  target: ConnectionTarget
): Promise<{ pid: number; viaPooler: boolean }> {
  const pid = await backendPid(client)
  if ((client as unknown as { processID: number | null }).processID === pid) return { pid, viaPooler: false }
  const other = await connectClient(target)
  try {
    for (let round = 0; round < POOLING_PROBES; round++) {
      const before = await backendPid(client)
      try {
        await other.query('BEGIN')
      } catch (error) {
        if (/statement pooling/i.test(messageOf(error))) throw transactionPoolingError(target, 'it pools statements')
        throw error
      }
      const others = await backendPid(other)
      const after = await backendPid(client)
      await other.query('ROLLBACK')
      if (others === before) {
        throw transactionPoolingError(target, `a second session was handed server process ${before} while the first was idle`)
      }
      if (after !== before) throw transactionPoolingError(target, `a session moved from server process ${before} to ${after}`)
    }
  } finally {
    await other.end().catch(() => undefined)
  }
  return { pid: await backendPid(client), viaPooler: true }
}

async function backendPid(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ pid: number }>('SELECT pg_catalog.pg_backend_pid() AS pid')
  return rows[0].pid
}

function transactionPoolingError(target: ConnectionTarget, evidence: string): UserError {
  return new UserError(
    `The connection pooler at ${target.host}:${target.port} ('${target.inputName}') does not keep a client on one server ` +
      `connection (${evidence}): in transaction or statement pooling, session settings and the exported snapshot that ` +
      `pg_dump and Lazarus share do not hold. Use a pool in session mode (PgBouncer: pool_mode = session) or connect to ` +
      `the server directly.`
  )
}

/**
 * Timeouts a role or database may set (`ALTER ROLE app SET statement_timeout = '30s'` is common on
 * production) that would cancel a checksum of a large table, or end the snapshot's session while
 * it waits for pg_dump, and so turn a faithful backup into a mismatch or an error. pg_dump turns
 * the same ones off for its own session. Set through pg_settings: each exists from some major on
 * (idle_session_timeout 14, transaction_timeout 17). Lazarus bounds its own waits instead (the
 * lock timeout below, and each check's statement timeout).
 */
const UNBOUNDED_TIMEOUTS_SQL = `SELECT pg_catalog.set_config(name, '0', false) FROM pg_catalog.pg_settings
WHERE name IN ('statement_timeout', 'idle_in_transaction_session_timeout', 'idle_session_timeout', 'transaction_timeout')`

/** Statements that give a session of this role its settings. */
function sessionSettingsSql(role: Role): string {
  if (role !== 'production') return UNBOUNDED_TIMEOUTS_SQL
  return [
    UNBOUNDED_TIMEOUTS_SQL,
    'SET default_transaction_read_only = on',
    `SET lock_timeout = ${quoteLiteral(`${DatabaseSession.limits.lockTimeoutSeconds}s`)}`,
    'SET max_parallel_workers_per_gather = 0'
  ].join('; ')
}

/** node's codes for a server certificate that failed verification. */
const CERTIFICATE_ERRORS =
  /CERT|SELF_SIGNED|UNABLE_TO_(GET_ISSUER|VERIFY)|ERR_TLS_CERT_ALTNAME_INVALID|HOSTNAME_MISMATCH|UNABLE_TO_GET_CRL|CRL/

/** Turns a failed connection into a message that says what to fix. */
function connectionError(target: ConnectionTarget, error: unknown): Error {
  const code = (error as { code?: string }).code
  const message = messageOf(error)
  const where = `${target.host}:${target.port}`
  const input = `'${target.inputName}'`
  const passwordInput = `'${target.inputName.replace(/-url$/, '-password')}'`
  const user = target.user ?? ''
  switch (code) {
    case '28P01':
      return new UserError(
        `Password authentication failed for user '${user}' at ${where} (${input}): check the password ` +
          `(in ${passwordInput}, the URI or PGPASSWORD) and the user name.`
      )
    case '28000':
      return new UserError(
        `The server at ${where} refused user '${user}' (${input}): ${message}. Check the user name and the server's pg_hba.conf.`
      )
    case '3D000':
      return new UserError(`Database '${target.database}' does not exist at ${where}: fix the database name in ${input}.`)
    case 'ECONNREFUSED':
      return new UserError(`Connection refused at ${where} (${input}): check the host and port, and that the server is running.`)
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new UserError(`Host '${target.host}' in ${input} could not be resolved: check the host name.`)
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new UserError(`No route to ${where} (${input}): check the host, and that the runner can reach its network.`)
    case '08P01':
      if (/unsupported startup parameter/i.test(message)) {
        return new UserError(
          `The server at ${where} (${input}) refused the connection: ${message}. A connection pooler (PgBouncer) refuses ` +
            `startup parameters it does not know: remove that parameter from the URI, or list it in the pooler's ignore_startup_parameters.`
        )
      }
  }
  if (CERTIFICATE_ERRORS.test(code ?? '')) {
    return new UserError(
      `The server's certificate at ${where} failed verification under sslmode=${target.tls.mode} (${input}): ${message}. ` +
        `Check sslrootcert (the CA that signed the server's certificate)${target.tls.mode === 'verify-full' ? ' and that the certificate names the host' : ''}, ` +
        `or choose an sslmode that checks less.`
    )
  }
  if (/does not support SSL/i.test(message)) {
    return new UserError(
      `The server at ${where} does not accept TLS connections, but ${input} has sslmode=${target.tls.mode}: ` +
        `enable ssl on the server, or use sslmode=prefer or disable.`
    )
  }
  if (/password must be a (non-empty )?string/i.test(message)) {
    return new UserError(
      `The server at ${where} asks user '${user}' for a password and none was given: set ${passwordInput}, ` +
        `put the password in the URI (${input}), or set PGPASSWORD.`
    )
  }
  if (/timeout/i.test(message)) {
    return new UserError(
      `No answer from ${where} within ${target.connectTimeoutSeconds} s (${input}): check the host, the port, ` +
        `and that a firewall lets the runner through.`
    )
  }
  if ((error as { severity?: string }).severity) {
    // The server (or a pooler in front of it) answered: something listens there, and said why it refused.
    return new UserError(`The server at ${where} refused the connection (${input}): ${message}.`)
  }
  if (/SSL|TLS/i.test(message)) {
    return new UserError(`Could not set up TLS with ${where} under sslmode=${target.tls.mode} (${input}): ${message}.`)
  }
  return new UserError(
    `Could not connect to ${where} (${input}): ${message}. Check that a PostgreSQL server listens at that host and port.`
  )
}
