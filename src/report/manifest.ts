import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import type { CheckAnswer } from '../verification/check-answers.js'
import type { CheckDefinition } from '../verification/checks-file.js'
import type { SideFigures, VerifyLevel } from '../verification/compare.js'
import type { KeptDump, KeptTable, ManifestProfile, SchemaObject, TableFigures } from '../engines/types.js'
import { UserError } from '../util/errors.js'
import type { Result } from './report.js'
import type { SequenceValue } from '../verification/sequence-check.js'

/**
 * The evidence manifest of a restore point (`lazarus-manifest.json`): everything a later
 * verification needs to prove a stored backup without production. Where it came from (Lazarus,
 * production's server and database, the snapshot, pg_dump and its arguments), what the backup is
 * (format, every file's size and sha256), and production's figures at the snapshot exactly as a
 * fresh run computes them (compare.ts, schema-fingerprint.ts, sequence-check.ts, checks.ts), with
 * how and on which server major they were computed, so that the verifying side knows whether its
 * own figures are comparable. Pure apart from reading files for their sha256 (streamed). What only
 * the engine knows (its dump program, formats, pinned settings, column hashings) comes from its
 * restore points' ManifestProfile (engines/types.ts), as data: one format for every engine.
 *
 * Nothing secret enters it: production is described without its password (connection.describe),
 * pg_dump's arguments without the connection string, check answers without production's values
 * unless show-values allowed them. The signature covers the canonical form (sorted keys, no
 * whitespace) of everything but the signature itself.
 */

export const MANIFEST_FILE = 'lazarus-manifest.json'
/** What the `kind` field says, so a stray JSON file is not mistaken for a manifest. */
export const MANIFEST_KIND = 'lazarus-manifest'
/** Bumped when a field changes meaning or a required one is added; documented in docs/report.md ("The manifest"). */
export const MANIFEST_VERSION = 1

/**
 * Versions of the methods that computed the figures: bump one when its SQL changes what it
 * computes (figure-queries.ts row hashing and PINNED_SETTINGS, schema-fingerprint.ts,
 * catalog-kinds.ts and privileges.ts definitions, large-objects.ts, sequence-check.ts,
 * check-queries.ts). A verification compares figures only with figures of the same method
 * version; test/unit/figure-methods.test.ts pins each version with a hash of its SQL and fails
 * when the SQL changes without a bump.
 * 2 (rowChecksum, checkAnswers): reads pinned row_security off (a policy no longer filters a figure).
 * 2 (schemaFingerprint): column order and replica identity indexes compared.
 */
export const FIGURE_METHODS = {
  rowChecksum: 2,
  schemaFingerprint: 2,
  largeObjects: 1,
  sequences: 1,
  checkAnswers: 2
} as const

export interface ManifestFile {
  /** Relative to the backup path: the file's own name, or a path inside a directory-format backup ('/'-separated). */
  path: string
  bytes: number
  sha256: string
}

/**
 * One table as production held it at the snapshot, with how its checksum was computed: PostgreSQL's
 * `kind` is `r` table or leaf partition, `m` materialized view, `p` partitioned table compared as a
 * whole; its `filter` an extension configuration table's row condition (pg_dump dumps those rows
 * only), or null; its columns by name with how each was hashed (figure-queries.ts ColumnHashing).
 */
export interface ManifestTable extends KeptTable {
  figures: TableFigures
  derived?: true
  wholeTree?: true
}

/** One of the user's checks (input `checks`) with production's answer at the snapshot. */
export interface ManifestCheck {
  name: string
  ordered: boolean
  expect?: string | null
  /** sha256 of the query's text: an answer only compares with the same query's. */
  sqlSha256: string
  /** Figures of the answer; `sample` (production values) only when show-values was true. */
  answer: CheckAnswer
}

export interface ManifestSignature {
  algorithm: 'ed25519'
  /** sha256 (hex) of the signing key's public key (SPKI DER), to tell keys apart. */
  publicKeySha256: string
  /** base64 signature of the canonical form of the manifest without its signature. */
  value: string
}

export interface Manifest {
  kind: typeof MANIFEST_KIND
  version: number
  /** When the manifest was written (after verification), ISO 8601 UTC. */
  createdAt: string
  lazarus: { version: string }
  /** What the run that kept the backup concluded about it. */
  verdict: { result: Result; cleanroomServerVersion?: string }
  production: ProductionIdentity & { major: number }
  /** The exported snapshot the dump and the figures were both taken in. */
  snapshot: { takenAt: string }
  /**
   * How the backup was dumped (KeptDump): pg_dump's version, its arguments without the connection
   * string (--dbname) or snapshot id, the format, the compression as passed to pg_dump (e.g.
   * `gzip:1`) or `none`, whether owners and privileges are in the dump (the clean room had every role).
   */
  dump: KeptDump & {
    /** ManifestProfile's program, e.g. pg_dump. */
    program: string
  }
  files: ManifestFile[]
  figures: {
    /** The server the figures were computed on: production at the snapshot. */
    computedOn: { serverVersion: string; serverVersionNum: number; major: number }
    /** Method versions (FIGURE_METHODS); rowChecksum is null when only rows were counted. */
    methods: {
      rowChecksum: number | null
      schemaFingerprint: number
      largeObjects: number
      sequences: number
      checkAnswers: number
    }
    /** The session settings every figure was computed under (figure-queries.ts PINNED_SETTINGS). */
    pinnedSettings: Record<string, string>
    verify: VerifyLevel
    tables: ManifestTable[]
    schema: SchemaObject[]
    /** Owners, ACLs and default privileges; absent when they were not dumped and compared. */
    privileges?: SchemaObject[]
    largeObjects: SchemaObject[]
    /** Sequences bracket the dump: read just before and just after it (sequence-check.ts). */
    sequences: { before: SequenceValue[]; after: SequenceValue[] }
    checks?: ManifestCheck[]
  }
  signature?: ManifestSignature
}

/** Production's server and database, as the manifest names them. */
export interface ProductionIdentity {
  /** user@host:port/database, never a password. */
  server: string
  serverVersion: string
  serverVersionNum: number
  /** pg_control_system()'s system identifier, when the role may read it. */
  systemIdentifier?: string
  /** The server's start time (pg_postmaster_start_time), which tells clusters apart. */
  startedAt: string
  database: string
  encoding: string
  collate: string
  ctype: string
}

/** A table as the run holds it (the engine's table reference): what the manifest records of it. */
export type ManifestTableSource = Omit<KeptTable, 'filter'> & { filter?: string | null }

/** What a run knows when it writes the manifest, in the shapes the pipeline holds them. */
export interface ManifestFacts {
  createdAt: Date
  lazarusVersion: string
  result: Result
  cleanroomServerVersion?: string
  production: ProductionIdentity
  snapshotTakenAt: string
  dump: KeptDump
  files: ManifestFile[]
  verify: VerifyLevel
  tables: ManifestTableSource[]
  figures: SideFigures[]
  schema: SchemaObject[]
  privileges?: SchemaObject[]
  largeObjects: SchemaObject[]
  sequencesBefore: SequenceValue[]
  sequencesAfter: SequenceValue[]
  checks: { definitions: CheckDefinition[]; answers: CheckAnswer[]; showValues: boolean }
}

/** Builds the manifest from what a run knows, with its engine's profile. Pure: the same facts give the same manifest. */
export function buildManifest(facts: ManifestFacts, profile: ManifestProfile): Manifest {
  const major = Math.floor(facts.production.serverVersionNum / 10000)
  const figuresByKey = new Map(facts.figures.map(side => [`${side.schema}\u0000${side.name}`, side]))
  const tables = facts.tables.map((table): ManifestTable => {
    const side = figuresByKey.get(`${table.schema}\u0000${table.name}`)
    if (!side) throw new Error(`No figures for table ${table.schema}.${table.name}`)
    return {
      schema: table.schema,
      name: table.name,
      kind: table.kind,
      populated: table.populated,
      filter: table.filter ?? null,
      columns: table.columns.map(column => ({ name: column.name, hashing: column.hashing })),
      figures: cleanFigures(side.figures),
      ...(side.derived ? { derived: true as const } : {}),
      ...(side.wholeTree ? { wholeTree: true as const } : {})
    }
  })
  const checks = facts.checks.definitions.map((definition, index): ManifestCheck => {
    const answer = { ...facts.checks.answers[index] }
    // Production's values stay out unless show-values let them into the report too.
    if (!facts.checks.showValues) delete answer.sample
    return {
      name: definition.name,
      ordered: definition.ordered,
      ...(definition.expect !== undefined ? { expect: definition.expect } : {}),
      sqlSha256: sha256Text(definition.sql),
      answer
    }
  })
  const { server, serverVersion, serverVersionNum, database, encoding, collate, ctype, startedAt } = facts.production
  return {
    kind: MANIFEST_KIND,
    version: MANIFEST_VERSION,
    createdAt: facts.createdAt.toISOString(),
    lazarus: { version: facts.lazarusVersion },
    verdict: {
      result: facts.result,
      ...(facts.cleanroomServerVersion ? { cleanroomServerVersion: facts.cleanroomServerVersion } : {})
    },
    production: {
      server,
      serverVersion,
      serverVersionNum,
      major,
      ...(facts.production.systemIdentifier ? { systemIdentifier: facts.production.systemIdentifier } : {}),
      startedAt,
      database,
      encoding,
      collate,
      ctype
    },
    snapshot: { takenAt: facts.snapshotTakenAt },
    dump: { program: profile.program, ...facts.dump },
    files: [...facts.files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
    figures: {
      computedOn: { serverVersion, serverVersionNum, major },
      methods: { ...FIGURE_METHODS, rowChecksum: facts.verify === 'checksums' ? FIGURE_METHODS.rowChecksum : null },
      pinnedSettings: Object.fromEntries(profile.pinnedSettings),
      verify: facts.verify,
      tables,
      schema: facts.schema,
      ...(facts.privileges ? { privileges: facts.privileges } : {}),
      largeObjects: facts.largeObjects,
      sequences: { before: facts.sequencesBefore, after: facts.sequencesAfter },
      ...(checks.length > 0 ? { checks } : {})
    }
  }
}

function cleanFigures(figures: TableFigures): TableFigures {
  const clean: TableFigures = {}
  if (figures.rows !== undefined) clean.rows = figures.rows
  if (figures.checksum !== undefined) clean.checksum = figures.checksum
  if (figures.error !== undefined) clean.error = figures.error
  return clean
}

/**
 * Production's figures in the shapes the comparison code takes (compare.ts compareTables,
 * schema-fingerprint.ts diffSchema, sequence-check.ts compareSequences, check-answers.ts
 * compareCheck), so a stored backup is compared with its manifest as a fresh run compares with
 * production. The tables as the manifest records them: the engine's restore points read them
 * back into its own table references (RestorePointsCapability tableOf).
 */
export function manifestFigures(manifest: Manifest): {
  tables: KeptTable[]
  figures: SideFigures[]
  schema: SchemaObject[]
  privileges?: SchemaObject[]
  largeObjects: SchemaObject[]
  sequencesBefore: SequenceValue[]
  sequencesAfter: SequenceValue[]
  checks: ManifestCheck[]
  database: { encoding: string; collate: string; ctype: string }
} {
  const { figures, production } = manifest
  return {
    tables: figures.tables.map(table => ({
      schema: table.schema,
      name: table.name,
      kind: table.kind,
      populated: table.populated,
      columns: table.columns,
      filter: table.filter
    })),
    figures: figures.tables.map(table => ({
      schema: table.schema,
      name: table.name,
      figures: table.figures,
      ...(table.derived ? { derived: true } : {}),
      ...(table.wholeTree ? { wholeTree: true } : {})
    })),
    schema: figures.schema,
    ...(figures.privileges ? { privileges: figures.privileges } : {}),
    largeObjects: figures.largeObjects,
    sequencesBefore: figures.sequences.before,
    sequencesAfter: figures.sequences.after,
    checks: figures.checks ?? [],
    database: { encoding: production.encoding, collate: production.collate, ctype: production.ctype }
  }
}

// ---------------------------------------------------------------------------------------------
// Canonical form

/**
 * JSON with every object's keys sorted (by UTF-16 code units) and undefined members left out:
 * the same manifest always gives the same bytes, which the signature and the file rely on.
 * `indent` 0 gives the compact form that is signed.
 */
export function canonicalJson(value: unknown, indent = 0): string {
  return JSON.stringify(sortKeys(value), null, indent)
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys)
  if (value !== null && typeof value === 'object') {
    const sorted: Record<string, unknown> = {}
    for (const key of Object.keys(value).sort()) {
      const member = (value as Record<string, unknown>)[key]
      // Defined, not assigned: JSON.parse makes a `__proto__` key an own member, which an
      // assignment would turn into the object's prototype and leave out of the signed bytes.
      if (member !== undefined) Object.defineProperty(sorted, key, { value: sortKeys(member), enumerable: true, writable: true })
    }
    return sorted
  }
  return value
}

/** The manifest file's text: canonical, indented for people, with a final newline. */
export function serializeManifest(manifest: Manifest): string {
  return canonicalJson(manifest, 2) + '\n'
}

/** The bytes the signature covers: the canonical compact form of everything but the signature. */
export function signedBytes(manifest: Manifest): Buffer {
  const { signature: _signature, ...unsigned } = manifest
  void _signature
  return Buffer.from(canonicalJson(unsigned), 'utf8')
}

// ---------------------------------------------------------------------------------------------
// Signing

/**
 * Reads an Ed25519 private key in PEM (`signing-key`). A key stored in a secret with its line
 * breaks written as `\n` is accepted too. The error never quotes the key.
 */
export function readSigningKey(pem: string, inputName = 'signing-key'): KeyObject {
  let key: KeyObject
  try {
    key = createPrivateKey({ key: unescapeNewlines(pem), format: 'pem' })
  } catch {
    throw new UserError(
      `Input '${inputName}' is not a private key in PEM: give an Ed25519 private key ` +
        `('-----BEGIN PRIVATE KEY-----', e.g. from 'openssl genpkey -algorithm ed25519'), usually from a secret.`
    )
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new UserError(
      `Input '${inputName}' is a ${key.asymmetricKeyType ?? 'unknown'} key: Lazarus signs manifests with Ed25519 only ` +
        `(generate one with 'openssl genpkey -algorithm ed25519').`
    )
  }
  return key
}

/** Reads an Ed25519 public key in PEM (`verify-key`); a private key is refused, it must not travel there. */
export function readVerifyKey(pem: string, inputName = 'verify-key'): KeyObject {
  const text = unescapeNewlines(pem)
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
    throw new UserError(
      `Input '${inputName}' holds a private key: give the public key only ('openssl pkey -in key.pem -pubout'), ` +
        `and keep the private key in the secret that 'signing-key' reads.`
    )
  }
  let key: KeyObject
  try {
    key = createPublicKey({ key: text, format: 'pem' })
  } catch {
    throw new UserError(
      `Input '${inputName}' is not a public key in PEM: give the Ed25519 public key ('-----BEGIN PUBLIC KEY-----') ` +
        `that matches the signing key.`
    )
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new UserError(
      `Input '${inputName}' is a ${key.asymmetricKeyType ?? 'unknown'} key: Lazarus verifies Ed25519 signatures only.`
    )
  }
  return key
}

function unescapeNewlines(pem: string): string {
  const text = pem.trim()
  return text.includes('\n') ? text : text.replace(/\\n/g, '\n')
}

/** sha256 (hex) of a key's public key in SPKI DER: the same for a private key and its public key. */
export function publicKeySha256(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')
}

/** The manifest with an Ed25519 signature over its canonical form (any earlier signature replaced). */
export function signManifest(manifest: Manifest, privateKey: KeyObject): Manifest {
  const { signature: _old, ...unsigned } = manifest
  void _old
  const value = sign(null, signedBytes(unsigned as Manifest), privateKey).toString('base64')
  return { ...unsigned, signature: { algorithm: 'ed25519', publicKeySha256: publicKeySha256(privateKey), value } } as Manifest
}

/**
 * Refuses a manifest that is not signed by `publicKey`: unsigned, signed by another key, or
 * changed after signing. `source` names the file in the error.
 */
export function assertSignedBy(manifest: Manifest, publicKey: KeyObject, source: string): void {
  const signature = manifest.signature
  if (!signature) {
    throw new UserError(
      `The manifest ${source} is not signed, but 'verify-key' is set: only a manifest signed with the matching ` +
        `'signing-key' is accepted. Verify a signed restore point, or leave 'verify-key' empty.`
    )
  }
  const expectedKey = publicKeySha256(publicKey)
  if (signature.publicKeySha256 !== expectedKey) {
    throw new UserError(
      `The manifest ${source} is signed by another key (public key sha256 ${signature.publicKeySha256}) than ` +
        `'verify-key' (${expectedKey}): it was not written with the matching 'signing-key', or the key changed.`
    )
  }
  let valid = false
  try {
    valid = verify(null, signedBytes(manifest), publicKey, Buffer.from(signature.value, 'base64'))
  } catch {
    valid = false
  }
  if (!valid) {
    throw new UserError(
      `The manifest ${source} does not match its signature: it was changed after it was signed. Do not trust this restore point's evidence.`
    )
  }
}

// ---------------------------------------------------------------------------------------------
// Files

/** The manifest of a backup: `lazarus-manifest.json` in the directory that holds it (file or directory backup). */
export function manifestBeside(backupPath: string): string {
  return path.join(path.dirname(path.resolve(backupPath)), MANIFEST_FILE)
}

/** Bytes read at a time when hashing a backup's file. */
const HASH_READ_BYTES = 1024 * 1024

/**
 * sha256 (hex) of a file, read piece by piece into one buffer: a backup never sits in memory, and
 * hashing a large one leaves no garbage behind. A read stream allocates a new buffer per piece,
 * which V8 collects only once tens of MiB of them have piled up: while a restore point of any size
 * was hashed beside the verification, that added about 60 MiB to the action's peak memory.
 */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256')
  const buffer = Buffer.allocUnsafe(HASH_READ_BYTES)
  const handle = await fs.promises.open(file, 'r')
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null)
      if (bytesRead === 0) break
      hash.update(buffer.subarray(0, bytesRead))
    }
  } finally {
    await handle.close()
  }
  return hash.digest('hex')
}

function sha256Text(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex')
}

/** Every file of a backup (a file, or every file under a directory-format backup), with size and sha256. */
export async function hashBackup(backupPath: string): Promise<ManifestFile[]> {
  const stat = fs.statSync(backupPath)
  if (!stat.isDirectory()) {
    return [{ path: path.basename(backupPath), bytes: stat.size, sha256: await sha256File(backupPath) }]
  }
  const files: ManifestFile[] = []
  for (const relative of entriesUnder(backupPath).files) {
    const file = path.join(backupPath, relative)
    files.push({ path: relative, bytes: fs.statSync(file).size, sha256: await sha256File(file) })
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
}

/**
 * What a directory holds, as the entries themselves are (never following a symbolic link): its
 * regular files, and anything else that is not a directory (a link, a pipe, a socket, a device),
 * each by its '/'-separated path inside it.
 */
function entriesUnder(directory: string): { files: string[]; others: { path: string; what: string }[] } {
  const files: string[] = []
  const others: { path: string; what: string }[] = []
  const walk = (relative: string) => {
    for (const entry of fs.readdirSync(path.join(directory, relative), { withFileTypes: true })) {
      const inside = relative ? `${relative}/${entry.name}` : entry.name
      if (entry.isDirectory()) walk(inside)
      else if (entry.isFile()) files.push(inside)
      else others.push({ path: inside, what: entry.isSymbolicLink() ? 'a symbolic link' : 'not a regular file' })
    }
  }
  walk('')
  return { files, others }
}

/** A file of the backup that is not as the manifest recorded it. */
export interface FileProblem {
  path: string
  /**
   * `not a file`: a link or other special file where the backup's regular files are (`actual`
   * says what); `files`: a single file where the manifest lists several; `format`: not the
   * manifest's format (`actual` and `expected` name them).
   */
  problem: 'missing' | 'extra' | 'size' | 'sha256' | 'not a file' | 'files' | 'format'
  expected?: string
  actual?: string
}

/**
 * Compares a stored backup's files with the manifest's, sizes first (cheap), then sha256.
 * Returns every difference; none means the backup is byte for byte what was verified, and
 * holds nothing else: pg_restore reads a directory archive's data file `N.dat` before the
 * `N.dat.gz` pg_dump wrote, so an unlisted file, or a symbolic link to anywhere, beside the
 * listed ones would be restored instead of them. A link is never followed, even to the listed
 * bytes (what it points to may change before pg_restore reads it).
 */
export async function checkBackupFiles(manifest: Manifest, backupPath: string): Promise<FileProblem[]> {
  const stat = fs.statSync(backupPath)
  if (!stat.isDirectory()) {
    const name = path.basename(backupPath)
    // The manifest of a directory backup lists its files, which may well lie beside this one, intact.
    if (manifest.files.length !== 1) return [{ path: name, problem: 'files', expected: String(manifest.files.length) }]
    // A single-file backup may have been renamed: its one file is compared whatever its name.
    return checkFile(manifest.files[0], backupPath, stat.size, name)
  }
  const { files, others } = entriesUnder(backupPath)
  const present = new Set(files)
  const special = new Map(others.map(other => [other.path, other.what]))
  const problems: FileProblem[] = []
  const expected = new Set(manifest.files.map(file => file.path))
  for (const file of manifest.files) {
    const what = special.get(file.path)
    if (what) problems.push({ path: file.path, problem: 'not a file', actual: what })
    else if (!present.has(file.path)) problems.push({ path: file.path, problem: 'missing' })
    else {
      const full = path.join(backupPath, file.path)
      problems.push(...(await checkFile(file, full, fs.statSync(full).size, file.path)))
    }
  }
  for (const file of files) if (!expected.has(file)) problems.push({ path: file, problem: 'extra' })
  for (const other of others) {
    if (!expected.has(other.path)) problems.push({ path: other.path, problem: 'not a file', actual: other.what })
  }
  return problems
}

async function checkFile(file: ManifestFile, full: string, bytes: number, name: string): Promise<FileProblem[]> {
  if (bytes !== file.bytes) return [{ path: name, problem: 'size', expected: String(file.bytes), actual: String(bytes) }]
  const sha256 = await sha256File(full)
  return sha256 === file.sha256 ? [] : [{ path: name, problem: 'sha256', expected: file.sha256, actual: sha256 }]
}

/**
 * The backup's format against the manifest's (told by content, backup-format.ts): a manifest
 * describes a backup of one format, and a kept plain backup is never compressed. Pure.
 */
export function formatProblem(
  manifest: Manifest,
  backup: { path: string; format: string; gzip: boolean }
): FileProblem | undefined {
  const same = backup.format === manifest.dump.format && !backup.gzip
  if (same) return undefined
  const actual = backup.gzip
    ? 'gzip-compressed plain SQL'
    : backup.format === 'plain'
      ? 'plain SQL'
      : `a ${backup.format} archive`
  return { path: path.basename(backup.path), problem: 'format', expected: manifest.dump.format, actual }
}

/** One line per problem, for the log and the verdict. */
export function describeFileProblem(problem: FileProblem): string {
  switch (problem.problem) {
    case 'missing':
      return `${problem.path}: missing`
    case 'extra':
      return `${problem.path}: not in the manifest`
    case 'size':
      return `${problem.path}: ${problem.actual} bytes, the manifest says ${problem.expected}`
    case 'sha256':
      return `${problem.path}: sha256 ${problem.actual}, the manifest says ${problem.expected}`
    case 'not a file':
      return `${problem.path}: ${problem.actual}, where the manifest allows only the regular files it lists`
    case 'files':
      return `${problem.path}: one file, but the manifest lists ${problem.expected} (the files of a directory backup)`
    case 'format':
      return `${problem.path}: ${problem.actual}, but the manifest describes a ${problem.expected} backup`
  }
}

// ---------------------------------------------------------------------------------------------
// Parsing and validation

/**
 * Parses and validates a manifest's text, against its engine's profile (the program, formats,
 * table kinds and column hashings it may name). Any problem is one UserError naming `source` and
 * the field at fault (`figures.tables[3].figures.rows`), so a hand-edited or truncated manifest is
 * refused before anything is restored.
 */
export function parseManifest(text: string, source: string, profile: ManifestProfile): Manifest {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw new UserError(
      `The manifest ${source} is not valid JSON (${(error as Error).message}): is it a lazarus-manifest.json, whole?`
    )
  }
  const at = new Fields(source)
  const root = at.object(value, '')
  if (root.kind !== MANIFEST_KIND) {
    throw new UserError(`The file ${source} is not a Lazarus manifest: its field 'kind' is not '${MANIFEST_KIND}'.`)
  }
  const version = at.integer(root.version, 'version')
  if (version > MANIFEST_VERSION || version < 1) {
    throw new UserError(
      `The manifest ${source} has version ${version}, which this Lazarus (manifest version ${MANIFEST_VERSION}) cannot read: ` +
        `use the Lazarus version that wrote it (field 'lazarus.version') or newer.`
    )
  }
  at.string(root.createdAt, 'createdAt')
  at.string(at.object(root.lazarus, 'lazarus').version, 'lazarus.version')
  const verdict = at.object(root.verdict, 'verdict')
  at.oneOf(verdict.result, 'verdict.result', ['verified', 'mismatch', 'restore-failed', 'error', 'restored'])
  at.optional(verdict.cleanroomServerVersion, 'verdict.cleanroomServerVersion', at.string)
  const production = at.object(root.production, 'production')
  for (const field of ['server', 'serverVersion', 'startedAt', 'database', 'encoding', 'collate', 'ctype']) {
    at.string(production[field], `production.${field}`)
  }
  at.integer(production.serverVersionNum, 'production.serverVersionNum')
  at.integer(production.major, 'production.major')
  at.optional(production.systemIdentifier, 'production.systemIdentifier', at.string)
  at.string(at.object(root.snapshot, 'snapshot').takenAt, 'snapshot.takenAt')
  const dump = at.object(root.dump, 'dump')
  at.oneOf(dump.program, 'dump.program', [profile.program])
  at.string(dump.version, 'dump.version')
  at.array(dump.arguments, 'dump.arguments').forEach((argument, index) => at.string(argument, `dump.arguments[${index}]`))
  at.oneOf(dump.format, 'dump.format', profile.formats)
  at.string(dump.compression, 'dump.compression')
  at.boolean(dump.ownersAndPrivileges, 'dump.ownersAndPrivileges')
  const files = at.array(root.files, 'files')
  if (files.length === 0) throw at.error('files', 'lists no file')
  const listed = new Set<string>()
  files.forEach((item, index) => {
    const file = at.object(item, `files[${index}]`)
    const name = at.string(file.path, `files[${index}].path`)
    if (name === '' || path.isAbsolute(name) || name.split('/').includes('..')) {
      throw at.error(`files[${index}].path`, 'must be a relative path inside the backup')
    }
    // Listed twice, one entry could say anything: a file has one size and one sha256.
    if (listed.has(name)) throw at.error(`files[${index}].path`, `lists ${JSON.stringify(name)} a second time`)
    listed.add(name)
    at.integer(file.bytes, `files[${index}].bytes`)
    if (!/^[0-9a-f]{64}$/.test(at.string(file.sha256, `files[${index}].sha256`))) {
      throw at.error(`files[${index}].sha256`, 'must be 64 lowercase hex digits')
    }
  })
  validateFigures(at, at.object(root.figures, 'figures'), profile)
  if (root.signature !== undefined) {
    const signature = at.object(root.signature, 'signature')
    at.oneOf(signature.algorithm, 'signature.algorithm', ['ed25519'])
    at.string(signature.publicKeySha256, 'signature.publicKeySha256')
    at.string(signature.value, 'signature.value')
  }
  return value as Manifest
}

function validateFigures(at: Fields, figures: Record<string, unknown>, profile: ManifestProfile): void {
  const computedOn = at.object(figures.computedOn, 'figures.computedOn')
  at.string(computedOn.serverVersion, 'figures.computedOn.serverVersion')
  at.integer(computedOn.serverVersionNum, 'figures.computedOn.serverVersionNum')
  at.integer(computedOn.major, 'figures.computedOn.major')
  const methods = at.object(figures.methods, 'figures.methods')
  if (methods.rowChecksum !== null) at.integer(methods.rowChecksum, 'figures.methods.rowChecksum')
  for (const name of ['schemaFingerprint', 'largeObjects', 'sequences', 'checkAnswers'])
    at.integer(methods[name], `figures.methods.${name}`)
  const settings = at.object(figures.pinnedSettings, 'figures.pinnedSettings')
  for (const [name, setting] of Object.entries(settings)) at.string(setting, `figures.pinnedSettings.${name}`)
  const verifyLevel = at.oneOf(figures.verify, 'figures.verify', ['counts', 'checksums'])
  if ((verifyLevel === 'checksums') !== (methods.rowChecksum !== null)) {
    throw at.error(
      'figures.methods.rowChecksum',
      `must be ${verifyLevel === 'checksums' ? 'a version' : 'null'} with verify '${verifyLevel}'`
    )
  }
  at.array(figures.tables, 'figures.tables').forEach((item, index) => {
    const where = `figures.tables[${index}]`
    const table = at.object(item, where)
    at.string(table.schema, `${where}.schema`)
    at.string(table.name, `${where}.name`)
    at.oneOf(table.kind, `${where}.kind`, profile.tableKinds)
    at.boolean(table.populated, `${where}.populated`)
    if (table.filter !== null) at.string(table.filter, `${where}.filter`)
    at.array(table.columns, `${where}.columns`).forEach((columnItem, columnIndex) => {
      const column = at.object(columnItem, `${where}.columns[${columnIndex}]`)
      at.string(column.name, `${where}.columns[${columnIndex}].name`)
      at.oneOf(column.hashing, `${where}.columns[${columnIndex}].hashing`, profile.columnHashings)
    })
    const tableFigures = at.object(table.figures, `${where}.figures`)
    at.optional(tableFigures.rows, `${where}.figures.rows`, at.integer)
    at.optional(tableFigures.checksum, `${where}.figures.checksum`, at.string)
    at.optional(tableFigures.error, `${where}.figures.error`, at.string)
    if (tableFigures.rows === undefined && tableFigures.error === undefined && table.derived !== true) {
      throw at.error(`${where}.figures`, 'has neither rows nor an error')
    }
    if (
      verifyLevel === 'checksums' &&
      table.derived !== true &&
      tableFigures.error === undefined &&
      tableFigures.checksum === undefined
    ) {
      throw at.error(`${where}.figures.checksum`, "is missing, but figures.verify is 'checksums'")
    }
    at.optional(table.derived, `${where}.derived`, at.boolean)
    at.optional(table.wholeTree, `${where}.wholeTree`, at.boolean)
  })
  validateObjects(at, figures.schema, 'figures.schema')
  if (figures.privileges !== undefined) validateObjects(at, figures.privileges, 'figures.privileges')
  validateObjects(at, figures.largeObjects, 'figures.largeObjects')
  const sequences = at.object(figures.sequences, 'figures.sequences')
  for (const side of ['before', 'after']) {
    at.array(sequences[side], `figures.sequences.${side}`).forEach((item, index) => {
      const where = `figures.sequences.${side}[${index}]`
      const sequence = at.object(item, where)
      at.string(sequence.name, `${where}.name`)
      at.string(sequence.lastValue, `${where}.lastValue`)
      at.boolean(sequence.isCalled, `${where}.isCalled`)
      at.string(sequence.increment, `${where}.increment`)
    })
  }
  if (figures.checks !== undefined) {
    at.array(figures.checks, 'figures.checks').forEach((item, index) => {
      const where = `figures.checks[${index}]`
      const check = at.object(item, where)
      at.string(check.name, `${where}.name`)
      at.boolean(check.ordered, `${where}.ordered`)
      if (check.expect !== undefined && check.expect !== null) at.string(check.expect, `${where}.expect`)
      at.string(check.sqlSha256, `${where}.sqlSha256`)
      const answer = at.object(check.answer, `${where}.answer`)
      at.optional(answer.rows, `${where}.answer.rows`, at.integer)
      at.optional(answer.multisetHash, `${where}.answer.multisetHash`, at.string)
      at.optional(answer.orderedHash, `${where}.answer.orderedHash`, at.string)
      at.optional(answer.error, `${where}.answer.error`, at.string)
      at.optional(answer.asExpected, `${where}.answer.asExpected`, at.boolean)
      if (answer.columns !== undefined) {
        at.array(answer.columns, `${where}.answer.columns`).forEach((column, i) =>
          at.string(column, `${where}.answer.columns[${i}]`)
        )
      }
      if (answer.sample !== undefined) {
        at.array(answer.sample, `${where}.answer.sample`).forEach((row, i) => at.string(row, `${where}.answer.sample[${i}]`))
      }
    })
  }
}

function validateObjects(at: Fields, value: unknown, where: string): void {
  at.array(value, where).forEach((item, index) => {
    const object = at.object(item, `${where}[${index}]`)
    at.string(object.kind, `${where}[${index}].kind`)
    at.string(object.name, `${where}[${index}].name`)
    at.string(object.definition, `${where}[${index}].definition`)
  })
}

/** Typed reads of a parsed JSON value, each naming the field in its error. */
class Fields {
  constructor(private readonly source: string) {}

  error(field: string, problem: string): UserError {
    return new UserError(
      `The manifest ${this.source} is invalid: field '${field || '(the whole file)'}' ${problem}. ` +
        `Use the manifest Lazarus wrote, unchanged.`
    )
  }

  object(value: unknown, field: string): Record<string, unknown> {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw this.error(field, this.got('an object', value))
    return value as Record<string, unknown>
  }

  array(value: unknown, field: string): unknown[] {
    if (!Array.isArray(value)) throw this.error(field, this.got('an array', value))
    return value
  }

  string = (value: unknown, field: string): string => {
    if (typeof value !== 'string') throw this.error(field, this.got('a string', value))
    return value
  }

  integer = (value: unknown, field: string): number => {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw this.error(field, this.got('a whole number, 0 or more', value))
    }
    return value
  }

  boolean = (value: unknown, field: string): boolean => {
    if (typeof value !== 'boolean') throw this.error(field, this.got('true or false', value))
    return value
  }

  oneOf<T extends string>(value: unknown, field: string, choices: readonly T[]): T {
    if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
      throw this.error(field, `must be one of ${choices.join(', ')} (it is ${describeValue(value)})`)
    }
    return value as T
  }

  optional<T>(value: unknown, field: string, read: (value: unknown, field: string) => T): T | undefined {
    return value === undefined ? undefined : read(value, field)
  }

  private got(wanted: string, value: unknown): string {
    return `must be ${wanted} (it is ${describeValue(value)})`
  }
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'missing'
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'object') return 'an object'
  const text = JSON.stringify(value)
  return text.length > 40 ? `${text.slice(0, 40)}…` : text
}
