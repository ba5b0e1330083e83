import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { gunzipSync } from 'node:zlib'
import { runAction, type ActionRun } from '../support/run-action.js'
import { createShop, type Shop } from '../support/shop.js'

// Issue 12, tried as an attacker who may write where the backups are kept, but not the manifest:
// the files' sha256 are the only proof of content when the manifest holds row counts only
// (verify: counts), so a backup that pg_restore reads must be byte for byte the files the
// manifest lists, and nothing else. And a manifest never lets the clean room be production.

const PG_BIN = '/usr/lib/postgresql/15/bin'
let shop: Shop
const dir = mkdtempSync(path.join(os.tmpdir(), 'lazarus-tamper-'))
let kept: { backup: string; manifest: string }
/** The same database after the restore point was kept: every customer's name changed, not one row more or less. */
let forged: { directory: string; custom: string }

function explain(run: ActionRun): string {
  return `exit ${run.exitCode}\n--- stdout ---\n${run.stdout.slice(-6000)}\n--- stderr ---\n${run.stderr.slice(-3000)}`
}

function pgDump(args: string[]): void {
  execFileSync(path.join(PG_BIN, 'pg_dump'), [...args, `--dbname=${shop.production.url(shop.database)}`], {
    stdio: ['ignore', 'ignore', 'pipe']
  })
}

/** Inputs of a verification from the manifest alone: no production-url. */
function storedInputs(extra: Record<string, string>): Record<string, string> {
  const { 'production-url': _url, 'production-password': _password, ...cleanroom } = shop.inputs()
  void _url
  void _password
  return { ...cleanroom, ...extra }
}

before(async () => {
  shop = await createShop('tamper')
  const keep = await runAction(
    shop.inputs({ 'backup-dir': path.join(dir, 'points'), 'backup-format': 'directory', verify: 'counts' })
  )
  assert.equal(keep.outputs.result, 'verified', explain(keep))
  kept = { backup: keep.outputs['backup-path'], manifest: keep.outputs['manifest-path'] }
  await shop.production.query("UPDATE public.customers SET full_name = 'Forged ' || id", shop.database)
  forged = { directory: path.join(dir, 'forged.dir'), custom: path.join(dir, 'forged.dump') }
  pgDump(['--format=directory', `--file=${forged.directory}`])
  pgDump(['--format=custom', `--file=${forged.custom}`])
})

after(() => rmSync(dir, { recursive: true, force: true }))

/** A copy of the kept restore point (backup and manifest side by side), to tamper with. */
function copyOfRestorePoint(name: string): { backup: string; manifest: string } {
  const root = path.join(dir, name)
  cpSync(path.dirname(kept.backup), root, { recursive: true })
  return { backup: path.join(root, path.basename(kept.backup)), manifest: path.join(root, path.basename(kept.manifest)) }
}

/** The data file of `table` in a directory-format backup, by pg_restore's list of it: its dump id and its name. */
function dataFileOf(backup: string, table: string): { id: string; name: string } {
  const listing = execFileSync(path.join(PG_BIN, 'pg_restore'), ['-l', backup], { encoding: 'utf8' })
  const entry = listing.split('\n').find(line => line.includes(` TABLE DATA public ${table} `))
  assert.ok(entry, `no TABLE DATA entry for ${table}`)
  const id = /^(\d+);/.exec(entry)![1]
  const name = readdirSync(backup).find(file => file === `${id}.dat` || file === `${id}.dat.gz`)
  assert.ok(name, `no data file for entry ${id}`)
  return { id, name }
}

/** Asserts the backup was refused by its files, before anything was restored, naming `file`. */
function assertRefusedByFiles(run: ActionRun, file: RegExp): void {
  assert.equal(run.exitCode, 1, explain(run))
  assert.equal(run.outputs.result, 'mismatch', explain(run))
  assert.ok(
    (run.report.backup.fileProblems as string[]).some(problem => file.test(problem)),
    JSON.stringify(run.report.backup.fileProblems)
  )
  assert.equal(run.report.timings.restore, undefined, 'nothing was restored')
}

test('the untouched restore point verifies (row counts only)', async () => {
  const copy = copyOfRestorePoint('untouched')
  const run = await runAction(storedInputs({ 'backup-path': copy.backup }))
  assert.equal(run.outputs.result, 'verified', explain(run))
  assert.equal(run.report.verify, 'counts')
})

test('a symbolic link beside the listed files that pg_restore would read first (NNNN.dat before NNNN.dat.gz) is refused', async () => {
  const copy = copyOfRestorePoint('symlinked')
  const { id } = dataFileOf(copy.backup, 'customers')
  const forgedData = dataFileOf(forged.directory, 'customers')
  const outside = path.join(dir, 'forged-customers.dat')
  const raw = readFileSync(path.join(forged.directory, forgedData.name))
  writeFileSync(outside, forgedData.name.endsWith('.gz') ? gunzipSync(raw) : raw)
  symlinkSync(outside, path.join(copy.backup, `${id}.dat`))
  // The attack is real: pg_restore reads the link's rows, not the listed, intact N.dat.gz.
  const sql = execFileSync(path.join(PG_BIN, 'pg_restore'), ['-f', '-', copy.backup], { maxBuffer: 64 * 1024 * 1024 })
  assert.ok(sql.includes('Forged 1\t'), 'pg_restore restores the forged rows')
  const run = await runAction(storedInputs({ 'backup-path': copy.backup }))
  assertRefusedByFiles(run, new RegExp(`^${id}\\.dat: `))
})

test("a listed file replaced by a symbolic link is refused, even to the file's own bytes", async () => {
  const copy = copyOfRestorePoint('linked-member')
  const { name } = dataFileOf(copy.backup, 'customers')
  const outside = path.join(dir, `moved-${name}`)
  cpSync(path.join(copy.backup, name), outside)
  rmSync(path.join(copy.backup, name))
  symlinkSync(outside, path.join(copy.backup, name))
  const run = await runAction(storedInputs({ 'backup-path': copy.backup }))
  assertRefusedByFiles(run, new RegExp(`^${name.replace(/\./g, '\\.')}: .*symbolic link`))
})

test("a single file beside a directory backup's files, with that directory's manifest, is not taken for the backup", async () => {
  // The manifest lists toc.dat and the data files, which are all there and intact; the file
  // that would be restored is another archive the manifest never describes.
  const copy = copyOfRestorePoint('another-file')
  const file = path.join(copy.backup, 'shop.dump')
  cpSync(forged.custom, file)
  const run = await runAction(storedInputs({ 'backup-path': file, 'manifest-path': copy.manifest }))
  assertRefusedByFiles(run, /shop\.dump: .*custom archive.*directory/)
})

test('a manifest never lets the clean room be the production server it describes', async () => {
  const copy = copyOfRestorePoint('onto-production')
  const run = await runAction(
    storedInputs({
      'backup-path': copy.backup,
      'cleanroom-url': shop.production.url('postgres', { password: null }),
      'cleanroom-password': shop.production.password
    })
  )
  assert.equal(run.exitCode, 1, explain(run))
  assert.equal(run.outputs.result, 'error', explain(run))
  assert.match(run.report.error, /is the production server .*manifest/)
  assert.equal(run.report.timings.restore, undefined, 'nothing was restored')
})
