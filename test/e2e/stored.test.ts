import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { gzipSync } from 'node:zlib'
import { runAction, type ActionRun } from '../support/run-action.js'
import { createShop, type Shop } from '../support/shop.js'
import { newerArchiveHeader } from '../support/archive-header.js'
import type { Cluster } from '../support/shared-servers.js'

// Issue 12: a stored backup (backup-path) without a manifest is restore-tested through the
// bundled action: every format pg_dump writes, told by content; version skew sanitized; an
// unreadable backup is one error naming the file; a schema that moved on is a mismatch.

const PG_BIN = '/usr/lib/postgresql/15/bin'
let production: Cluster
let shop: string
let inputs: Shop['inputs']
const dir = mkdtempSync(path.join(os.tmpdir(), 'lazarus-stored-e2e-'))
const backups: Record<string, string> = {}

function pgDump(args: string[], database = shop): void {
  execFileSync(path.join(PG_BIN, 'pg_dump'), [...args, `--dbname=${production.url(database)}`], {
    stdio: ['ignore', 'ignore', 'pipe']
  })
}

before(async () => {
  ;({ production, database: shop, inputs } = await createShop('stored'))
  // Names that do not give the format away: Lazarus must read the content.
  backups.plain = path.join(dir, 'plain.backup')
  pgDump(['--format=plain', `--file=${backups.plain}`])
  backups.gzip = path.join(dir, 'gzip.backup')
  writeFileSync(backups.gzip, gzipSync(readFileSync(backups.plain)))
  backups.custom = path.join(dir, 'custom.backup')
  pgDump(['--format=custom', `--file=${backups.custom}`])
  backups.directory = path.join(dir, 'directory.backup')
  pgDump(['--format=directory', '--jobs=2', `--file=${backups.directory}`])
  backups.tar = path.join(dir, 'tar.backup')
  pgDump(['--format=tar', `--file=${backups.tar}`])
})

after(() => rmSync(dir, { recursive: true, force: true }))

function explain(run: ActionRun): string {
  return `exit ${run.exitCode}\n--- stdout ---\n${run.stdout.slice(-6000)}\n--- stderr ---\n${run.stderr.slice(-3000)}`
}

async function productionTables(database = shop): Promise<number> {
  const [row] = await production.query<{ n: string }>(
    `SELECT count(*) AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'`,
    database
  )
  return Number(row.n)
}

for (const format of ['plain', 'gzip', 'custom', 'directory', 'tar'] as const) {
  test(`a stored ${format} backup without a manifest restores: restored, its content not proven`, async () => {
    // A plain dump replays its owners, which only a superuser can (archives restore without them).
    const plainSql = format === 'plain' || format === 'gzip'
    const run = await runAction(
      inputs({ 'backup-path': backups[format], jobs: '2', ...(plainSql ? { 'restore-role': 'superuser' } : {}) })
    )
    assert.equal(run.exitCode, 0, explain(run))
    assert.equal(run.report.restoreRights.superuser, plainSql, explain(run))
    assert.equal(run.outputs.result, 'restored')
    assert.equal(Number(run.outputs.tables), await productionTables())
    assert.equal(run.outputs['mismatched-tables'], '0')
    assert.match(run.stdout, /::notice title=Lazarus%3A restored%2C content not proven::/)
    assert.match(run.summary, /content was not proven/)
    const report = run.report
    assert.equal(report.backup.format, format === 'gzip' ? 'plain' : format)
    assert.equal(report.backup.gzip, format === 'gzip')
    assert.equal(report.backup.contentProven, false)
    assert.equal(report.backup.dumpedFrom.split('.')[0], '13')
    // Custom and directory archives restore in sections, the data over `jobs` pipelines.
    assert.equal(report.backup.pipelines, format === 'custom' || format === 'directory' ? 4 : 1, 'pipelines')
    assert.ok(report.tools.psql.version.startsWith('15'))
    if (format !== 'plain' && format !== 'gzip') assert.ok(report.tools.pg_restore)
    assert.ok(report.timings.restore > 0)
    // The location check ran before the backup: no scratch database is left behind.
    assert.doesNotMatch(run.stdout, /Kept the restored database/)
  })
}

test('production that moved on: rows are shown beside the backup, still restored; a schema change is a mismatch', async () => {
  const moved = await createShop('stored_moved')
  const file = path.join(dir, 'moved.dump')
  pgDump(['--format=custom', `--file=${file}`], moved.database)
  await production.query(
    "INSERT INTO public.audit_log (happened_at, action) VALUES (now(), 'after the backup'), (now(), 'and more')",
    moved.database
  )
  const rows = await runAction(moved.inputs({ 'backup-path': file }))
  assert.equal(rows.outputs.result, 'restored', explain(rows))
  const audit = rows.report.tables.find((table: { name: string }) => table.name === 'audit_log')
  assert.equal(audit.restored.rows + 2, audit.production.rows)
  assert.match(audit.unproven, /production has \d+ now/)
  assert.match(rows.summary, /Production rows \(now\)/)
  await production.query('ALTER TABLE public.products ADD COLUMN note text', moved.database)
  const schema = await runAction(moved.inputs({ 'backup-path': file }))
  assert.equal(schema.exitCode, 1, explain(schema))
  assert.equal(schema.outputs.result, 'mismatch')
  assert.ok(
    schema.report.schema.some((difference: { name: string }) => /products/.test(difference.name)),
    explain(schema)
  )
})

test('by default (restore-role: unprivileged) a stored plain backup with owners restores, its owners and grants replayed by the clean-room role', async () => {
  const run = await runAction(inputs({ 'backup-path': backups.plain }))
  assert.equal(run.exitCode, 0, explain(run))
  assert.equal(run.outputs.result, 'restored', explain(run))
  assert.equal(run.report.restoreRights.superuser, false)
  assert.equal(run.report.privileges.compared, true, explain(run))
  assert.match(run.stdout, /Replaying \d+ ownership and privilege statement\(s\) of the dump as the clean-room role/)
})

test('a stored backup with version skew is sanitized as a fresh dump is', async () => {
  const plain = readFileSync(backups.plain, 'latin1')
  // pg_dump 17 and later write transaction_timeout, which a PostgreSQL 13 clean room does not know.
  const skewed = plain.replace('SET statement_timeout = 0;\n', 'SET statement_timeout = 0;\nSET transaction_timeout = 0;\n')
  assert.notEqual(skewed, plain)
  const file = path.join(dir, 'skewed.sql')
  writeFileSync(file, skewed, 'latin1')
  const run = await runAction(inputs({ 'backup-path': file, 'restore-role': 'superuser' }))
  assert.equal(run.outputs.result, 'restored', explain(run))
  assert.ok(
    run.report.sanitized.some((item: { parameter: string }) => item.parameter === 'transaction_timeout'),
    JSON.stringify(run.report.sanitized)
  )
})

test('an archive restored in sections reports what the sanitizer removed in each of them', async () => {
  // pg_dump 15 writes `SEQUENCE NAME ... LOGGED` for an unlogged table's identity, in the pre-data
  // section, which a PostgreSQL 13 clean room cannot parse: the first of four pipelines removes it.
  const skew = await createShop(
    'stored_sections',
    `CREATE UNLOGGED TABLE public.queue (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, job text);
     INSERT INTO public.queue (job) VALUES ('a'), ('b');`
  )
  const file = path.join(dir, 'sections.dump')
  pgDump(['--format=custom', `--file=${file}`], skew.database)
  const run = await runAction(skew.inputs({ 'backup-path': file, jobs: '2' }))
  assert.equal(run.outputs.result, 'restored', explain(run))
  assert.equal(run.report.backup.pipelines, 4, 'pre-data, two data pipelines, post-data')
  assert.deepEqual(
    run.report.sanitized.filter((item: { rule: string }) => item.rule === 'identity-sequence-logged'),
    [{ parameter: 'SEQUENCE NAME ... LOGGED', lines: 1, rule: 'identity-sequence-logged' }]
  )
})

test('a stored backup that does not restore is restore-failed, naming where it stopped', async () => {
  const plain = readFileSync(backups.plain, 'latin1')
  const broken = plain.replace(/(\n-- Data for Name: customers;[^\n]*\n)/, '$1\nSELECT no_such_function();\n')
  assert.notEqual(broken, plain)
  const file = path.join(dir, 'broken.sql')
  writeFileSync(file, broken, 'latin1')
  const run = await runAction(inputs({ 'backup-path': file, 'restore-role': 'superuser' }))
  assert.equal(run.exitCode, 1)
  assert.equal(run.outputs.result, 'restore-failed', explain(run))
  assert.match(run.report.error, /no_such_function/)
  assert.equal(run.report.restoreFailedAt, 'while restoring TABLE DATA public.customers')
})

test('a stored backup holding a psql meta-command is refused before psql runs it: nothing runs on the runner', async () => {
  // A plain dump from a pg_dump older than \\restrict (before 15.14), edited where the backups
  // are kept: psql itself would run `\\!` as a shell command on the runner.
  const marker = path.join(dir, 'pwned')
  const plain = readFileSync(backups.plain, 'latin1').replace(/^\\(un)?restrict .*\n/gm, '')
  const hostile = plain.replace(/(\n-- Data for Name: customers;[^\n]*\n)/, `$1\n\\! touch ${marker}\n`)
  assert.notEqual(hostile, plain)
  const file = path.join(dir, 'hostile.sql')
  writeFileSync(file, hostile, 'latin1')
  const run = await runAction(inputs({ 'backup-path': file, 'restore-role': 'superuser' }))
  assert.equal(run.exitCode, 1, explain(run))
  assert.equal(run.outputs.result, 'error', explain(run))
  assert.match(run.report.error, /^The dump holds the psql meta-command \\! outside any string, body or comment/)
  assert.equal(existsSync(marker), false, 'psql never ran the shell command')
})

/** Runs Lazarus on a backup it cannot read: one error naming the file and the cause. */
async function unreadable(file: string, cause: RegExp): Promise<void> {
  // As a superuser: a plain backup with owners would otherwise be refused before it is read.
  const run = await runAction(inputs({ 'backup-path': file, 'restore-role': 'superuser' }))
  assert.equal(run.exitCode, 1, explain(run))
  assert.equal(run.outputs.result, 'error', explain(run))
  assert.ok(run.report.error.includes(file), run.report.error)
  assert.match(run.report.error, cause)
  assert.ok(!run.report.error.includes('\n'), 'one line')
  assert.match(run.stdout, new RegExp(`::error::.*${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`))
}

test('unreadable stored backups: truncated archive, wrong file, archives of a newer pg_dump, gzip error', async () => {
  const custom = readFileSync(backups.custom)
  const truncated = path.join(dir, 'truncated.dump')
  writeFileSync(truncated, custom.subarray(0, Math.floor(custom.length * 0.8)))
  await unreadable(
    truncated,
    /\(custom archive\) cannot be read: pg_restore: error: (could not read from input file|could not find block ID \d+ in archive|.*end of file)/
  )

  const wrong = path.join(dir, 'notes.dump')
  writeFileSync(wrong, 'These are my notes, not a backup.\n')
  await unreadable(wrong, /not a PostgreSQL backup/)

  // Archives of pg_dump 18 (archive version 1.16) and 16 (1.15), custom and directory, as their
  // headers are written (support/archive-header.ts): pg_restore 15 reads up to 1.14.
  for (const [minor, needed] of [
    [16, 17],
    [15, 16]
  ] as const) {
    const header = (format: 'custom' | 'directory') =>
      Buffer.concat([
        newerArchiveHeader({ format, minor, database: shop, serverVersion: '18.1', pgDumpVersion: '18.1' }),
        // An empty table of contents: pg_restore 15 stops at the version before reading it.
        Buffer.from([0, 0, 0, 0, 0])
      ])
    const newerCustom = path.join(dir, `newer-1.${minor}.dump`)
    writeFileSync(newerCustom, header('custom'))
    const newerDirectory = path.join(dir, `newer-1.${minor}.dir`)
    mkdirSync(newerDirectory)
    writeFileSync(path.join(newerDirectory, 'toc.dat'), header('directory'))
    for (const [file, format] of [
      [newerCustom, 'custom'],
      [newerDirectory, 'directory']
    ] as const) {
      await unreadable(
        file,
        new RegExp(
          `\\(${format} archive\\) has archive version 1\\.${minor}, written by pg_dump ${needed} or newer; ` +
            `pg_restore 15\\.\\d+ \\(${PG_BIN}/pg_restore\\) reads archive versions up to 1\\.14, so it cannot read it: ` +
            `install the PostgreSQL ${needed} client or newer \\(postgresql-client-${needed}\\) and point postgres-bin-dir at its bin directory`
        )
      )
    }
  }

  const gz = readFileSync(backups.gzip)
  const cut = path.join(dir, 'cut.sql.gz')
  writeFileSync(cut, gz.subarray(0, Math.floor(gz.length / 2)))
  await unreadable(cut, /\(gzip-compressed plain dump\) cannot be read: gzip: .*unexpected end of file/)

  const plain = readFileSync(backups.plain)
  const cutPlain = path.join(dir, 'cut.sql')
  writeFileSync(cutPlain, plain.subarray(0, Math.floor(plain.length / 2)))
  await unreadable(cutPlain, /truncated/)
  assert.ok(statSync(backups.custom).size > 1000)
})

test('without a manifest, amcheck still checks the restored copy, and checks are said not to run', async () => {
  const checks = path.join(dir, 'checks.sql')
  writeFileSync(checks, '-- check: customers\nSELECT count(*) FROM public.customers;\n')
  const run = await runAction(inputs({ 'backup-path': backups.custom, amcheck: 'true', checks }))
  assert.equal(run.outputs.result, 'restored', explain(run))
  assert.ok(run.report.amcheck.indexes > 0, explain(run))
  assert.match(run.stdout, /::warning title=Lazarus%3A checks not compared::The 1 check\(s\) of 'checks' are not run/)
})
