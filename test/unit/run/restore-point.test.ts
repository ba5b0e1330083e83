import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import * as zlib from 'node:zlib'
import { engineFor } from '../../../src/engines/index.js'
import { postgres } from '../../../src/engines/postgres/index.js'
import { createRestorePoint, discardRestorePoint, restorePointsOf } from '../../../src/run/restore-point.js'
import { UserError } from '../../../src/util/errors.js'

test('restore points are a capability: PostgreSQL has it, MySQL/MariaDB has not and is refused in one line', async () => {
  const engine = await engineFor('production-url', 'postgresql://u@db/shop')
  assert.ok(engine.restorePoints)
  assert.deepEqual(engine.restorePoints.formats, ['custom', 'directory', 'plain'])
  assert.equal(engine.restorePoints.manifest.program, 'pg_dump')
  const mysql = await engineFor('production-url', 'mysql://u@db/shop')
  assert.equal(mysql.restorePoints, undefined)
  assert.throws(
    () => restorePointsOf(mysql),
    (error: unknown) =>
      error instanceof UserError &&
      !error.message.includes('\n') &&
      /^MySQL\/MariaDB keeps no restore points and verifies no stored backups: remove backup-dir, upload-dump/.test(error.message)
  )
})

test("a restore point is named and compressed by the engine's restore points", () => {
  const restorePoints = restorePointsOf(postgres)
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lazarus-restore-point-'))
  try {
    const time = new Date('2026-11-30T04:53:41.123Z')
    const named = (format: 'custom' | 'directory' | 'plain') =>
      createRestorePoint(restorePoints, {
        workDir,
        database: 'shop floor',
        format,
        compression: restorePoints.parseCompression('zstd:3', 'backup-compression'),
        jobs: 3,
        time
      })
    const custom = named('custom')
    assert.equal(path.basename(custom.path), 'shop_floor.dump')
    assert.equal(custom.compress, 'zstd:3')
    assert.equal(restorePoints.describeCompression(custom), 'zstd:3')
    assert.equal(path.basename(custom.directory), 'shop_floor-20261130T045341Z')
    assert.equal(custom.persistent, false)
    const directory = named('directory')
    assert.equal(path.basename(directory.path), 'shop_floor.dir')
    assert.equal(path.basename(directory.directory), 'shop_floor-20261130T045341Z-2', 'a second run in the same second')
    // A plain backup is pg_dump's SQL, never compressed, whatever backup-compression says.
    const plain = named('plain')
    assert.equal(path.basename(plain.path), 'shop_floor.sql')
    assert.equal(plain.compress, '0')
    assert.equal(restorePoints.describeCompression(plain), 'none')
    assert.deepEqual(restorePoints.defaultCompression('plain'), { method: 'none' })
    assert.deepEqual(restorePoints.defaultCompression('custom'), { method: 'gzip', level: 1 })
    for (const point of [custom, directory, plain]) discardRestorePoint(point)
    assert.deepEqual(fs.readdirSync(workDir), [])
  } finally {
    fs.rmSync(workDir, { recursive: true, force: true })
  }
})

test('how a kept backup was dumped, as its manifest records it', () => {
  const restorePoints = restorePointsOf(postgres)
  const tools = {
    pgDump: { path: '/usr/lib/postgresql/15/bin/pg_dump', version: '15.14', major: 15 },
    psql: { path: '/usr/lib/postgresql/15/bin/psql', version: '15.14', major: 15 }
  }
  const custom = { format: 'custom' as const, path: '/b/shop.dump', compress: '1', jobs: 2 }
  assert.deepEqual(restorePoints.keptDump(custom, tools, { withOwnersAndPrivileges: false, lockTimeoutSeconds: 60 }), {
    version: '15.14',
    arguments: ['--format=custom', '--compress=1', '--lock-wait-timeout=60s'],
    format: 'custom',
    compression: 'gzip:1',
    // An archive holds owners and privileges whatever the clean room could take.
    ownersAndPrivileges: true
  })
  const plain = { format: 'plain' as const, path: '/b/shop.sql', compress: '0', jobs: 2 }
  const dumped = restorePoints.keptDump(plain, tools, { withOwnersAndPrivileges: false, lockTimeoutSeconds: 5 })
  assert.deepEqual(dumped.arguments, ['--format=plain', '--no-owner', '--no-privileges', '--lock-wait-timeout=5s'])
  assert.equal(dumped.ownersAndPrivileges, false)
  assert.equal(
    restorePoints.keptDump(plain, tools, { withOwnersAndPrivileges: true, lockTimeoutSeconds: 5 }).ownersAndPrivileges,
    true
  )
  assert.throws(
    () =>
      restorePoints.requireCompressionSupport(
        restorePoints.parseCompression('zstd', 'backup-compression'),
        tools,
        'backup-compression'
      ),
    /Input 'backup-compression' is 'zstd', which pg_dump writes from PostgreSQL 16 on; the pg_dump this run uses is 15\.14/
  )
})

test('a stored backup through the capability: told by content, described, and its plain head read (owners, quoting, versions)', async () => {
  const restorePoints = restorePointsOf(postgres)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lazarus-stored-head-'))
  try {
    const head = (owner: string, quoting: string) =>
      '--\n-- PostgreSQL database dump\n--\n\n-- Dumped from database version 9.6.24\n-- Dumped by pg_dump version 15.14\n\n' +
      `SET standard_conforming_strings = ${quoting};\n\n--\n-- Name: t; Type: TABLE; Schema: public; Owner: ${owner}\n--\n\n` +
      'CREATE TABLE t (id int);\n\n--\n-- PostgreSQL database dump complete\n--\n\n'
    const tools = { psql: { path: '/nowhere/psql', version: '15.14', major: 15 } }
    const plain = path.join(dir, 'owners.sql')
    fs.writeFileSync(plain, head('app', 'on'))
    const backup = restorePoints.detectBackup(plain)
    assert.equal(restorePoints.describeBackup(backup), 'plain SQL')
    assert.deepEqual(restorePoints.restorePrograms(tools), { psql: { path: '/nowhere/psql', version: '15.14' } })
    const opened = await restorePoints.openBackup(backup, tools, path.join(dir, 'empty.list'))
    assert.equal(opened.readBy, undefined, 'plain SQL has no reader')
    assert.deepEqual(
      [opened.dumpedFrom, opened.dumpedBy, opened.dumpedFromMajor, opened.dumpedByMajor],
      ['9.6.24', '15.14', 9.6, 15]
    )
    assert.equal(opened.replaysOwners, true)
    assert.equal(opened.standardConformingStrings, true)
    const bare = path.join(dir, 'no-owner.sql.gz')
    fs.writeFileSync(bare, zlib.gzipSync(head('-', 'off')))
    const gzipped = restorePoints.detectBackup(bare)
    assert.equal(restorePoints.describeBackup(gzipped), 'plain SQL, gzip-compressed')
    const withoutOwners = await restorePoints.openBackup(gzipped, tools, path.join(dir, 'empty.list'))
    assert.equal(withoutOwners.replaysOwners, false, 'pg_dump --no-owner')
    assert.equal(withoutOwners.standardConformingStrings, false)
    assert.throws(
      () => restorePoints.detectBackup(path.join(dir, 'missing.dump')),
      /^UserError: Input 'backup-path' is '.*missing\.dump': it cannot be read/
    )
    // A backup another engine told would not be PostgreSQL's to open.
    await assert.rejects(restorePoints.openBackup({ ...backup, format: 'sql' }, tools, path.join(dir, 'empty.list')))
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
