import { after, before, test } from 'node:test'
import { spawnSync } from 'node:child_process'
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseConnectionUrl, type ConnectionTarget } from '../../../../src/engines/postgres/connection.js'
import { DatabaseSession } from '../../../../src/engines/postgres/database.js'
import { rewriteDump } from '../../../../src/drill/rewrite.js'
import { dropRowRewriter } from '../../../../src/engines/postgres/drill-rewriters.js'
import { restoreLocationCheckSql, type ClusterIdentity } from '../../../../src/engines/postgres/guards.js'
import { postgres } from '../../../../src/engines/postgres/index.js'
import { resolveClientTools, type ClientTools } from '../../../../src/engines/postgres/pg-tools.js'
import { buildSedProgram } from '../../../../src/engines/postgres/sanitize-rules.js'
import { streamDumpToRestore, type PostgresStreamOptions } from '../../../../src/engines/postgres/stream.js'
import { cleanroomCluster, productionCluster, uniqueName, type Cluster } from '../../../support/shared-servers.js'

// PostgreSQL's engine object streams and restores through the seam's methods
// (engines/types.ts streamDumpToRestore, restoreDumpFile): the real pg_dump, sed and psql
// against the shared servers, the outcome in the seam's neutral terms, PostgreSQL's own in `detail`.

let production: Cluster
let cleanroom: Cluster
let tools: ClientTools
let exporter: DatabaseSession
let productionTarget: ConnectionTarget
let snapshot: string
let identity: ClusterIdentity
let knownSettings: string[]
let workRoot: string
const productionDb = uniqueName('seam_stream_prod')
const created: string[] = []

before(async () => {
  ;[production, cleanroom] = await Promise.all([productionCluster(), cleanroomCluster()])
  tools = await resolveClientTools(13)
  await production.createDatabase(
    productionDb,
    `CREATE TABLE public.orders (id int PRIMARY KEY, label text);
     INSERT INTO public.orders SELECT g, 'order ' || g FROM generate_series(1, 300) g;
     CREATE TABLE public.notes (id int PRIMARY KEY, body text);
     INSERT INTO public.notes VALUES (1, 'first'), (2, 'second');`
  )
  productionTarget = parseConnectionUrl('production-url', production.url(productionDb))
  exporter = await DatabaseSession.open(productionTarget, 'production')
  snapshot = await exporter.beginSnapshot()
  const maintenance = await DatabaseSession.open(parseConnectionUrl('cleanroom-url', cleanroom.url('postgres')), 'cleanroom')
  identity = await maintenance.clusterIdentity()
  knownSettings = await maintenance.settingNames()
  await maintenance.close()
  workRoot = mkdtempSync(path.join(os.tmpdir(), 'lazarus-seam-stream-'))
})

after(async () => {
  await exporter.close()
  rmSync(workRoot, { recursive: true, force: true })
  for (const database of created) await cleanroom.query(`DROP DATABASE IF EXISTS ${database}`).catch(() => undefined)
})

/** A fresh work directory and a scratch database name on the clean room (created by the caller, or the gate's promise). */
function scratch(name: string): { workDir: string; database: string; target: ConnectionTarget; checkFile: string } {
  const workDir = path.join(workRoot, name)
  mkdirSync(workDir, { recursive: true })
  const database = uniqueName(`seam_${name}`)
  created.push(database)
  const checkFile = path.join(workDir, 'check.sql')
  writeFileSync(checkFile, restoreLocationCheckSql(database, identity))
  return { workDir, database, checkFile, target: parseConnectionUrl('cleanroom-url', cleanroom.url(database)) }
}

/** The sanitizer as the run builds it for this clean room, writing its removed lines, line index and (when asked) a copy. */
function sanitizer(workDir: string, copyFile?: string, pipeline = ''): string {
  return buildSedProgram({
    knownSettings,
    psqlUnderstandsRestrict: true,
    cleanroomMajor: 13,
    standardConformingStrings: true,
    removedLinesFile: path.join(workDir, `removed${pipeline}.sql`),
    linesFile: pipeline ? undefined : path.join(workDir, 'lines'),
    copyFile
  })
}

function streamOptions(checkFile: string, workDir: string, ready: Promise<unknown>): PostgresStreamOptions {
  return {
    snapshot,
    productionTakesOptions: true,
    restoreTargetReady: ready,
    checkFile,
    withOwnersAndPrivileges: false,
    jobs: 1,
    encoding: 'UTF8',
    linesFile: path.join(workDir, 'lines')
  }
}

async function count(database: string, table: string): Promise<number> {
  const [row] = await cleanroom.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`, database)
  return Number(row.n)
}

test("the engine's stream restores production's snapshot through the sanitizer, keeps its copy, and says so in neutral terms", async () => {
  const { workDir, database, target, checkFile } = scratch('fresh')
  const copyFile = path.join(workDir, 'backup.sql')
  const signals: string[] = []
  // The scratch database is made while pg_dump starts: psql waits for it at the gate.
  const ready = new Promise(resolve => setTimeout(resolve, 500)).then(() => cleanroom.createDatabase(database))
  const outcome = await streamDumpToRestore({
    tools,
    production: productionTarget,
    restoreInto: target,
    sanitizer: sanitizer(workDir, copyFile),
    workDir,
    keepDumpAt: copyFile,
    onDumpSnapshotStarted: async () => void signals.push('snapshot'),
    options: { ...streamOptions(checkFile, workDir, ready), onDumpEnded: succeeded => signals.push(`dump ${succeeded}`) }
  })
  assert.equal(outcome.ok, true, JSON.stringify(outcome))
  assert.deepEqual(
    outcome.stages.map(stage => [stage.stage, stage.exitCode]),
    [
      ['dump', 0],
      ['sanitize', 0],
      ['restore', 0]
    ]
  )
  assert.deepEqual(signals, ['dump true', 'snapshot'], 'told once each, when pg_dump ended')
  assert.ok(outcome.dumpBytes > 1000 && outcome.dumpBytes === outcome.detail.dumpBytes, `dumpBytes ${outcome.dumpBytes}`)
  assert.ok(outcome.seconds?.dump !== undefined && outcome.seconds.restore !== undefined, 'each program says when it ended')
  assert.ok(
    outcome.startedAt !== undefined && (outcome.restoreStartedAt ?? 0) >= outcome.startedAt,
    'and when the stream and psql started'
  )
  assert.equal(outcome.failedAt, undefined)
  assert.equal(await count(database, 'public.orders'), 300)
  assert.equal(await count(database, 'public.notes'), 2)
  // The sanitizer ran as the program the request gave: its copy of the stream is the dump psql restored.
  assert.match(readFileSync(copyFile, 'latin1'), /COPY public\.orders \(id, label\) FROM stdin;/)
  assert.equal(readFileSync(path.join(workDir, 'sanitize.sed'), 'utf8'), sanitizer(workDir, copyFile))
})

test("a restore that fails in the stream is the neutral outcome's: psql's stage, its error, and the object it stopped at", async () => {
  const { workDir, database, target, checkFile } = scratch('clash')
  // The scratch database already holds a table of production's name: the dump's CREATE TABLE fails there.
  await cleanroom.createDatabase(database, 'CREATE TABLE public.notes (id int);')
  const outcome = await streamDumpToRestore({
    tools,
    production: productionTarget,
    restoreInto: target,
    sanitizer: sanitizer(workDir),
    workDir,
    onDumpSnapshotStarted: async () => undefined,
    options: streamOptions(checkFile, workDir, Promise.resolve())
  })
  assert.equal(outcome.ok, false)
  const failed = outcome.stages.find(stage => stage.exitCode !== 0)
  assert.equal(failed?.stage, 'restore')
  assert.equal(failed?.program, tools.psql.path)
  assert.match(failed?.stderr ?? '', /relation "notes" already exists/)
  assert.equal(outcome.failedAt, 'while restoring TABLE public.notes')
  assert.ok(!outcome.detail.ok && outcome.detail.stage === 'restore' && outcome.detail.environmentError === undefined)
  // psql stopping on the dump is the backup's: nothing for the run to raise instead of judging it.
  assert.equal(outcome.fault, undefined)
  assert.equal(outcome.snapshotLost, undefined)
})

test('a directory-format restore point is dumped in parallel and restored in sections, each pipeline through its own sanitizer', async () => {
  const { workDir, database, target, checkFile } = scratch('directory')
  await cleanroom.createDatabase(database)
  const keptDir = path.join(workDir, 'kept')
  const pipelines: number[] = []
  const outcome = await streamDumpToRestore({
    tools,
    production: productionTarget,
    restoreInto: target,
    sanitizer: sanitizer(workDir),
    workDir,
    onDumpSnapshotStarted: async () => undefined,
    options: {
      ...streamOptions(checkFile, workDir, Promise.resolve()),
      keep: { format: 'directory', path: keptDir, compress: '0', jobs: 2 },
      jobs: 2,
      sanitizerFor: pipeline => {
        pipelines.push(pipeline)
        const program = path.join(workDir, `sanitize-${pipeline}.sed`)
        writeFileSync(program, sanitizer(workDir, undefined, `-${pipeline}`))
        return ['sed', '-n', '-E', '-f', program]
      }
    }
  })
  assert.equal(outcome.ok, true, JSON.stringify(outcome))
  assert.ok(existsSync(path.join(keptDir, 'toc.dat')), 'the restore point is kept')
  assert.ok((outcome.detail.pipelines ?? 0) > 2, `restored in sections: ${outcome.detail.pipelines} pipeline(s)`)
  assert.ok(pipelines.length > 0 && !pipelines.includes(1), `further pipelines ask for their sanitizer: ${pipelines}`)
  assert.equal(await count(database, 'public.orders'), 300)
  assert.equal(await count(database, 'public.notes'), 2)
})

test("a kept dump restores through restoreDumpFile, whole or as a drill's rewritten copy (its evidence decoded), and a failure is named in psql's words", async () => {
  const dumpDir = path.join(workRoot, 'kept-dump')
  mkdirSync(dumpDir, { recursive: true })
  const dump = path.join(dumpDir, 'backup.sql')
  // The kept dump, as a fresh stream keeps it (the sanitizer's copy).
  const source = scratch('source')
  await cleanroom.createDatabase(source.database)
  const streamed = await streamDumpToRestore({
    tools,
    production: productionTarget,
    restoreInto: source.target,
    sanitizer: sanitizer(source.workDir, dump),
    workDir: source.workDir,
    keepDumpAt: dump,
    onDumpSnapshotStarted: async () => undefined,
    options: streamOptions(source.checkFile, source.workDir, Promise.resolve())
  })
  assert.equal(streamed.ok, true)

  const whole = scratch('whole')
  await cleanroom.createDatabase(whole.database)
  const restored = await postgres.restoreDumpFile({
    tools,
    file: dump,
    restoreInto: whole.target,
    workDir: whole.workDir,
    options: { checkFile: whole.checkFile, encoding: 'UTF8' }
  })
  assert.equal(restored.ok, true, JSON.stringify(restored))
  assert.deepEqual(
    restored.stages.map(stage => [stage.stage, stage.exitCode]),
    [['restore', 0]]
  )
  assert.equal(await count(whole.database, 'public.orders'), 300)

  // A drill's copy as run/drill-copies.ts makes one: rewritten into a file of its own (drill/rewrite.ts),
  // its evidence decoded by the engine, then restored as it is.
  const copy = scratch('rewritten')
  await cleanroom.createDatabase(copy.database)
  const copyFile = path.join(copy.workDir, 'sabotage-drop-row.sql')
  const rewriter = dropRowRewriter({ schema: 'public', name: 'notes' }, ['id'])
  await rewriteDump(dump, copyFile, rewriter)
  const result = rewriter.result()
  const evidence = result && postgres.drillCopies?.evidence(result.evidence, { characterSet: 'UTF8', collation: 'C' })
  const rewritten = await postgres.restoreDumpFile({
    tools,
    file: copyFile,
    restoreInto: copy.target,
    workDir: copy.workDir,
    options: { checkFile: copy.checkFile, encoding: 'UTF8' }
  })
  assert.equal(rewritten.ok, true, JSON.stringify(rewritten))
  assert.match(evidence ?? '', /id/)
  assert.equal(await count(copy.database, 'public.notes'), 1, 'the rewriter dropped one row of the copy')
  assert.equal(await count(copy.database, 'public.orders'), 300)
  assert.match(readFileSync(dump, 'latin1'), /^2\tsecond$/m, 'the kept dump itself is unchanged')

  // The same dump into a database that already holds one of its tables: the restore stops there.
  const clash = scratch('file_clash')
  await cleanroom.createDatabase(clash.database, 'CREATE TABLE public.orders (id int);')
  const failed = await postgres.restoreDumpFile({
    tools,
    file: dump,
    restoreInto: clash.target,
    workDir: clash.workDir,
    options: { checkFile: clash.checkFile, encoding: 'UTF8' }
  })
  assert.equal(failed.ok, false)
  assert.match(failed.stages[0].stderr, /relation "orders" already exists/)
  // psql's words for the verdict (a drill copy's catch), and where it stopped; the backup's failure, no fault.
  assert.match(failed.restoreError ?? '', /relation "orders" already exists/)
  assert.equal(failed.fault, undefined)
  assert.equal(failed.failedAt, 'while restoring TABLE public.orders')
})

test('psql restores nothing where it was not checked: a kept dump sent to another database is refused before its first statement', async () => {
  const checked = scratch('checked')
  const elsewhere = scratch('elsewhere')
  await cleanroom.createDatabase(elsewhere.database)
  const dump = path.join(elsewhere.workDir, 'marker.sql')
  writeFileSync(dump, 'CREATE TABLE public.marker (id int);\n')
  await assert.rejects(
    postgres.restoreDumpFile({
      tools,
      file: dump,
      restoreInto: elsewhere.target,
      workDir: elsewhere.workDir,
      // The location check names the other database.
      options: { checkFile: checked.checkFile, encoding: 'UTF8' }
    }),
    /location check|not where Lazarus checked/
  )
  const [row] = await cleanroom.query<{ n: string }>(
    "SELECT count(*)::text AS n FROM pg_class WHERE relname = 'marker'",
    elsewhere.database
  )
  assert.equal(row.n, '0')
})

/** A plain dump as pg_dump writes one with owners: each table's TOC comment, its CREATE, then its ALTER ... OWNER TO. */
function dumpWithOwners(tables: string[], owner: string): string {
  const blocks = tables.map(
    table =>
      `--\n-- Name: ${table}; Type: TABLE; Schema: public; Owner: ${owner}\n--\n\n` +
      `CREATE TABLE public.${table} (\n    id integer\n);\n\n\nALTER TABLE public.${table} OWNER TO ${owner};\n\n`
  )
  return `SET statement_timeout = 0;\nSET client_encoding = 'UTF8';\n\n${blocks.join('')}`
}

test('a kept dump restored with its owners split out for the replay: a failure is named in the file psql read, where it stopped', async () => {
  // Six tables' ALTER ... OWNER TO go to the replay: psql's line numbers are those of what is left.
  const { workDir, database, target, checkFile } = scratch('replay_clash')
  await cleanroom.createDatabase(database, 'CREATE TABLE public.orders (id int);')
  const dump = path.join(workDir, 'owned.sql')
  writeFileSync(dump, dumpWithOwners(['a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'orders', 'z1'], 'postgres'))
  const failed = await postgres.restoreDumpFile({
    tools,
    file: dump,
    restoreInto: target,
    workDir,
    options: { checkFile, encoding: 'UTF8', replay: { plan: { standIns: new Map(), encoding: 'UTF8' }, as: target } }
  })
  assert.equal(failed.ok, false)
  assert.match(failed.stages[0].stderr, /relation "orders" already exists/)
  assert.equal(failed.failedAt, 'while restoring TABLE public.orders')
  for (const extra of ['.privileged.sql', '.unprivileged.sql', '.replay.sql']) {
    assert.equal(existsSync(`${dump}${extra}`), false, `${extra} removed`)
  }
})

test("a kept dump whose owners do not replay: the replay's error, never a place in the dump", async () => {
  const { workDir, database, target, checkFile } = scratch('replay_fails')
  await cleanroom.createDatabase(database)
  const dump = path.join(workDir, 'owned.sql')
  // The dump restores; its owner is a role the clean room lacks, so the replay stops at its line.
  writeFileSync(dump, dumpWithOwners(['a1', 'a2', 'a3'], 'lazarus_no_such_owner'))
  const failed = await postgres.restoreDumpFile({
    tools,
    file: dump,
    restoreInto: target,
    workDir,
    options: { checkFile, encoding: 'UTF8', replay: { plan: { standIns: new Map(), encoding: 'UTF8' }, as: target } }
  })
  assert.equal(failed.ok, false)
  assert.match(failed.stages[0].stderr, /owners and privileges did not replay: .*role "lazarus_no_such_owner" does not exist/s)
  assert.equal(failed.failedAt, undefined, 'no object of the dump was being restored')
  assert.equal(await count(database, 'public.a3'), 0, 'the tables themselves restored')
})

test("a full disk while a kept copy's owners and privileges are split out is the runner's fault, named, never the backup's", async t => {
  if (process.getuid?.() !== 0) return t.skip('needs root to mount a small tmpfs')
  const mountPoint = mkdtempSync(path.join(os.tmpdir(), 'lazarus-small-disk-'))
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', mountPoint], { encoding: 'utf8' })
  if (mounted.status !== 0) {
    rmSync(mountPoint, { recursive: true, force: true })
    return t.skip(`cannot mount a tmpfs here: ${mounted.stderr.trim()}`)
  }
  t.after(() => {
    spawnSync('umount', [mountPoint])
    rmSync(mountPoint, { recursive: true, force: true })
  })
  const { workDir, database, target, checkFile } = scratch('split_disk_full')
  await cleanroom.createDatabase(database)
  // The copy fits; the same again without its GRANT (the split's output, beside it) does not.
  const copy = path.join(mountPoint, 'sabotage-drop-row.sql')
  writeFileSync(copy, `${'-- filler line of a dump\n'.repeat(1600)}GRANT SELECT ON TABLE public.t TO PUBLIC;\n`)
  const outcome = await postgres.restoreDumpFile({
    tools,
    file: copy,
    restoreInto: target,
    workDir,
    options: { checkFile, encoding: 'UTF8', replay: { plan: { standIns: new Map(), encoding: 'UTF8' }, as: target } }
  })
  assert.equal(outcome.ok, false)
  assert.match(
    outcome.fault?.message ?? '',
    new RegExp(
      `^The disk filled up while Lazarus was writing a copy of the dump without its owners and privileges to ${mountPoint} ` +
        '\\(No space left on device; .+ free of 64\\.0 KiB\\)\\. With sabotage or upload-dump, '
    )
  )
  assert.equal(outcome.fault?.name, 'UserError', 'one clear line, no stack')
  assert.deepEqual(readdirSync(mountPoint), ['sabotage-drop-row.sql'], 'the partial split is removed')
})
