import { before, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {
  MANIFEST_FILE,
  assertSignedBy,
  checkBackupFiles,
  manifestBeside,
  parseManifest,
  readVerifyKey,
  type Manifest
} from '../../src/report/manifest.js'
import type { Cluster } from '../support/shared-servers.js'
import { uniqueName } from '../support/shared-servers.js'
import { runAction, type ActionRun } from '../support/run-action.js'
import { createShop, type Shop } from '../support/shop.js'
import { realClientDir, tamperedClientDir } from '../support/tampered-client.js'
import { POSTGRES_MANIFEST } from '../../src/engines/postgres/restore-points.js'

// Issue 12, keep what was verified: a run with backup-dir keeps the backup it verified (each
// format), from the same pg_dump run, with a manifest of production's figures beside it, signed
// with signing-key; nothing secret is in it; the kept backup restores with the real client tools.

let production: Cluster
let cleanroom: Cluster
let shop: string
let inputs: Shop['inputs']
const { privateKey, publicKey } = generateKeyPairSync('ed25519')
const signingKey = String(privateKey.export({ type: 'pkcs8', format: 'pem' }))
const verifyKey = String(publicKey.export({ type: 'spki', format: 'pem' }))

before(async () => {
  ;({ production, cleanroom, database: shop, inputs } = await createShop('keep'))
})

function explain(run: ActionRun): string {
  return `exit ${run.exitCode}\n--- stdout ---\n${run.stdout.slice(-6000)}\n--- stderr ---\n${run.stderr.slice(-3000)}`
}

function backupDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lazarus-keep-'))
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
  return path.join(dir, 'nested', 'restore-points')
}

/** Restores a kept backup into a fresh database on the clean room with the real tools, as a DBA would. */
async function restoreKept(manifest: Manifest, backupPath: string): Promise<string> {
  const database = uniqueName('kept')
  await cleanroom.createDatabase(database)
  const bin = realClientDir()
  const env = { ...process.env, PGPASSWORD: cleanroom.password }
  const target = ['-h', '127.0.0.1', '-p', String(cleanroom.port), '-U', 'postgres', '-d', database]
  if (manifest.dump.format === 'plain') {
    execFileSync(path.join(bin, 'psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', backupPath, ...target], {
      env,
      stdio: 'pipe'
    })
  } else {
    execFileSync(path.join(bin, 'pg_restore'), ['--exit-on-error', '--no-owner', '--jobs=2', ...target, backupPath], {
      env,
      stdio: 'pipe'
    })
  }
  return database
}

/** Every line people or files could see: the log (less the masking commands), outputs, summary, report. */
function visible(run: ActionRun): string {
  const log = run.stdout
    .split('\n')
    .filter(line => !line.startsWith('::add-mask::'))
    .join('\n')
  return [log, run.stderr, run.summary, JSON.stringify(run.outputs), JSON.stringify(run.report ?? {})].join('\n')
}

const keyLines = signingKey.split('\n').filter(line => line && !line.startsWith('-----'))

for (const format of ['custom', 'directory', 'plain'] as const) {
  test(`backup-format ${format}: the verified backup is kept with a signed manifest of production's figures, and restores`, async () => {
    const dir = backupDir()
    // The drill (custom only, for time) reads its own sanitized copy beside the kept backup.
    const drill: Record<string, string> = format === 'custom' ? { sabotage: 'rogue-row' } : {}
    const run = await runAction(
      inputs({ 'backup-dir': dir, 'backup-format': format, 'signing-key': signingKey, checks: checksFile(), ...drill })
    )
    assert.equal(run.exitCode, 0, explain(run))
    assert.equal(run.outputs.result, 'verified')
    const backupPath = run.outputs['backup-path']
    const manifestPath = run.outputs['manifest-path']
    assert.ok(backupPath.startsWith(dir + path.sep), backupPath)
    assert.equal(manifestPath, manifestBeside(backupPath))
    assert.equal(path.basename(manifestPath), MANIFEST_FILE)
    const [pointDir] = readdirSync(dir)
    assert.match(pointDir, new RegExp(`^${shop}-\\d{8}T\\d{6}Z$`))
    assert.equal(path.dirname(backupPath), path.join(dir, pointDir))
    assert.equal(statSync(backupPath).isDirectory(), format === 'directory')
    // Production data: private to the runner's user.
    assert.equal(statSync(path.join(dir, pointDir)).mode & 0o777, 0o700)
    assert.equal(statSync(manifestPath).mode & 0o777, 0o600)

    const text = readFileSync(manifestPath, 'utf8')
    const manifest = parseManifest(text, manifestPath, POSTGRES_MANIFEST)
    assertSignedBy(manifest, readVerifyKey(verifyKey), manifestPath)
    assert.deepEqual(await checkBackupFiles(manifest, backupPath), [], 'every file is as the manifest says')
    if (format === 'directory')
      assert.ok(
        manifest.files.some(file => file.path === 'toc.dat'),
        'toc.dat is listed'
      )
    else assert.equal(manifest.files.length, 1)

    assert.equal(manifest.verdict.result, 'verified')
    assert.equal(manifest.production.database, shop)
    assert.equal(manifest.production.serverVersion, run.report.production.serverVersion)
    assert.equal(manifest.production.major, 13)
    assert.match(manifest.production.systemIdentifier ?? '', /^\d+$/)
    assert.equal(manifest.production.encoding, 'UTF8')
    assert.equal(manifest.dump.format, format)
    assert.equal(manifest.dump.version, run.report.tools.pg_dump.version)
    assert.ok(manifest.dump.arguments.includes(`--format=${format}`), manifest.dump.arguments.join(' '))
    assert.equal(manifest.dump.compression, format === 'plain' ? 'none' : 'gzip:1')
    assert.match(
      run.stdout,
      new RegExp(`Kept the ${format}-format backup at .*\\(.*, compression ${manifest.dump.compression}\\), manifest `),
      'the log says how the kept backup is compressed'
    )
    assert.ok(Date.parse(manifest.snapshot.takenAt) <= Date.parse(manifest.createdAt))
    assert.equal(manifest.figures.computedOn.major, 13)
    assert.equal(manifest.figures.verify, 'checksums')
    // The figures are production's as the report compared them.
    const reported = new Map<string, any>(
      run.report.tables.map((table: any) => [`${table.schema}.${table.name}`, table.production])
    )
    assert.equal(manifest.figures.tables.length, reported.size)
    for (const table of manifest.figures.tables) {
      assert.deepEqual(table.figures, reported.get(`${table.schema}.${table.name}`), `${table.schema}.${table.name}`)
    }
    assert.ok(manifest.figures.schema.length > 20, 'the schema fingerprint is there')
    assert.ok(manifest.figures.sequences.after.length > 0, 'sequences are there')
    assert.equal(manifest.figures.checks?.[0].name, 'order count')
    assert.equal(manifest.figures.checks?.[0].answer.rows, 1)
    assert.equal(manifest.figures.checks?.[0].answer.sample, undefined, 'no production values without show-values')

    // Nothing secret: neither password, nor the signing key, in the manifest or anywhere visible.
    for (const secret of [production.password, cleanroom.password, encodeURIComponent(production.password), ...keyLines]) {
      assert.ok(!text.includes(secret), 'a secret is in the manifest')
      assert.ok(!visible(run).includes(secret), 'a secret is in the log, outputs, summary or report')
    }
    assert.equal(run.report.restorePoint.signed, true)
    if (format === 'custom') assert.equal(run.report.sabotage[0].detected, true, 'the drill still catches its rogue row')
    assert.equal(run.report.restorePoint.format, format)

    // The kept backup restores with the real tools and holds the rows production held.
    const restored = await restoreKept(manifest, backupPath)
    for (const table of manifest.figures.tables.filter(table => table.kind === 'r' && !table.filter)) {
      const [row] = await cleanroom.query<{ n: string }>(
        `SELECT count(*) AS n FROM ONLY "${table.schema.replace(/"/g, '""')}"."${table.name.replace(/"/g, '""')}"`,
        restored
      )
      assert.equal(Number(row.n), table.figures.rows, `${table.schema}.${table.name}`)
    }
  })
}

function checksFile(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lazarus-keep-checks-'))
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
  const file = path.join(dir, 'checks.sql')
  writeFileSync(file, '-- check: order count\nSELECT count(*) FROM sales.orders;\n')
  return file
}

test('an unsigned restore point; two runs into one backup-dir keep two restore points', async () => {
  const dir = backupDir()
  const first = await runAction(inputs({ 'backup-dir': dir }))
  const second = await runAction(inputs({ 'backup-dir': dir }))
  for (const run of [first, second]) assert.equal(run.exitCode, 0, explain(run))
  assert.notEqual(first.outputs['backup-path'], second.outputs['backup-path'])
  assert.equal(readdirSync(dir).length, 2)
  const manifest = parseManifest(readFileSync(first.outputs['manifest-path'], 'utf8'), 'm', POSTGRES_MANIFEST)
  assert.equal(manifest.signature, undefined)
  assert.equal(manifest.dump.format, 'custom', 'custom is the default')
  assert.equal(path.extname(first.outputs['backup-path']), '.dump')
  assert.throws(() => assertSignedBy(manifest, readVerifyKey(verifyKey), 'm'), /is not signed, but 'verify-key' is set/)
})

test('without backup-dir nothing is kept and the outputs are empty', async () => {
  const run = await runAction(inputs())
  assert.equal(run.exitCode, 0, explain(run))
  assert.equal(run.outputs['backup-path'], '')
  assert.equal(run.outputs['manifest-path'], '')
  assert.equal(run.report.restorePoint, undefined)
})

test('a backup that does not restore leaves nothing in backup-dir', async () => {
  const dir = backupDir()
  const binDir = tamperedClientDir(`sed -i 's/^SET lock_timeout = 0;$/&\\nSELECT lazarus_no_such_function();/' "$DUMP"`)
  const run = await runAction(inputs({ 'backup-dir': dir, 'backup-format': 'plain', 'postgres-bin-dir': binDir }))
  assert.equal(run.exitCode, 1, explain(run))
  assert.equal(run.outputs.result, 'restore-failed')
  assert.equal(run.outputs['backup-path'], '')
  assert.equal(run.outputs['manifest-path'], '')
  assert.deepEqual(readdirSync(dir), [], 'the partial restore point is removed')
  assert.match(run.stdout, /::warning::Nothing kept in .*: the backup does not restore\./)
})

test('backup-format directory: a restore that fails in a data pipeline names the table; nothing is kept', async () => {
  const dir = backupDir()
  // A pg_dump whose directory backup holds a row that is not one (first line of the customers' data file).
  const binDir = tamperedClientDir(
    [
      'id=$("$(dirname "$0")/pg_restore" -l "$DUMP" | sed -n -E "s/^([0-9]+);.* TABLE DATA public customers .*/\\1/p")',
      'data="$DUMP/$id.dat.gz"',
      '{ echo "lazarus-not-a-row"; gzip -dc "$data"; } | gzip -1 > "$data.new"',
      'mv "$data.new" "$data"'
    ].join('\n')
  )
  const run = await runAction(inputs({ 'backup-dir': dir, 'backup-format': 'directory', jobs: '2', 'postgres-bin-dir': binDir }))
  assert.equal(run.exitCode, 1, explain(run))
  assert.equal(run.outputs.result, 'restore-failed', explain(run))
  assert.match(run.stdout, /Restoring directory archive in sections: .* over 2 pipeline\(s\)/, explain(run))
  assert.match(run.report.error, /invalid input syntax|missing data for column/, explain(run))
  assert.equal(run.report.restoreFailedAt, 'while restoring TABLE DATA public.customers', explain(run))
  assert.equal(run.outputs['backup-path'], '')
  assert.deepEqual(readdirSync(dir), [], 'the partial restore point is removed')
})

test('bad inputs: a backup-dir that cannot be created, an unknown format, a key that is not Ed25519', async t => {
  const fileDir = mkdtempSync(path.join(os.tmpdir(), 'lazarus-keep-file-'))
  t.after(() => rmSync(fileDir, { recursive: true, force: true }))
  const file = path.join(fileDir, 'a-file')
  writeFileSync(file, '')
  const blocked = await runAction(inputs({ 'backup-dir': path.join(file, 'sub') }))
  assert.equal(blocked.exitCode, 1)
  assert.match(
    blocked.stdout,
    /::error::Could not create the restore point in '.*a-file\/sub' \(input 'backup-dir'\): .*ENOTDIR.*Point backup-dir at a directory the runner may write to\./
  )
  const format = await runAction(inputs({ 'backup-format': 'tar' }))
  assert.match(format.stdout, /::error::Input 'backup-format' is 'tar': use one of custom, directory, plain\./)
  const rsa = String(generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }))
  const key = await runAction(inputs({ 'signing-key': rsa }))
  assert.match(key.stdout, /::error::Input 'signing-key' is a rsa key: Lazarus signs manifests with Ed25519 only/)
  for (const line of rsa.split('\n').filter(text => text && !text.startsWith('-----'))) {
    assert.ok(!visible(key).includes(line), 'the refused key is not shown')
  }
})

test('backup-compression zstd with the PostgreSQL 15 pg_dump: refused before anything is dumped, nothing kept', async () => {
  const dir = backupDir()
  const run = await runAction(inputs({ 'backup-dir': dir, 'backup-compression': 'zstd:3' }))
  assert.equal(run.exitCode, 1, explain(run))
  assert.match(
    run.stdout,
    /::error::Input 'backup-compression' is 'zstd:3', which pg_dump writes from PostgreSQL 16 on; the pg_dump this run uses is 15\.\d+ \(\/usr\/lib\/postgresql\/15\/bin\/pg_dump\), which writes only gzip: choose none or gzip .*postgres-bin-dir/
  )
  assert.doesNotMatch(run.stdout, /Dump, sanitize and restore/, 'nothing was dumped')
  assert.equal(existsSync(dir), false, 'no restore point, not even its directory')
})

for (const format of ['plain', 'directory'] as const) {
  test(`backup-format ${format}: a backup-dir that fills up fails naming it, and leaves no partial restore point`, async t => {
    if (process.getuid?.() !== 0) return t.skip('needs root to mount a small tmpfs')
    const mountPoint = mkdtempSync(path.join(os.tmpdir(), 'lazarus-small-backup-dir-'))
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0755', 'tmpfs', mountPoint], { encoding: 'utf8' })
    if (mounted.status !== 0) {
      rmSync(mountPoint, { recursive: true, force: true })
      return t.skip(`cannot mount a tmpfs here: ${mounted.stderr.trim()}`)
    }
    try {
      const run = await runAction(inputs({ 'backup-dir': mountPoint, 'backup-format': format }))
      assert.equal(run.exitCode, 1, explain(run))
      assert.equal(run.outputs.result, 'error')
      assert.match(
        run.report.error,
        new RegExp(
          `^The disk filled up while ${format === 'plain' ? 'tee' : 'pg_dump'} was writing the kept backup to ` +
            `${mountPoint}/${shop}-\\d{8}T\\d{6}Z\\.partial${format === 'directory' ? `/${shop}\\.dir` : ''} \\(No space left on device; .* free of 64\\.0 KiB\\)\\. ` +
            `A restore point needs room for the whole backup: free disk space there, or point input 'backup-dir' at a volume with room for it\\.$`
        )
      )
      assert.deepEqual(readdirSync(mountPoint), [], 'the partial restore point is removed')
      assert.equal(existsSync(run.outputs['backup-path'] || '/nonexistent'), false)
    } finally {
      spawnSync('umount', [mountPoint])
      rmSync(mountPoint, { recursive: true, force: true })
    }
  })
}
