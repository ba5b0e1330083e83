import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import { MysqlSession } from '../../../src/engines/mysql/database.js'
import { MysqlMaintenance } from '../../../src/engines/mysql/maintenance.js'
import type { DatabaseDefaults } from '../../../src/engines/types.js'
import { verifyBackup } from '../../../src/run/pipeline.js'
import { readRunSettings } from '../../../src/run/settings.js'
import { Workspace } from '../../../src/run/workspace.js'
import { capturingStdout } from '../../support/capture-stdout.js'
import { emptyReport } from '../../support/empty-report.js'
import { createMariadbDatabase, mariadbInputs, MYSQL_SHOP_SQL } from '../../support/engines.js'

// MySQL's snapshot holds every writer of production behind its global read lock until the dump's
// snapshot has begun (Engine.snapshotHoldsWriters): the run creates the scratch database before it
// takes the lock, so that a clean room slow to create it never holds production's writers.

test("MariaDB: production's snapshot lock is never held while the clean room creates the scratch database", async t => {
  const { database } = await createMariadbDatabase('lock_scratch', MYSQL_SHOP_SQL)
  const inputs = await mariadbInputs(database)
  const runnerTemp = mkdtempSync(path.join(os.tmpdir(), 'lazarus-lock-scratch-'))
  t.after(() => rmSync(runnerTemp, { recursive: true, force: true }))

  // Whether production's lock is held, as the sessions take and release it.
  let lockHeld = false
  let lockTaken!: () => void
  const taken = new Promise<void>(resolve => (lockTaken = resolve))
  const begin = MysqlSession.prototype.beginSnapshot
  const release = MysqlSession.prototype.releaseSnapshotLock
  const create = MysqlMaintenance.prototype.createScratchDatabase
  const heldWhileCreating: boolean[] = []
  // Whether the scratch database existed when production's lock was asked for.
  let created = false
  const createdBeforeLock: boolean[] = []
  MysqlSession.prototype.beginSnapshot = async function (this: MysqlSession) {
    createdBeforeLock.push(created)
    const id = await begin.call(this)
    lockHeld = true
    lockTaken()
    return id
  }
  MysqlSession.prototype.releaseSnapshotLock = async function (this: MysqlSession) {
    lockHeld = false
    return release.call(this)
  }
  // A clean room slow to create the database: it answers once production's lock is taken (a run
  // that took the lock meanwhile), or after a second (a run that waits for it before the lock).
  MysqlMaintenance.prototype.createScratchDatabase = async function (this: MysqlMaintenance, name: string, d: DatabaseDefaults) {
    await Promise.race([taken, new Promise(resolve => setTimeout(resolve, 1000))])
    heldWhileCreating.push(lockHeld)
    const made = await create.call(this, name, d)
    created = true
    return made
  }
  t.after(() => {
    MysqlSession.prototype.beginSnapshot = begin
    MysqlSession.prototype.releaseSnapshotLock = release
    MysqlMaintenance.prototype.createScratchDatabase = create
  })

  const settings = await readRunSettings(name => inputs[name] ?? '', { RUNNER_TEMP: runnerTemp })
  const report = emptyReport(database, settings.verify)
  await capturingStdout(() => verifyBackup(settings, new Workspace(runnerTemp), report))
  assert.equal(report.result, 'verified', JSON.stringify(report.error))
  assert.deepEqual(heldWhileCreating, [false], "production's writers waited on the clean room's CREATE DATABASE")
  assert.deepEqual(createdBeforeLock, [true], 'the scratch database is made before the lock is asked for')
})
