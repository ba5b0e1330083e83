/**
 * The engine seam: what a run needs of a database engine, in engine-neutral terms. Types only.
 * An engine is one folder under src/engines/ (postgres/ today) exporting one `Engine`; the map
 * in engines/index.ts chooses it by the URL's scheme. Everything that knows a dialect, a catalog,
 * a driver or a client program stays behind this interface.
 *
 * Each engine keeps its own shapes for what only it reads (a connection target with its TLS and
 * tuning parameters, a table reference with its column hashing, its client programs), so the
 * interface is generic over them; the shapes that reach the comparison and the report are the
 * neutral ones below.
 */
import type { TableName } from '../util/table-name.js'

/** Which server a session is on: production is only ever read; the clean room is Lazarus's to write. */
export type ServerRole = 'production' | 'cleanroom'

/** What a server says about itself: enough to tell versions and servers apart. */
export interface ServerIdentity {
  /** As the server reports it, e.g. "13.23". */
  version: string
  major: number
}

/** One table's figures on one side: `rows` and `checksum` undefined when not read; `error` says why. */
export interface TableFigures {
  rows?: number
  checksum?: string
  error?: string
}

/**
 * A session that reads. Production's sessions are only this: nothing in the type creates, marks
 * or drops a database, so a run cannot aim such a statement at production.
 */
export interface ReadSession<Table extends TableName = TableName> {
  /** Applies the settings every figure is computed under (time zone, encodings, formats...). */
  pinSettings(): Promise<void>
  /** Starts a repeatable-read snapshot and returns its id, for the dump and the other sessions to join. */
  beginSnapshot(): Promise<string>
  /** Joins a snapshot another session began, so that every session reads the same instant. */
  joinSnapshot(snapshotId: string): Promise<void>
  /** The tables that hold rows, with what the engine needs to read them. */
  listTables(): Promise<Table[]>
  /** Row counts, and content checksums when asked, one per table in the order given. */
  tablesFigures(tables: Table[], withChecksum: boolean, inTransaction: boolean): Promise<TableFigures[]>
  close(): Promise<void>
}

/**
 * The clean room's maintenance handle: the only handle that may create, mark or drop a database,
 * and only Lazarus's own scratch databases.
 */
export interface MaintenanceHandle<Table extends TableName = TableName> extends ReadSession<Table> {
  canCreateDatabases(): Promise<{ role: string; allowed: boolean }>
  /** Creates an empty database in production's encoding and locale (or a neutral one when the clean room lacks it). */
  createScratchDatabase(name: string, encoding: string, collate: string, ctype: string): Promise<{ localeFallback: boolean }>
  /** Marks a database as Lazarus's, so that only marked databases are ever dropped. */
  commentOnDatabase(name: string, comment: string): Promise<void>
  databaseComment(name: string): Promise<string | undefined>
  dropDatabase(name: string): Promise<void>
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
  sanitizeOptions: unknown
  drillCatalog: unknown
  rewriter: unknown
}

/** One database engine, as the run calls it. */
export interface Engine<S extends EngineShapes = EngineShapes> {
  /** Plain name for messages: "PostgreSQL". */
  readonly name: string
  /** URL schemes this engine answers to, e.g. postgres and postgresql. */
  readonly schemes: readonly string[]
  /** Parses and vets a connection URL from an input; throws one clear line naming the input on a bad one. */
  parseUrl(inputName: string, url: string, password?: string): S['target']
  /** user@host:port/database for logs and reports: never a password. */
  describe(target: S['target']): string
  /** Opens a session that reads (production's, or a restored copy's). */
  openRead(target: S['target'], role: ServerRole): Promise<ReadSession<S['table']>>
  /** Opens the clean room's maintenance handle: the only handle that may create or drop a database. */
  openMaintenance(target: S['target']): Promise<MaintenanceHandle<S['table']>>
  /** Finds the client programs (dump and restore) that can serve a server of this major. */
  findClientTools(serverMajor: number, binDir?: string): Promise<S['tools']>
  /** The sed program that takes what the clean room would reject (version skew) out of the dump stream. */
  sanitizerProgram(options: S['sanitizeOptions']): string
  /** The drill: what production's catalog offers to corrupt, inside its snapshot... */
  readDrillCatalog(session: ReadSession<S['table']>, rowCounts: Map<string, number>): Promise<S['drillCatalog']>
  /** ...and a rewriter of the dump (here the simplest: one table's row removed). */
  dropRowRewriter(table: TableName, keyColumns?: string[]): S['rewriter']
}
