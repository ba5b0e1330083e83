/**
 * The engine seam: what a run needs of a database engine, in engine-neutral terms. Types only.
 * An engine is one folder under src/engines/ (postgres/, mysql/) exporting one `Engine`; the map
 * in engines/index.ts chooses it by the URL's scheme. Everything that knows a dialect, a catalog,
 * a driver or a client program stays behind this interface.
 *
 * Each engine keeps its own shapes for what only it reads (a connection target with its TLS and
 * tuning parameters, a table reference with its column hashing, its client programs), so the
 * interface is generic over them; the shapes that reach the comparison and the report are the
 * neutral ones below.
 */
import type { TableName } from '../util/table-name.js'
import type { CheckSide, RowDiffSide, SequenceBehindData, SequenceValue } from './reads.js'

/** Which server a session is on: production is only ever read; the clean room is Lazarus's to write. */
export type ServerRole = 'production' | 'cleanroom'

/** One table's figures on one side: `rows` and `checksum` undefined when not read; `error` says why. */
export interface TableFigures {
  rows?: number
  checksum?: string
  error?: string
}

/** What a server says about itself, for the report, the choice of client programs and the same-server guard. */
export interface ServerFacts {
  /** As the server reports it, e.g. "13.23". */
  version: string
  major: number
  /** The product as the server names itself, e.g. "MariaDB" or "MySQL": never decided by the URL's scheme. */
  product: string
  /**
   * What tells this server apart from every other server, as named values: two sessions on one
   * server always read the same values, so a difference in any value proves two servers
   * (e.g. MySQL's server_uuid; MariaDB's hostname, port and datadir).
   */
  instance: Record<string, string>
  /** Whether the session that read these facts is encrypted (TLS): ssl-mode=preferred tells the client programs to match it. */
  encrypted?: boolean
}

/** Production's database defaults, so that the scratch database is created like it. */
export interface DatabaseDefaults {
  /** e.g. utf8mb4, UTF8 */
  characterSet: string
  /** e.g. utf8mb4_general_ci; PostgreSQL's LC_COLLATE, e.g. en_US.UTF-8 */
  collation: string
  /**
   * PostgreSQL's LC_CTYPE (character classes, upper and lower case), which it keeps apart from the
   * collation; undefined where an engine has no such setting (MySQL), or it is the collation's.
   */
  characterType?: string
}

/**
 * One schema object as the fingerprint reads it. `name` never includes the database name (the
 * restored copy lives under another one); `definition` is compared as text.
 */
export interface SchemaObject {
  /** table, column, index, constraint, view, routine, trigger, event, ... */
  kind: string
  name: string
  definition: string
}

/** A schema object that differs (report.ts's SchemaDifference has the same shape): null where it does not exist. */
export interface SchemaObjectDifference {
  kind: string
  name: string
  production: string | null
  restored: string | null
}

/**
 * A session that reads: production's, or a restored copy's. Production's sessions are only this:
 * nothing in the type creates, marks or drops a database, so a run cannot aim such a statement at
 * production (SeamMaintenance, the clean room's handle, adds that). The snapshot protocol: `beginSnapshot()` on the
 * first production session takes the engine's brief global lock (MySQL: FLUSH TABLES WITH READ
 * LOCK on a connection of its own) and starts its consistent snapshot; every other session
 * `joinSnapshot(id)`s while the lock is held; the dump starts its own snapshot; then
 * `releaseSnapshotLock()` on the first session lets production's writers go on. A session that
 * joins after the release fails (its snapshot would be later than the dump's).
 */
export interface SeamSession<Table extends TableName = TableName> {
  /** Applies the settings every figure is computed under (time zone, encodings, formats...). */
  pinSettings(): Promise<void>
  /** Starts the snapshot every session reads and returns its id, for the dump and the other sessions to join. */
  beginSnapshot(): Promise<string>
  /** Joins the snapshot another session began, so that every session reads the same instant. */
  joinSnapshot(snapshotId: string): Promise<void>
  /**
   * Ends the snapshot once everything in it is read (PostgreSQL: its read-only transaction), where
   * it would otherwise stay open until the session closes; absent where the run's end ends it.
   */
  endSnapshot?(): Promise<void>
  /** The tables that hold rows, with what the engine needs to read them. */
  listTables(): Promise<Table[]>
  /** Row counts, and content checksums when asked, one per table in the order given. */
  tablesFigures(tables: Table[], withChecksum: boolean, inTransaction: boolean): Promise<TableFigures[]>
  close(): Promise<void>
  /** What the server is (product, version, instance), read once on connect. */
  facts(): Promise<ServerFacts>
  /** The connected database's default character set and collation. */
  databaseDefaults(): Promise<DatabaseDefaults>
  /** The collations this server knows (the sanitizer rewrites only those the clean room lacks). */
  collations(): Promise<string[]>
  /** The schema fingerprint of the connected database (inside the snapshot on production). */
  readSchema(): Promise<SchemaObject[]>
  /**
   * Every counter of the connected database (MySQL: each table's AUTO_INCREMENT, as a sequence
   * whose next value is `lastValue`, not called), as it stands now: counters are not
   * transactional. verification/sequence-check.ts compareSequences judges them like sequences.
   * Inside production's snapshot, no lock the read takes outlives it (a sequence's, a table's
   * metadata lock): production's DDL is never held up by it.
   */
  readCounters(): Promise<SequenceValue[]>
  /** Counters whose next value their column already holds (asked of the restored copy and of production). */
  countersBehindData(): Promise<SequenceBehindData[]>
  /**
   * Each table's key for the row diff: its primary key or, failing that, a unique index over NOT
   * NULL columns, by tableKey() of the table as listTables() names it.
   */
  primaryKeys(): Promise<Map<string, string[]>>
  /**
   * Ends the brief global lock beginSnapshot() took, once the dump's own snapshot has begun.
   * Throws when the lock was lost before (its connection ended): then nothing proves that the
   * dump saw the same data, and the run must not give a verdict. A no-op when there is no lock
   * or it was released already. Resolves to how long production's writers waited on the lock, in
   * seconds (from asking for it to its release); undefined when there was none to release.
   */
  releaseSnapshotLock(): Promise<number | undefined>
  /**
   * The tables whose writes no consistent snapshot isolates (MySQL: MyISAM, Aria, MEMORY and the
   * other non-transactional engines). While production holds any, the run keeps the snapshot lock
   * through the whole dump and reads production's figures before releasing it: the lock is then
   * the only thing that holds their data still.
   */
  outsideSnapshot(tables: Table[]): Table[]
  /**
   * Runs `work` so that a failing statement in it leaves production's snapshot usable (PostgreSQL:
   * a savepoint, since a failed statement aborts the transaction that holds the snapshot); absent
   * where a failed statement leaves the snapshot as it was (MySQL), and the run reads as it is.
   */
  withSavepoint?<T>(work: () => Promise<T>): Promise<T>
  /** Answers at once when the server is alive (the run's watchdog). */
  ping(): Promise<void>
  /** Drops the connection without a word to the server (which may not be answering). */
  abandon(): void
}

/** The clean room's maintenance handle over the seam: the only handle that may create, mark or drop a database. */
export interface SeamMaintenance<Table extends TableName = TableName> extends SeamSession<Table> {
  /** Whether the connected account may create (and drop) databases, and who it is. */
  canCreateDatabases(): Promise<{ role: string; allowed: boolean; hint?: string }>
  /**
   * Creates an empty database with production's defaults (the clean room's default where it lacks
   * the collation: `collationFallback`). Throws a ScratchNameTaken (util/errors.ts) when a database
   * of that name exists already: it is not this run's, and must never be marked or dropped as if it
   * were. Any other error may come after the server made the database: the run still drops it.
   */
  createScratchDatabase(name: string, defaults: DatabaseDefaults): Promise<ScratchCreated>
  /** Marks a database as Lazarus's, so that only marked databases are ever dropped; the mark never shows in a comparison. */
  markScratchDatabase(name: string, marker: string): Promise<void>
  /** The mark on a database, or undefined (none, or no such database). */
  scratchMarker(name: string): Promise<string | undefined>
  databaseExists(name: string): Promise<boolean>
  /**
   * Drops a database, with whatever inside it would keep a plain DROP DATABASE from running
   * (PostgreSQL: a restored subscription), never reaching beyond the clean room to do so.
   */
  dropDatabase(name: string): Promise<void>
}

/** How a scratch database was created. */
export interface ScratchCreated {
  /** The clean room lacks production's collation (or locale), and the database uses another. */
  collationFallback: boolean
  /**
   * When it does, in the engine's words: what it lacks and what the database uses instead (e.g.
   * "locale 'de_DE.UTF-8'" and "C"); without them the clean room says "collation <name>" and "its default".
   */
  fallback?: { lacking: string; using: string }
}

/**
 * What an engine keeps in the clean room beside the scratch databases, global to the server:
 * PostgreSQL's roles (the roles production names, their stand-ins, the run's own restore role).
 * An optional capability: an engine without it (MySQL) leaves none. The clean room (run/cleanroom.ts)
 * drops a run's roles after its scratch databases, which may depend on them; the roles are
 * recorded for the post step (util/leftovers.ts), which drops what a killed run left.
 */
export interface CleanroomRoles<M = SeamMaintenance, R extends RunRoles = RunRoles> {
  /** Who may restore a dump (input restore-role), the default first. */
  readonly restoreRoleModes: readonly string[]
  /** The roles of one run, created as it needs them over its maintenance handle. */
  forRun(maintenance: M, runId: string): R
  /** The post step: drops the roles a killed run left, by name; only Lazarus's (marked) ones; never throws. */
  dropLeftovers(maintenance: M, names: string[]): Promise<void>
}

/** One run's roles in the clean room. */
export interface RunRoles {
  /** Drops every role of the run that nothing depends on any more, after its scratch databases; never throws. */
  dropAll(): Promise<void>
}

/** One program of the streamed pipeline, as it ended. */
export interface StageOutcome {
  /** `keep` writes a kept copy of the dump (a restore point); `convert` turns a kept archive back into the restored text. */
  stage: 'dump' | 'keep' | 'convert' | 'sanitize' | 'rewrite' | 'restore'
  /** The program's path, for the report and messages. */
  program: string
  /** Its exit status; null when it was killed or never ran. */
  exitCode: number | null
  /** What it wrote to stderr (bounded), passwords never in it. */
  stderr: string
}

/**
 * How a streamed dump | sanitize | restore (or a restore of a kept dump) ended. `Detail` is what
 * only one engine tells of it (EngineShapes' streamDetail: PostgreSQL's failed program and its
 * error, a failure of the servers' rather than the backup's, the place a restore stopped in a
 * kept archive); the run reads only the neutral fields.
 */
export interface StreamOutcome<Detail = unknown> {
  /** Every stage exited 0. */
  ok: boolean
  stages: StageOutcome[]
  /** Bytes of the (sanitized) dump that went through. */
  dumpBytes: number
  /** For a failed restore: where the client stopped, after "The restore stopped", e.g. "while restoring TABLE DATA public.orders". */
  failedAt?: string
  /**
   * Objects the sanitizer restored unable to run by themselves (MySQL: events restored DISABLE ON
   * SLAVE), by kind and name as the schema fingerprint names them: diffSchema compares their
   * status as the dump wrote it.
   */
  restoredDisabled?: { kind: string; name: string }[]
  /** Seconds from the stream's start until each program ended (the stages overlap). */
  seconds?: Partial<Record<StageOutcome['stage'], number>>
  /** When the stream started, and when the restore program started (it may wait for its database), in seconds since the epoch. */
  startedAt?: number
  restoreStartedAt?: number
  /**
   * When the restore stopped on the dump (the backup does not restore): why, in the engine's
   * words (psql's error whole; the MySQL client's last line), for the verdict.
   */
  restoreError?: string
  /**
   * A failed stream's failure that is not the backup's (a server's, the setup's, a full disk), in
   * one clear message: the run raises it rather than judging the backup. Absent when the restore
   * stopped on the dump (the backup does not restore) or the stream did not fail.
   */
  fault?: Error
  /**
   * The dump could not join the run's snapshot because the session that held it ended: whatever
   * ended that session (the run's own error there) is the cause to raise, not the dump's failure.
   */
  snapshotLost?: boolean
  /** The engine's own account of the stream (its shape is the engine's: EngineShapes' streamDetail). */
  detail?: Detail
}

/** One sanitizer rule that changed the dump (the report's `sanitized` entries). */
export interface SanitizedConstruct {
  /** What it changed, e.g. "DEFINER clauses". */
  parameter: string
  /** The rule's id, e.g. "definer". */
  rule: string
  /** Lines it removed or rewrote. */
  lines: number
}

/**
 * A difference of the two servers rather than of the backup, reported as such (the report's
 * `environment`): PostgreSQL's extension that the clean room restores at another version than
 * production's. The schema comparison leaves out the difference it causes.
 */
export interface EnvironmentDifference {
  kind: 'extension'
  name: string
  production: string
  cleanroom: string
  /** Why, in words: what the restore installs and whether production's version could be installed. */
  detail: string
}

/** What a run's sanitizer is built from (SanitizerCapability). */
export interface SanitizerRequest<Tools = unknown> {
  /** The client programs that restore the sanitized dump (what they understand decides what is removed). */
  tools: Tools
  /** The path of a work file of the run's workspace, by name: the program and what it records go there. */
  workFile(name: string): string
  /**
   * Production's session, for a fresh dump: the sanitizer reads there what the dump is written
   * under (PostgreSQL: standard_conforming_strings; MySQL: its server's release and its database's name).
   */
  production?: SeamSession
  /** For a stored dump (no production session): whether its strings were written with standard_conforming_strings on, as its preamble says. */
  standardConformingStrings?: boolean
  /** Also keep a copy of the sanitized dump here (the drill's copies are made from it). */
  copyFile?: string
  /** Write the dump's line index here (where a failed restore stopped is found in it). */
  linesFile?: string
  /** Route the dump's ownership and privilege statements to this file (replayed apart after the restore). */
  routedFile?: string
  /** Route only those naming these roles (the predefined roles the clean room lacks); all of them when absent. */
  routedRoles?: string[]
}

/** One run's sanitizer: its program, and what it did once the stream has run. */
export interface Sanitizer {
  /** The program of the first pipeline (DumpRestoreRequest's `sanitizer`), as written to its file. */
  program: string
  /** Where it keeps a copy of the sanitized dump, when asked to (DumpRestoreRequest's `keepDumpAt`). */
  copyFile?: string
  /** The clean room's major version, which the program was built for. */
  cleanroomMajor: number
  /** Every rule that changed the dump, with the lines it removed (the report's `sanitized`). */
  removed(): SanitizedConstruct[]
  /** The refusal (one line, for a UserError) for a construct no rewrite restores faithfully, when one stopped the stream. */
  stopped(): string | undefined
  /** The files the pipelines routed the dump's ownership and privilege statements to, in pipeline order. */
  routedFiles(): string[]
  /**
   * Production's collations this sanitizer rewrites to the clean room's (MySQL 8's utf8mb4_0900_*
   * on a MariaDB clean room), which the schema comparison then counts as the same; absent when it
   * rewrites none, and every collation is compared as it is.
   */
  collationsRewritten?: ReadonlyMap<string, string>
}

/** Builds one run's sanitizer from what the clean room knows (SanitizerRequest). */
export interface SanitizerCapability<Tools = unknown> {
  build(cleanroom: SeamMaintenance, request: SanitizerRequest<Tools>): Promise<Sanitizer>
}

/**
 * A fresh dump of production streamed through the run's sanitizer into a scratch database (the
 * engine's streamDumpToRestore), in the run's terms: each engine takes what its dump and restore
 * need of it and leaves the rest (MySQL's dump starts its own snapshot under the lock and has no
 * location check; PostgreSQL's joins the exported one and runs the check first).
 */
export interface DumpRestoreRequest<S extends EngineShapes = EngineShapes> {
  tools: S['tools']
  production: S['target']
  /**
   * Production's snapshot as the run began it (SeamSession.beginSnapshot): the session that holds
   * it, which the engine may ask more of (PostgreSQL: whether a pooler is in front, the locks that
   * hold the dump up), and its id, which a dump that joins it (PostgreSQL's exported snapshot) names.
   */
  snapshot: { session: SeamSession<S['table']>; id: string }
  /** The scratch database on the clean room (engine.withDatabase), as the restore connects to it. */
  restoreInto: S['target']
  /**
   * Settles once the scratch database exists and is ready for the restore (the roles it needs,
   * the restore role admitted): the restore program starts only then. When it rejects, the
   * restore never runs and the stream throws its error.
   */
  restoreTargetReady: Promise<unknown>
  /** The run's sanitizer (Engine.sanitizer), built for this stream: its program, and the copy of the sanitized dump it keeps (`copyFile`). */
  sanitizer: Sanitizer
  /** The run's work directory: the stream's own files (option files, scripts, stderr) go there, and it removes them. */
  workDir: string
  /** The restore's location check (Engine.locationCheck), which the restore program runs first, where the engine has one. */
  checkFile?: string
  /** Dump owners and privileges too: only when the clean room provides every role they name (OwnersPlan.restore). */
  withOwnersAndPrivileges: boolean
  /** Production's database's defaults: its character set is the dump's (a failed restore's place is read in it). */
  defaults: DatabaseDefaults
  /** Parallel work where the engine's dump or restore takes it (input jobs): a restore point's parallel format. */
  jobs: number
  /** The programs' safeguards (lock-timeout-seconds, server-timeout-seconds). */
  limits: { lockTimeoutSeconds: number; serverTimeoutSeconds: number }
  /** Also keep the dump as a restore point (RestorePointsCapability), in its format, from the same dump. */
  keep?: KeptBackup
  /**
   * Called once, as soon as the dump's own snapshot has begun or the dump ended, whichever is
   * first: the run releases production's snapshot lock then (where the engine takes one).
   */
  onDumpSnapshotStarted(): Promise<void>
  /** Called once, when the dump program ended (the restore may go on), with whether it succeeded: production's figures are read from then on. */
  onDumpEnded(succeeded: boolean): void
}

/**
 * A kept sanitized dump restored into a scratch database as it is: a drill's copy is rewritten
 * beforehand, once, by drill/rewrite.ts (run/drill-copies.ts), never by the restore.
 */
export interface RestoreFileRequest<S extends EngineShapes = EngineShapes> {
  tools: S['tools']
  file: string
  restoreInto: S['target']
  workDir: string
  /** What only this engine's restore takes, in its own shape (restoreOptions: PostgreSQL's location check). */
  options?: ShapeOf<S, 'restoreOptions'>
}

/**
 * The shapes only one engine knows: its connection target (with its TLS and tuning parameters),
 * its table reference (with how each column is hashed), its client programs, its sanitizer's
 * options, and the drill's catalog and dump rewriters. The run passes them from one engine call
 * to the next without looking inside.
 */
export interface EngineShapes {
  target: unknown
  table: TableName
  tools: unknown
  drillCatalog: unknown
  /** What only this engine's restore of a kept dump takes (RestoreFileRequest's `options`), if anything. */
  restoreOptions?: unknown
  /** What only this engine tells of how a stream ended (StreamOutcome's `detail`), if anything. */
  streamDetail?: unknown
  /**
   * What the inputs choose in this engine's own terms, if it takes them (run/settings.ts reads each
   * through the capability that gives its meaning): a drill operator (sabotage), who restores
   * (restore-role: cleanroomRoles).
   */
  drillOperator?: string
  restoreRole?: string
  /** The formats a restore point is kept in, and its compression (RestorePointsCapability), if the engine keeps any. */
  keptFormat?: string
  compression?: unknown
  /** The client programs that restore a stored backup (RestorePointsCapability), when not `tools`. */
  restoreTools?: unknown
}

/** An engine's shape `K` (EngineShapes' optional ones), or `Otherwise` when the engine has none. */
export type ShapeOf<S, K extends string, Otherwise = never> = S extends { [P in K]: infer T } ? T : Otherwise

/** One database engine, as the run calls it. */
export interface Engine<S extends EngineShapes = EngineShapes> {
  /** Plain name for messages: "MySQL/MariaDB" (the server's own product name is in ServerFacts). */
  readonly name: string
  readonly schemes: readonly string[]
  /** Parses and vets a connection URL from an input; throws one clear line naming the input on a bad one. */
  parseUrl(inputName: string, url: string, password?: string): S['target']
  /** How messages name the URL it takes: "a postgresql:// URI" ("Input 'production-url' is required: set it to ..."). */
  readonly urlForm: string
  /** user@host:port/database for logs and reports: never a password. */
  describe(target: S['target']): string
  /**
   * Where a target is, for naming the run's history and artifact (never for connecting). Without
   * it, the URL says, as written (the port 0 when left to the default).
   */
  address?(target: S['target']): ServerAddress
  /** The input naming the directory of its client programs ('postgres-bin-dir'), the only such input it takes. */
  readonly binDirInput: string
  /** The environment its client library and programs read defaults from (PostgreSQL: libpq's PG* variables); none when absent. */
  readonly clientEnvironment?: ClientEnvironment
  /** Every form of the target's secret that could show up somewhere: register each with setSecret. */
  secretsOf(target: S['target']): string[]
  /** The run's limits for every session it opens from now on (inputs lock-timeout-seconds, server-timeout-seconds). */
  setLimits(limits: { lockTimeoutSeconds: number; serverTimeoutSeconds: number }): void
  /** The database `database` on the same server; its tables are reported under `reportAs` (production's database name). */
  withDatabase(target: S['target'], database: string, reportAs?: string): S['target']
  openRead(target: S['target'], role: ServerRole): Promise<SeamSession<S['table']>>
  /**
   * Whether production's snapshot holds its writers until the dump's own snapshot has begun (MySQL:
   * the global read lock beginSnapshot takes): the run then has the scratch database created
   * before it begins the snapshot, so that writers never wait on the clean room. False where the
   * dump joins a snapshot that holds nobody up (PostgreSQL's exported one): the database is
   * created meanwhile, and the restore waits for it.
   */
  readonly snapshotHoldsWriters: boolean
  openMaintenance(target: S['target']): Promise<SeamMaintenance<S['table']>>
  /** What the engine keeps in the clean room beside its scratch databases (PostgreSQL: roles); none when absent. */
  readonly cleanroomRoles?: CleanroomRoles
  /**
   * Drops every session this engine has open but `keep`, at once, and every connection still being
   * made, and refuses to open more: a run that must stop now (a server stopped answering, a
   * cancelled workflow) leaves no work waiting on a server. Without it, the run abandons the
   * sessions it opened one by one.
   */
  abandonAll?(keep: SeamSession<S['table']>[]): void
  /**
   * The size on disk of the database `target` names, in bytes, read on a session of its own (a
   * restore's progress line); absent where the engine cannot tell, and the run shows no size.
   */
  databaseBytes?(target: S['target']): Promise<number>
  /**
   * The refusal (one line, for a UserError) when the clean room's account `role`, at `where`
   * (engine.describe), cannot create databases: what to grant it, in the engine's words, with the
   * maintenance handle's `hint` (SeamMaintenance.canCreateDatabases) when it gave one.
   */
  cannotCreateDatabases(role: string, where: string, hint?: string): string
  /**
   * Refuses (one clear UserError) a clean room that is production's server by the URLs alone
   * (same host and port), before anything connects; assertSeparateServers checks again once connected.
   */
  assertSeparateTargets(production: S['target'], cleanroom: S['target']): void
  /** Refuses (one clear UserError) a clean room that is production's server: by URL, then by what the servers say. */
  assertSeparateServers(production: SeamSession<S['table']>, cleanroom: SeamSession<S['table']>): Promise<void>
  /**
   * The schema objects that differ, restored against production (pure). `collationsRewritten`:
   * production's collations the sanitizer rewrote to the clean room's (e.g. utf8mb4_0900_ai_ci to
   * utf8mb4_uca1400_ai_ci), which then count as the same; the report lists the rewrite.
   * `restoredDisabled` (StreamOutcome): objects the sanitizer made unable to run, whose restored
   * status is compared as the dump wrote it (an event restored DISABLE ON SLAVE counts as ENABLE).
   */
  diffSchema(
    production: SchemaObject[],
    restored: SchemaObject[],
    collationsRewritten?: ReadonlyMap<string, string>,
    restoredDisabled?: readonly { kind: string; name: string }[]
  ): SchemaObjectDifference[]
  /**
   * One side's reads of a table's rows for verification/row-diff.ts pinDifferingRows: `table` is
   * production's (its columns), `key` production's primaryKeys() entry (undefined: none).
   */
  rowDiffSide(session: SeamSession<S['table']>, table: S['table'], key: string[] | undefined): RowDiffSide
  /** Finds the client programs (dump and restore) for these two servers; binDir is the `mysql-bin-dir` input. */
  findClientTools(production: ServerFacts, cleanroom: ServerFacts, binDir?: string): Promise<S['tools']>
  /**
   * The dump and restore programs findClientTools found, as the log and the report name them;
   * undefined when the tools do not say which they are (then neither names them).
   */
  clientPrograms(tools: S['tools']): ClientPrograms | undefined
  /**
   * What the run reads of a listed table beyond its name, where the engine knows it; absent: every
   * table is read alike, in the order listed.
   */
  tableTraits?(table: S['table']): TableTraits
  /**
   * Runs the row diff's reads of one table (`read`, on both sides) inside whatever the engine
   * needs around them (PostgreSQL: a savepoint on production's snapshot, and every row of the
   * restored copy visible where row-level security is forced); absent: the reads run as they are.
   */
  aroundRowReads?<T>(
    production: SeamSession<S['table']>,
    restored: SeamSession<S['table']>,
    table: S['table'],
    read: () => Promise<T>
  ): Promise<T>
  /**
   * The run's sanitizer, built over its work files from what the clean room knows (and what the
   * dump is written under), and read back once the stream has run: what it removed or rewrote,
   * what stopped it (PostgreSQL's sed filter, run by every pipeline of a sectioned restore, each
   * recording what it removed; MySQL's, which also rewrites collations the clean room lacks).
   */
  readonly sanitizer: SanitizerCapability<S['tools']>
  /** dump | sanitize | restore, streamed; per-stage outcome. */
  streamDumpToRestore(request: DumpRestoreRequest<S>): Promise<StreamOutcome<ShapeOf<S, 'streamDetail', unknown>>>
  /** A kept dump (a drill's copy, already rewritten) restored, streamed. */
  restoreDumpFile(request: RestoreFileRequest<S>): Promise<StreamOutcome<ShapeOf<S, 'streamDetail', unknown>>>
  /** The drill: what production's catalog offers to corrupt, inside its snapshot. */
  readDrillCatalog(session: SeamSession<S['table']>, rowCounts: Map<string, number>): Promise<S['drillCatalog']>
  /** The drill operators this engine offers (drill/plan.ts's names where the meaning is the same). */
  readonly drillOperators: readonly string[]
  /**
   * One operator aimed at one object of the catalog, or, when nothing there can take it, why not
   * (what the operator needs and that this schema has none of it), decided in one place so that
   * the reason is always the planner's own.
   */
  planDrill(operator: string, catalog: S['drillCatalog']): SeamDrillPlan | SeamDrillNoTarget

  // What only some engines do: each capability is there or not, and the run asks for it where it
  // needs it (`if (engine.largeObjects)`). An engine without one has nothing of the kind to read.

  /** Large objects: data outside every table, compared beside the schema. */
  readonly largeObjects?: LargeObjectsCapability<S['table']>
  /** The user's checks (input checks): queries answered alike on production and the restored copy. */
  readonly userChecks?: UserChecksCapability<S['table']>
  /** An index and heap checker for the restored copy (input amcheck). */
  readonly amcheck?: AmcheckCapability<S['table']>
  /** Definitions two servers of different majors print differently though they mean the same. */
  readonly crossMajor?: CrossMajorCapability<S['table']>
  /** What the run's watchdog asks production beyond a ping: Lazarus's sessions stuck behind another's lock. */
  readonly lockWatch?: LockWatchCapability<S['table']>
  /**
   * Restore points (inputs backup-dir, upload-dump, backup-format, backup-compression): the
   * verified dump kept with its manifest; and stored backups (backup-path): a kept one verified
   * later. An engine without it refuses those inputs.
   */
  readonly restorePoints?: RestorePointsCapability<
    S['table'],
    S['tools'],
    ShapeOf<S, 'keptFormat', string>,
    ShapeOf<S, 'compression', unknown>,
    S['target'],
    ShapeOf<S, 'restoreTools', S['tools']>
  >
  /**
   * What the engine checks of both servers before anything is dumped, beyond the seam's guards:
   * the servers it can read, the clean room's environment against production's, and what
   * production holds that the clean room's version rejects (version skew).
   */
  readonly serverChecks?: ServerChecksCapability<S['table'], S['target']>
  /** Owners, privileges and the roles they name: who restores, which roles the clean room provides, their comparison. */
  readonly ownersAndPrivileges?: OwnersAndPrivilegesCapability<S['table'], S['target'], S['tools'], S['drillCatalog']>
  /**
   * What only this engine does for each of the drill's copies beyond planning and restoring it:
   * the rewriters' evidence decoded, and the copy's restore options.
   */
  readonly drillCopies?: DrillCopiesCapability<S['target'], ShapeOf<S, 'restoreOptions', unknown>>
  /** What a restore program runs first, which stops it unless it reached the scratch database on the checked clean room. */
  readonly locationCheck?: LocationCheckCapability<S['target']>
}

/**
 * A restore's location check (PostgreSQL): the restore program connects by itself, from the same
 * vetted target as Lazarus's own sessions; defence in depth, the first thing it runs proves that
 * it landed where they checked, and stops it before anything of the dump runs otherwise. The run
 * writes it to a work file the engine's restore runs first.
 */
export interface LocationCheckCapability<Target = unknown> {
  /** The check for a restore into `target`, on the clean room whose facts' `instance` is `cleanroom` (read as the same-server guard ran). */
  sql(target: Target, cleanroom: ServerFacts['instance']): string
}

/** A client program a run found, for the log and the report. */
export interface ClientProgram {
  /** Its own name, e.g. "pg_dump", "mariadb-dump". */
  name: string
  path: string
  /** As the program reports it. */
  version: string
  /** Its major version, as the engine reads it from `version`. */
  major: number
}

/** The dump and restore programs of a fresh run (Engine.clientPrograms). */
export interface ClientPrograms {
  dump: ClientProgram
  restore: ClientProgram
  /**
   * The report lists them under their own names (its `tools`: pg_dump and psql, as it always has
   * for PostgreSQL, whose stored backups list pg_restore there too) rather than by what they do
   * (its `programs`: the dump and the restore).
   */
  byName?: boolean
}

/** What the run reads of a listed table beyond its name (Engine.tableTraits). */
export interface TableTraits {
  /** Its size on disk: the largest tables are read first, the small ones several a statement. */
  bytes?: number
  /** Its rows are derived, not backed up (a materialized view): never read, reported as such. */
  derived?: boolean
  /** It stands for its whole partition tree, whose rows are compared as one. */
  wholeTree?: boolean
  /** Its rows cannot be read at all (a materialized view created WITH NO DATA): no row of it is pinned. */
  unreadable?: boolean
}

/** Where a server's database is, as the run's history and artifact name it. */
export interface ServerAddress {
  host: string
  port: number
  database: string
}

/** The environment variables an engine's client library and programs read as defaults (PostgreSQL: PGHOST, PGPASSWORD...). */
export interface ClientEnvironment {
  /** The variable a password is taken from when neither the URL nor its password input gives one (PGPASSWORD). */
  readonly passwordVariable: string
  /**
   * Removes them from this process once the inputs are read, so that nothing but the inputs
   * decides where and how a session or a client program connects.
   */
  forget(env?: NodeJS.ProcessEnv): void
}

/** One of Lazarus's sessions stuck behind another session's lock, as a probe found it. */
export interface LockWait {
  /** What it waits for, e.g. "table public.orders". */
  waitingFor: string
  /** The sessions that block it, e.g. "4711, 4712"; empty when unknown. */
  blockers: string
}

/**
 * The watchdog's look at production's locks (PostgreSQL: pg_locks). A dump that waits on a lock
 * nothing else bounds (pg_dump bounds only its first LOCK TABLE pass) would wait as long as the
 * other transaction lasts; the watchdog stops the run instead, naming the lock.
 */
export interface LockWatchCapability<Table extends TableName = TableName> {
  /** How an error names the probe's question, e.g. "a probe (SELECT 1)". */
  readonly probe: string
  /** Lazarus's sessions on this session's database that have waited on a lock longer than `seconds`. */
  lockWaits(session: SeamSession<Table>, seconds: number): Promise<LockWait[]>
  /** Why such a lock blocks the run, and what holds it: the engine's words, for the error. */
  readonly lockAdvice: string
}

/** Large objects (PostgreSQL): data outside every table, compared as schema objects of a kind of their own. */
export interface LargeObjectsCapability<Table extends TableName = TableName> {
  /** Each large object (its id, size and a digest of its content) as a schema object, sorted. */
  read(session: SeamSession<Table>): Promise<SchemaObject[]>
}

/** The user's checks (verification/checks.ts): each side's reads of a check's answer, and how the engine's SQL reads. */
export interface UserChecksCapability<Table extends TableName = TableName> {
  /** The checks' reads on this session (pinned; production's inside the dump's snapshot). */
  side(session: SeamSession<Table>): CheckSide
  /** The engine's SQL, as far as the checks file (verification/checks-file.ts) and the answers' display need it. */
  readonly dialect: CheckDialect
}

/** What a lexer of the engine's SQL tells a token apart as. */
export type SqlTokenKind = 'space' | 'line-comment' | 'block-comment' | 'string' | 'quoted-ident' | 'word' | 'symbol'

/** One token of SQL text. */
export interface SqlToken {
  kind: SqlTokenKind
  text: string
  /** Offset of the token's first character in the scanned text. */
  start: number
}

/** A query's shape, as the checks file needs it. */
export interface SqlShape {
  /** Statements in it (a check is exactly one). */
  statements: number
  /** Whether it has an ORDER BY of its own, outside parentheses (its answer is an ordered list). */
  topLevelOrderBy: boolean
}

/**
 * The engine's SQL for the user's checks, pure: a checks file is split into its queries by the
 * engine's own lexer (a `;` or `-- check:` inside a string or a comment is never the real thing),
 * and a row's text as the engine prints it is split into its columns' values for display.
 */
export interface CheckDialect {
  /**
   * Splits `text` into tokens whose texts concatenated give it back; or, when the text ends inside
   * a string, quoted identifier or comment, what is left open (e.g. "unterminated quoted string")
   * and its offset.
   */
  scan(text: string): { tokens: SqlToken[] } | { unterminated: { message: string; start: number } }
  shape(sql: string): SqlShape
  /** A row's text as the server prints it (PostgreSQL: `(1,"a b",)`), split into its values: null for SQL NULL. */
  rowValues(text: string): (string | null)[]
}

/** What the index and heap checker found in the restored copy. */
export interface AmcheckResult {
  indexes: number
  /** Tables whose heap was checked; 0 where the server cannot (PostgreSQL 13 and older). */
  tables: number
  /** Whether the heap was checked at all. */
  heapChecked: boolean
  findings: AmcheckFinding[]
}

export interface AmcheckFinding {
  kind: 'index' | 'table'
  /** Schema-qualified, as the server prints it. */
  name: string
  /** The checker's message (for a table, where in it). */
  message: string
}

/**
 * Checks the restored copy's own storage (PostgreSQL: amcheck's B-tree and heap checks), which
 * no comparison with production can: a copy whose index lost entries still has matching
 * checksums. Never run on production.
 */
export interface AmcheckCapability<Table extends TableName = TableName> {
  /**
   * Checks the restored copy on these sessions (all on it, pinned), after it is verified: what
   * the checker needs is installed into the copy. Throws a UserError saying what to fix when the
   * clean room cannot check.
   */
  check(sessions: SeamSession<Table>[]): Promise<AmcheckResult>
}

/**
 * The checks of both servers before the dump (PostgreSQL: server-checks.ts), as data: each
 * refusal is the one line the run raises as a UserError, each difference what it records.
 */
export interface ServerChecksCapability<Table extends TableName = TableName, Target = unknown> {
  /** The refusal for a server too old for the engine's catalog queries; undefined when it is supported. */
  unsupported(side: 'production' | 'clean room', facts: { version: string; major: number }): string | undefined
  /**
   * What the restore needs of the clean room beyond the backup (PostgreSQL: production's
   * extensions): `missing`, the refusal naming what it lacks; `differences`, what it restores
   * otherwise than production has it (a difference of the servers, not of the backup).
   */
  environment(
    production: SeamSession<Table>,
    cleanroom: SeamSession<Table>,
    cleanroomTarget: Target
  ): Promise<{ missing?: string; differences: EnvironmentDifference[] }>
  /**
   * The refusal for what production holds (inside its snapshot, read-only) that the clean room's
   * major rejects and no rewrite restores; undefined when there is none. `privileges`: only the
   * owners' and privileges' constructs (asked once they are known to be restored), or only the others.
   */
  productionSkew(production: SeamSession<Table>, cleanroomMajor: number, privileges: boolean): Promise<string | undefined>
  /** Why a restore failed, when version skew between the dump and the clean room explains it: a hint for the verdict. */
  explainRestoreFailure(failure: {
    error: string
    cleanroomMajor: number
    productionMajor: number
    dumpMajor: number
  }): string | undefined
}

/** Settles the schema differences that only the two servers' majors make (PostgreSQL: cross-major.ts). */
export interface CrossMajorCapability<Table extends TableName = TableName> {
  /**
   * The differences left once those whose two definitions the clean room reads as the same are
   * removed. `production` is read inside its snapshot; `standIns` are the restored copy's
   * stand-in roles, by name, to the production role each plays.
   */
  settle(
    sides: { production: SeamSession<Table>; restored: SeamSession<Table>; standIns?: ReadonlyMap<string, string> },
    differences: SchemaObjectDifference[]
  ): Promise<SchemaObjectDifference[]>
}

/**
 * A backup a run keeps (a restore point), as the engine's dump program writes it. `Format` is one
 * of the capability's `formats` (PostgreSQL: custom, directory, plain).
 */
export interface KeptBackup<Format extends string = string> {
  format: Format
  /** The file (plain, custom) or directory (directory format, which must not exist yet) the dump program writes. */
  path: string
  /** The dump program's compression argument for the archive formats (pg_dump's --compress: `1`, gzip level 1; `0` none). */
  compress: string
  /** The dump program's parallel jobs, for a format written in parallel. */
  jobs: number
  /** Whether it is kept after the run (backup-dir) or only until it is uploaded (upload-dump): a full disk's fix names the input to change. */
  persistent?: boolean
}

/** How a kept backup was dumped, as its manifest records it (report/manifest.ts `dump`, whose `program` is ManifestProfile's). */
export interface KeptDump {
  /** The dump program's version. */
  version: string
  /** Its arguments without the connection string or snapshot id. */
  arguments: string[]
  format: string
  /** As passed to the dump program (e.g. `gzip:1`), or `none`. */
  compression: string
  /** Whether owners and privileges are in the dump. */
  ownersAndPrivileges: boolean
}

/**
 * What a manifest records that only its engine knows, as data, so that report/manifest.ts writes
 * and validates every engine's manifest alike and the manifest's format stays one.
 */
export interface ManifestProfile {
  /** The dump program a manifest names (`dump.program`). */
  program: string
  /** The formats a backup is kept in (`dump.format`). */
  formats: readonly string[]
  /** The session settings every figure is computed under (`figures.pinnedSettings`), in order. */
  pinnedSettings: ReadonlyArray<readonly [string, string]>
  /** How a column's values may be hashed (`figures.tables[].columns[].hashing`). */
  columnHashings: readonly string[]
  /** The kinds of table a manifest records (`figures.tables[].kind`). */
  tableKinds: readonly string[]
}

/** Production's database as a manifest records it (beside its server): PostgreSQL's encoding, LC_COLLATE and LC_CTYPE. */
export interface KeptDatabase {
  encoding: string
  collate: string
  ctype: string
}

/** Production as a manifest records it (RestorePointsCapability.keptProduction). */
export interface KeptProduction {
  serverVersion: string
  serverVersionNum: number
  /** The server's identity where it can be read (PostgreSQL: pg_control_system's system identifier). */
  systemIdentifier?: string
  startedAt: string
  database: KeptDatabase
  /** When production's snapshot was taken (its transaction's start). */
  snapshotTakenAt: Date
}

/** One table as a manifest records it: what reading the same figures from a restored copy needs. */
export interface KeptTable extends TableName {
  kind: string
  populated: boolean
  /** An extension configuration table's row condition (the rows the dump holds), or null. */
  filter: string | null
  /** Columns by name with how each was hashed (ManifestProfile's `columnHashings`). */
  columns: { name: string; hashing: string }[]
}

/**
 * Restore points and stored backups (PostgreSQL). What the run keeps and how its manifest records
 * it come from here as data; the run writes the files, the manifest and the report.
 */
export interface RestorePointsCapability<
  Table = TableName,
  Tools = unknown,
  Format extends string = string,
  Compression = unknown,
  Target = unknown,
  RestoreTools = Tools
> {
  /** What a manifest records that only this engine knows. */
  readonly manifest: ManifestProfile
  /** The formats a backup is kept in (input backup-format). */
  readonly formats: readonly Format[]
  /** The kept backup's file name in its restore point, by format (a DBA sees at once what to restore it with). */
  backupName(format: Format, database: string): string
  /** Reads input backup-compression (one UserError naming `input` on a bad value). */
  parseCompression(raw: string, input: string): Compression
  /** The compression when backup-compression is empty. */
  defaultCompression(format: Format): Compression
  /**
   * Why a format is not kept with that compression, as the end of backup-compression's one-line
   * error ("but 'backup-format' is plain, ..."); undefined when it is.
   */
  refusedCompression(format: Format, compression: Compression): string | undefined
  /** The dump program's compression argument for a backup kept in `format` (KeptBackup's `compress`). */
  compressArgument(format: Format, compression: Compression): string
  /** The compression as the manifest records it (`none`, `gzip:1`, `zstd:3`...). */
  describeCompression(backup: KeptBackup): string
  /** Refuses (one UserError naming `input`) a compression the dump program this run uses cannot write. */
  requireCompressionSupport(compression: Compression, tools: Tools, input: string): void
  /**
   * How the backup was dumped, for its manifest: the dump program's version and arguments, the
   * format and compression, and whether owners and privileges are in it (`withOwnersAndPrivileges`:
   * whether the stream dumped them).
   */
  keptDump(backup: KeptBackup, tools: Tools, options: { withOwnersAndPrivileges: boolean; lockTimeoutSeconds: number }): KeptDump
  /** A table the manifest recorded, as the engine reads it from a restored copy (validated by parseManifest). */
  tableOf(kept: KeptTable): Table
  /** A table of production as its manifest records it (what tableOf reads back). */
  keptTable(table: Table): Omit<KeptTable, 'filter'> & { filter?: string | null }
  /** Production's database defaults from what a manifest records of its database, so that the scratch database is created like it. */
  databaseDefaults(kept: KeptDatabase): DatabaseDefaults
  /**
   * What the manifest records of production, read on its session inside the snapshot: its server
   * (`instance`: what the checks before the dump read of it, ServerFacts.instance), its database,
   * and when the snapshot was taken.
   */
  keptProduction(session: SeamSession, instance: ServerFacts['instance']): Promise<KeptProduction>

  // Stored backups (input backup-path): a kept backup verified later, with its manifest or without.

  /**
   * What `file` is, told by its content, never by its name. Throws one UserError naming
   * `inputName` and the cause for anything that is not a backup the engine can restore.
   */
  detectBackup(file: string, inputName?: string): StoredBackup
  /** How a stored backup is described in the log (e.g. "custom archive", "plain SQL, gzip-compressed"). */
  describeBackup(backup: StoredBackup): string
  /** Finds the client programs that restore this backup (binDir: the engine's bin-dir input), one UserError when there are none. */
  findRestoreTools(backup: StoredBackup, binDir?: string): Promise<RestoreTools>
  /** The restore programs, by name, for the report's `tools`. */
  restorePrograms(tools: RestoreTools): { psql: RestoreProgram } & Record<string, RestoreProgram>
  /**
   * Reads what the backup says of itself, before any server is touched (a backup its reader
   * cannot read fails here, in one UserError). `emptyListFile`: a work file the engine may write.
   */
  openBackup(backup: StoredBackup, tools: RestoreTools, emptyListFile: string): Promise<OpenedBackup<Target>>
}

/** A stored backup (input backup-path), as told by its content. */
export interface StoredBackup {
  /** As given (backup-path), for messages. */
  path: string
  /** The engine's name for its format (PostgreSQL: plain, custom, directory, tar). */
  format: string
  /** Plain SQL compressed with gzip. */
  gzip: boolean
  /** Bytes on disk, every file of a directory backup together. */
  bytes: number
}

/** A client program, for the report. */
export interface RestoreProgram {
  path: string
  version: string
}

/** A stored backup opened for its restore: what its header says, and its restore. */
export interface OpenedBackup<Target = unknown> {
  /** What the backup's reader made of it, for the log (e.g. "pg_restore 17.2 reads it: 42 entries."); absent for plain SQL. */
  readBy?: string
  /** The server version it was dumped from, and the dump program's version, as its header says. */
  dumpedFrom?: string
  dumpedBy?: string
  /** The same, as majors (undefined when the header does not say). */
  dumpedFromMajor?: number
  dumpedByMajor?: number
  /**
   * For a backup whose restore replays its owners and privileges whatever it is asked (plain SQL):
   * whether it holds any, as its first object says; undefined for an archive (its restore leaves
   * them out at will) or when the head holds no object.
   */
  replaysOwners?: boolean
  /** Whether its SQL quotes strings with standard_conforming_strings on (the sanitizer reads it so). */
  standardConformingStrings: boolean
  /** Restores it through the sanitizer into a scratch database; a backup its reader cannot read throws. */
  restore(request: StoredRestoreRequest<Target>): Promise<StoredRestoreOutcome>
}

export interface StoredRestoreRequest<Target = unknown> {
  target: Target
  /** The run's sanitizer (Engine.sanitizer), run by each pipeline (counted from 1), each recording its removals apart. */
  sanitizer: Sanitizer
  /** The location check the restore runs first (the run's). */
  checkFile: string
  /** The run's work directory for each pipeline's files. */
  workDir: string
  jobs: number
  withOwnersAndPrivileges: boolean
  /** One pipeline even where several could run (the sed copy of the stream must be whole and in order). */
  single: boolean
  /** TCP safeguards for the restore program (server-timeout-seconds). */
  limits: { lockTimeoutSeconds: number; serverTimeoutSeconds: number }
}

/** How a stored backup's restore ended. */
export type StoredRestoreOutcome = { seconds: number; pipelines: number } & (
  | { ok: true }
  | {
      ok: false
      /** The program that failed first: the backup's reader, the sanitizer, or the restore. */
      stage: 'read' | 'sanitize' | 'restore'
      error: string
      /** Where the restore stopped, in words (names decoded from the dump's `encoding`), when the error says. */
      failurePlace(encoding: string): Promise<string | undefined>
    }
)

/**
 * Who restores a dump in the clean room (input restore-role): `unprivileged`, a role without
 * superuser rights (the engine's own for the run, when the clean-room role can create one), or
 * `superuser`, the clean-room role as it is.
 */
export type RestoreRoleMode = 'unprivileged' | 'superuser'

/** Whom the restore logs in as for every restore of the run, and why; recorded in the report. */
export interface RestoreRights {
  mode: RestoreRoleMode
  /** The role the restore logs in as. */
  role: string
  superuser: boolean
  /** True when Lazarus created `role` for this run (and drops it at the end). */
  ownRole: boolean
  /** One sentence for the log, the summary and the report. */
  description: string
}

/** A role production's objects name (an owner, a grantor, a grantee...), and whether it is a superuser there. */
export interface NamedRole {
  name: string
  superuser: boolean
}

/** Whether owners and privileges are restored and compared, and with which roles (the report's `privileges`). */
export interface OwnersPlan {
  restore: boolean
  /** Why owners and privileges cannot be restored, and how to enable it (when `restore` is false). */
  reason?: string
  /** Roles Lazarus creates (or shares with a concurrent Lazarus run) and drops at the end. */
  provided: string[]
  /** Roles that already existed in the clean room, used as they are (or played by stand-ins). */
  existing: string[]
  /**
   * When restored from production's own roles (OwnersAndPrivilegesCapability.planRoles): how, for
   * the log, after "Owners and privileges are restored and compared" (how they are replayed, the
   * roles created, the existing roles used or played).
   */
  detail?: string
}

/**
 * How owners and privileges are replayed apart from the restore (PostgreSQL: pg_dump's ownership
 * and privilege statements, routed out of the stream by the sanitizer and replayed as the
 * clean-room role after an unprivileged restore), for the backup's restore and each drill copy's alike.
 */
export interface PrivilegeReplay {
  /** Each pre-existing (or missing predefined) role production names, and the Lazarus role that plays it. */
  standIns: ReadonlyMap<string, string>
  /** The run's restore role, whose admission to the public schema is taken back first (an unprivileged restore). */
  restoreRole?: string
  /**
   * Under restore-role: superuser the stream keeps every other ownership and privilege statement
   * and only those naming these roles (the predefined roles the clean room lacks) are replayed
   * apart; the restore ran as the clean-room role, which the replay adds no right to, so the
   * checks made before an unprivileged restore's replay do not apply. Absent: every statement.
   */
  onlyNaming?: string[]
  /** Production's database encoding: the dump's, in which the statements' names are written. */
  encoding: string
}

/** A replay of owners and privileges on a restored copy (OwnersAndPrivilegesCapability.replay). */
export interface PrivilegeReplayRequest<Target = unknown, Tools = unknown> {
  tools: Tools
  /** The restored copy (as the clean-room role, not the restore role). */
  target: Target
  /** The files the sanitizer routed the statements to, in pipeline order. */
  routed: string[]
  /** Where the replay's script is written (the run's work directory). */
  script: string
  /** The restore's location check, run first. */
  check: string
  replay: PrivilegeReplay
  limits: { lockTimeoutSeconds: number; serverTimeoutSeconds: number }
}

/**
 * Owners, privileges and the roles they name (PostgreSQL): who restores the dump (restore-role),
 * which roles the clean room provides to each scratch database, the replay of owners and
 * privileges after an unprivileged restore, and their reading on either side. The run's state
 * (who restores, the plan) lives in the roles the clean room keeps for the run
 * (Engine.cleanroomRoles' RunRoles), which each method takes back: `roles` is the clean room's.
 * The methods return data; the run records it in the report and the log.
 */
export interface OwnersAndPrivilegesCapability<
  Table extends TableName = TableName,
  Target = unknown,
  Tools = unknown,
  DrillCatalog = unknown
> {
  /** The input restore-role's choices, the default first. */
  readonly restoreRoleModes: readonly RestoreRoleMode[]
  /**
   * Decides who restores this run's dumps, creating a role of Lazarus's own when that is it.
   * Throws a UserError when the clean-room role may not be trusted with production's code and
   * cannot make a role that could.
   */
  setUpRestoreRights(roles: RunRoles | undefined, mode: RestoreRoleMode): Promise<RestoreRights>
  /** Who restores, once setUpRestoreRights has decided. */
  restoreRights(roles: RunRoles | undefined): RestoreRights | undefined
  /** A hint for a restore that failed on a right the restoring role lacks, or nothing. Pure. */
  missingRightHint(error: string, rights: RestoreRights | undefined): string | undefined
  /**
   * Before the dump: the one-line refusal when production (read inside its snapshot) holds what
   * only a superuser can restore and the restore runs without superuser rights; undefined otherwise.
   */
  superuserObjectsRefusal(
    roles: RunRoles | undefined,
    production: SeamSession<Table>,
    cleanroom: SeamMaintenance
  ): Promise<string | undefined>
  /**
   * Where the sanitizer routes the dump's ownership and privilege statements (`file`, or nowhere),
   * and when only some are, those naming which roles; decided before the role plan.
   */
  routedStatements(
    roles: RunRoles | undefined,
    cleanroom: SeamMaintenance,
    file: string
  ): Promise<{ routedFile?: string; routedRoles?: string[] }>
  /** The roles production's objects name, inside its snapshot: a restore with owners needs each in the clean room. */
  readNamedRoles(production: SeamSession<Table>): Promise<NamedRole[]>
  /** Decides, from the clean room's roles, whether owners and privileges are restored and compared. */
  planRoles(roles: RunRoles | undefined, named: NamedRole[]): Promise<OwnersPlan>
  /** How owners and privileges are replayed apart from the restore under this plan; undefined when they are not. */
  privilegeReplay(roles: RunRoles | undefined, plan: OwnersPlan, encoding: string): PrivilegeReplay | undefined
  /** Replays owners and privileges on a restored copy; `error` says why they did not replay. */
  replay(request: PrivilegeReplayRequest<Target, Tools>): Promise<{ ok: true } | { ok: false; error: string }>
  /**
   * Owners, privileges and default privileges of the session's database as schema objects, sorted;
   * `standIns` (a stand-in's name to the role it plays) names the restored copy's stand-ins back.
   */
  readPrivileges(session: SeamSession<Table>, standIns?: ReadonlyMap<string, string>): Promise<SchemaObject[]>
  /** Adds what the drill's owner and privilege operators aim at (read on `session`) to its catalog, when the plan restores them. */
  addDrillTargets(catalog: DrillCatalog, session: SeamSession<Table>, plan: OwnersPlan, runId: string): Promise<void>
  /** Makes a scratch database just created ready for a restore: the plan's roles provided to it, the restore role admitted. */
  prepareRestore(roles: RunRoles | undefined, target: Target): Promise<void>
  /** Where the restore connects to restore into `target`: as the restore role, when there is one. */
  restoreTarget(roles: RunRoles | undefined, target: Target): Target
  /** Adds a role of Lazarus's own (the drill's) to those provided to each scratch database from now on. */
  addRole(roles: RunRoles | undefined, name: string): void
}

/** An operator nothing in the catalog can take and still restore, and why, in words a reader can act on. */
export interface SeamDrillNoTarget {
  operator: string
  noTarget: string
}

/** One drill operator aimed at one object, with the rewriter that corrupts a copy of the dump. */
export interface SeamDrillPlan {
  operator: string
  /** Human-readable, e.g. "table `shop`.`orders`", "index orders.by_customer". */
  target: string
  /** The table whose figures must differ (data operators). */
  table?: TableName
  /** The schema object that must differ (schema operators), as SchemaObject names it. */
  object?: { kind: string; name: string }
  /** Corrupts a copy of the dump: the run streams the copy through it (drill/rewrite.ts). */
  rewriter: DrillRewriter
  /**
   * What the judge must see, when the engine states it exactly (which checks can see this
   * corruption, an owner's or a privilege's difference, a function by its signature); otherwise
   * the run derives it from `table` or `object`.
   */
  aim?: DrillAim
  /** A role of Lazarus's own the copy's restore needs beyond the backup's (Engine.ownersAndPrivileges addRole). */
  extraRole?: string
}

/**
 * A drill operator's rewriter of a copy of the dump, a line at a time (drill/rewrite.ts streams the
 * copy through it): `push` gives the lines to write for each line read.
 */
export interface DrillRewriter {
  push(line: string): string[]
  /**
   * What was done, once the whole dump went through (the row's key, the column, the line
   * removed...), in the dump's text as the engine's drillCopies.evidence decodes it; undefined
   * when the target was never found.
   */
  result(): { evidence: string } | undefined
}

/** What a run gives an engine to restore one of the drill's copies (DrillCopiesCapability.restoreOptions). */
export interface DrillCopyRestore<Target = unknown> {
  /** The copy's scratch database, as the clean-room role (a replay runs there as it). */
  target: Target
  /** The restore's location check (Engine.locationCheck), written beside the copy, when the engine has one. */
  checkFile?: string
  /** Production's database defaults: its character set is the dump's. */
  defaults: DatabaseDefaults
  /** The restore program's safeguards (lock-timeout-seconds, server-timeout-seconds). */
  limits: { lockTimeoutSeconds: number; serverTimeoutSeconds: number }
  /** How owners and privileges are replayed after the restore (production's snapshot's), when they are. */
  replay?: PrivilegeReplay
}

/**
 * What only some engines do for each of the drill's copies (PostgreSQL: engines/postgres/
 * drill-copies.ts), asked by the one drill (run/drill-copies.ts). An engine without it restores a
 * copy from the seam's request alone, and takes its rewriters' evidence as they give it.
 */
export interface DrillCopiesCapability<Target = unknown, Options = unknown> {
  /** The operators that corrupt owners and privileges: skipped, and said so, when a run does not compare them. */
  readonly privilegeOperators: readonly string[]
  /** A rewriter's evidence, read from the dump's bytes, as text (PostgreSQL: decoded in the dump's encoding). */
  evidence(text: string, defaults: DatabaseDefaults): string
  /** The options of the engine's restoreDumpFile for one copy (RestoreFileRequest's `options`). */
  restoreOptions(request: DrillCopyRestore<Target>): Options
}

/** The verification steps that can notice a corruption, as the report names them. */
export type DetectingCheck = 'restore' | 'counts' | 'checksums' | 'schema' | 'sequences' | 'privileges' | 'checks'

/**
 * What the drill's judge (report.ts judgeDrill) needs of a plan, whatever engine made it: an
 * engine states it in its plan (SeamDrillPlan's `aim`: PostgreSQL's DrillPlan is one), or the
 * run derives it from the plan's table or object (drill-copies.ts), so that one function decides
 * whether a drill was caught.
 */
export interface DrillAim {
  operator: string
  target: string
  /** The table whose comparison must flag it. */
  targetTable?: TableName
  /**
   * The schema object a schema difference must name: by the last part of its qualified name, or
   * whole by `signature` when that is given (the comparison's own name for it: a PostgreSQL
   * function with its argument types, or an object another engine names exactly).
   */
  targetObject?: { kind: string; name: string; signature?: string }
  /** The owner or privileges difference that must name it, exactly. */
  targetDifference?: { kind: string; name: string }
  /** Checks that can see this corruption ('sequences' makes a counter's difference the sequences' catch). */
  caughtBy: readonly DetectingCheck[]
  /** When verify is 'counts', why this operator is expected to go unnoticed (undefined = counts catch it). */
  invisibleToCounts?: string
}
