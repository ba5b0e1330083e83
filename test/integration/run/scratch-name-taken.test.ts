import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { CleanRoom } from '../../../src/run/cleanroom.js'
import { parseConnectionUrl } from '../../../src/engines/postgres/connection.js'
import { postgres } from '../../../src/engines/postgres/index.js'
import { leftoverState } from '../../../src/action/state.js'
import { recordLeftoversWith } from '../../../src/util/leftovers.js'
import { cleanroomCluster, productionCluster } from '../../support/shared-servers.js'
import { parseFileCommand } from '../../support/run-action.js'
import { errorAnnotations, explain, runPostStep } from '../../support/action-process.js'

// Issue 16: a scratch database is never orphaned, and Lazarus never drops a database it did not
// create. A name is recorded (for the post step) before CREATE DATABASE, and an unmarked database
// named like one of the run's is taken for one a kill left before its mark. So when CREATE
// DATABASE finds the name taken (42P04, duplicate_database: someone else's database, made before
// the run), the name must leave the record at once: neither the run's own cleanup nor the post
// step may then drop that database, which only looks like the run's.

const dir = mkdtempSync(path.join(os.tmpdir(), 'lazarus-name-taken-'))
const cleanups: (() => Promise<unknown>)[] = []
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined)
  rmSync(dir, { recursive: true, force: true })
})

test('a scratch database name that is taken stops the run, and neither the run nor the post step drops that database', async () => {
  const [production, cleanroom] = await Promise.all([productionCluster(), cleanroomCluster()])
  const runId = `${Date.now()}_${Math.random().toString(16).slice(2, 8)}`
  const taken = `lazarus_${runId}_backup`
  // Someone else's database, unmarked, under the very name this run will choose.
  await cleanroom.createDatabase(taken, 'CREATE TABLE precious (id integer); INSERT INTO precious VALUES (42);')
  cleanups.push(() => cleanroom.query(`DROP DATABASE IF EXISTS ${taken} WITH (FORCE)`))

  // What the run saves for the post step goes where the runner reads it.
  const stateFile = path.join(dir, 'save_state')
  writeFileSync(stateFile, '')
  const savedState = process.env.GITHUB_STATE
  process.env.GITHUB_STATE = stateFile
  cleanups.push(async () => {
    if (savedState === undefined) delete process.env.GITHUB_STATE
    else process.env.GITHUB_STATE = savedState
  })
  // As the main step does before anything is created: the run's leftovers are kept as state.
  recordLeftoversWith(leftoverState)
  cleanups.push(async () => recordLeftoversWith(undefined))

  const target = parseConnectionUrl('cleanroom-url', cleanroom.url('postgres'))
  const room = await CleanRoom.open(postgres, target, runId)
  await assert.rejects(
    room.create('backup', { characterSet: 'UTF8', collation: 'C', characterType: 'C' }),
    new RegExp(
      `^UserError: The clean room \\(postgres@127\\.0\\.0\\.1:${cleanroom.port}/postgres\\) already has a database named ${taken}, ` +
        `which this run did not create: Lazarus leaves it alone and stops\\.`
    )
  )
  // The run's own cleanup drops what is recorded as its own.
  await room.close()
  const rows = await cleanroom.query<{ id: number }>('SELECT id FROM precious', taken)
  assert.deepEqual(rows, [{ id: 42 }], "the run's cleanup left the other database as it was")

  const state = parseFileCommand(readFileSync(stateFile, 'utf8'))
  assert.equal(state['lazarus-run-id'], runId)
  assert.deepEqual(JSON.parse(state['lazarus-scratch-databases']), [], "the taken name is not recorded as the run's")

  // The post step, as the runner runs it after this main step, with what the run saved.
  const runnerTemp = mkdtempSync(path.join(dir, 'runner-'))
  const post = await runPostStep(
    { 'production-url': production.url('postgres'), 'cleanroom-url': cleanroom.url('postgres') },
    { runnerTemp, state: { ...state, 'lazarus-main-started': 'true' } }
  )
  assert.equal(post.exitCode, 0, explain(post))
  assert.deepEqual(errorAnnotations(post.stdout), [])
  const left = await cleanroom.query<{ id: number }>('SELECT id FROM precious', taken)
  assert.deepEqual(left, [{ id: 42 }], 'the post step left the other database as it was')
})
