import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { verifyBackup } from '../../../src/run/pipeline.js'
import { verifyStoredBackup } from '../../../src/run/stored-pipeline.js'
import { manifestBeside, parseManifest } from '../../../src/report/manifest.js'
import { readSettings } from '../../../src/run/settings.js'
import { postgres } from '../../../src/engines/postgres/index.js'
import { Workspace } from '../../../src/run/workspace.js'
import { createShop } from '../../support/shop.js'
import { realClientDir } from '../../support/tampered-client.js'
import { uniqueName } from '../../support/shared-servers.js'
import { POSTGRES_MANIFEST } from '../../../src/engines/postgres/restore-points.js'
import { emptyReport } from '../../support/empty-report.js'

// backup-compression (issue 12, Speed): a restore point kept uncompressed is still a backup
// pg_restore reads, its manifest says how it was written, and a later verification restores it
// from its manifest alone. Whole runs in this process, with the real servers and client tools.

/** pg_restore -l's header of an archive, as the real client reads it. */
function archiveHeader(backupPath: string): string {
  return execFileSync(path.join(realClientDir(), 'pg_restore'), ['-l', backupPath], { encoding: 'utf8' })
    .split('\n')
    .filter(line => line.startsWith(';'))
    .join('\n')
}

for (const format of ['custom', 'directory'] as const) {
  test(`backup-format ${format} with backup-compression none: kept uncompressed, said so, and verified again from its manifest`, async t => {
    const shop = await createShop(`keep_none_${format}`)
    const temp = mkdtempSync(path.join(os.tmpdir(), 'lazarus-keep-none-'))
    t.after(() => rmSync(temp, { recursive: true, force: true }))
    const backupDir = path.join(temp, 'points')
    const keepInputs = shop.inputs({ 'backup-dir': backupDir, 'backup-format': format, 'backup-compression': 'none' })
    const settings = readSettings(postgres, name => keepInputs[name] ?? '', { RUNNER_TEMP: path.join(temp, 'run1') })
    const report = emptyReport(shop.database)
    await verifyBackup(settings, new Workspace(path.join(temp, 'run1')), report)
    assert.equal(report.result, 'verified', JSON.stringify(report.error ?? report.result))
    const backupPath = report.restorePoint?.backupPath ?? ''
    assert.ok(backupPath.startsWith(backupDir), backupPath)

    const manifest = parseManifest(
      readFileSync(manifestBeside(backupPath), 'utf8'),
      manifestBeside(backupPath),
      POSTGRES_MANIFEST
    )
    assert.equal(manifest.dump.compression, 'none')
    assert.ok(manifest.dump.arguments.includes('--compress=0'), manifest.dump.arguments.join(' '))

    // What pg_dump wrote is uncompressed: pg_restore reads level 0 from its header, and the rows
    // are there as text (gzip would leave no readable 'São Paulo').
    assert.match(archiveHeader(backupPath), /^;\s+Compression: (0|none)$/m)
    const dataFiles =
      format === 'custom'
        ? [backupPath]
        : readdirSync(backupPath)
            .filter(name => name !== 'toc.dat')
            .map(name => path.join(backupPath, name))
    if (format === 'directory') {
      assert.ok(dataFiles.length > 5, 'one data file per table')
      assert.deepEqual(
        dataFiles.filter(file => !file.endsWith('.dat')),
        [],
        'no compressed data file (.dat.gz)'
      )
    }
    assert.ok(
      dataFiles.some(file => readFileSync(file).includes(Buffer.from('São Paulo'))),
      'the rows are written as they are'
    )

    // pg_restore restores it as a DBA would.
    const restored = uniqueName('kept_none')
    await shop.cleanroom.createDatabase(restored)
    execFileSync(
      path.join(realClientDir(), 'pg_restore'),
      [
        '--exit-on-error',
        '--no-owner',
        '--no-privileges',
        '-h',
        '127.0.0.1',
        '-p',
        String(shop.cleanroom.port),
        '-U',
        'postgres',
        '-d',
        restored,
        backupPath
      ],
      { env: { ...process.env, PGPASSWORD: shop.cleanroom.password }, stdio: 'pipe' }
    )
    const [row] = await shop.cleanroom.query<{ n: string }>('SELECT count(*) AS n FROM sales.orders', restored)
    assert.equal(Number(row.n), 800)

    // Later, without production: the stored backup verifies from its manifest alone.
    const storedInputs: Record<string, string> = {
      'cleanroom-url': keepInputs['cleanroom-url'],
      'cleanroom-password': keepInputs['cleanroom-password'],
      'backup-path': backupPath,
      jobs: '2'
    }
    const stored = readSettings(postgres, name => storedInputs[name] ?? '', { RUNNER_TEMP: path.join(temp, 'run2') })
    const storedReport = emptyReport(shop.database)
    await verifyStoredBackup(stored, new Workspace(path.join(temp, 'run2')), storedReport)
    assert.equal(storedReport.result, 'verified', JSON.stringify(storedReport.error ?? storedReport.result))
    assert.equal(storedReport.backup?.format, format)
    assert.equal(storedReport.backup?.contentProven, true)
    assert.ok(statSync(backupPath).size > 0)
  })
}
