import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { verifyBackup } from '../../../src/run/pipeline.js'
import type { Report } from '../../../src/report/report.js'
import { readRunSettings } from '../../../src/run/settings.js'
import { postgres } from '../../../src/engines/postgres/index.js'
import { mysql } from '../../../src/engines/mysql/index.js'
import type { Engine } from '../../../src/engines/types.js'
import { Workspace } from '../../../src/run/workspace.js'
import { createShop } from '../../support/shop.js'
import { createMariadbDatabase, mariadbInputs, MYSQL_SHOP_SQL, tamperedMariadbClients } from '../../support/engines.js'
import { mariadbCleanroom } from '../../support/mariadb.js'
import { emptyReport } from '../../support/empty-report.js'
import { capturingStdout } from '../../support/capture-stdout.js'

// A restore that fails is the backup's only when the backup is to blame, for every engine: a drill
// copy the restore program stops on is the drill's catch (detectedBy 'restore', report.ts
// judgeDrill), and a backup it stops on is `restore-failed`; a restore the clean room ends (its
// session killed, as a restart or an out-of-memory kill would) says nothing about the dump, and is
// an error of the run (PostgreSQL: pg-tools.ts cleanroomRestoreError; MySQL: fault-classes.ts).
// The engine's restore words the failure (StreamOutcome.restoreError or fault); the run judges it.

type After = { after(fn: () => unknown): void }

/** Makes the engine's drill plans start their copy with `firstLine`, before the plan's own corruption, for the test. */
function copiesStartingWith(engine: Engine, firstLine: string, t: After): void {
  const planDrill = engine.planDrill
  t.after(() => {
    engine.planDrill = planDrill
  })
  engine.planDrill = (operator, catalog) => {
    const plan = planDrill(operator, catalog)
    if (!('rewriter' in plan)) return plan
    const rewriter = plan.rewriter
    let first = true
    return {
      ...plan,
      rewriter: {
        push(line: string) {
          if (!first) return rewriter.push(line)
          first = false
          return [firstLine, ...rewriter.push(line)]
        },
        result: () => rewriter.result()
      }
    }
  }
}

/** Kills, once, the clean-room session `find` finds (polled), as a restart of the clean room would; says whether it did. */
function killWhenSeen(find: () => Promise<string | undefined>, kill: (id: string) => Promise<unknown>, t: After): () => boolean {
  let killed = false
  const killer = setInterval(() => {
    void find()
      .then(async id => {
        if (!id || killed) return
        killed = true
        await kill(id)
      })
      .catch(() => undefined)
  }, 200)
  t.after(() => clearInterval(killer))
  return () => killed
}

/** A MariaDB clean-room session running a statement that holds `marker`, killed. */
async function killMariadbSession(marker: string, t: After): Promise<() => boolean> {
  const cleanroom = await mariadbCleanroom()
  return killWhenSeen(
    async () =>
      (
        await cleanroom.sql(
          `SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE '%AS ${marker}%' AND INFO NOT LIKE '%PROCESSLIST%'`
        )
      ).split('\n')[1],
    id => cleanroom.sql(`KILL CONNECTION ${id}`),
    t
  )
}

/** Runs the action's run in-process; what it threw, if anything, with its report and log. */
async function run(
  database: string,
  inputs: Record<string, string>,
  t: After
): Promise<{ report: Report; output: string; thrown?: unknown }> {
  const runnerTemp = mkdtempSync(path.join(os.tmpdir(), 'lazarus-restore-failures-'))
  t.after(() => rmSync(runnerTemp, { recursive: true, force: true }))
  const settings = await readRunSettings(name => inputs[name] ?? '', { RUNNER_TEMP: runnerTemp })
  const report: Report = emptyReport(database, settings.verify)
  let thrown: unknown
  const { output } = await capturingStdout(() =>
    verifyBackup(settings, new Workspace(runnerTemp), report).catch((error: unknown) => void (thrown = error))
  )
  return { report, output, thrown }
}

function assertCaughtByTheRestore({ report, output, thrown }: Awaited<ReturnType<typeof run>>): void {
  assert.equal(thrown, undefined, `${String(thrown)}\n${output.slice(-3000)}`)
  assert.equal(report.result, 'verified', `${report.error ?? ''}\n${output.slice(-3000)}`)
  const [drill] = report.sabotage
  assert.equal(drill?.detected, true, drill?.evidence)
  assert.equal(drill.detectedBy, 'restore', drill.evidence)
  // The restore program's own words.
  assert.match(drill.evidence, /restore failed: .*lazarus_no_such_function/)
}

function assertTheRunsError({ report, output, thrown }: Awaited<ReturnType<typeof run>>, killed: boolean): void {
  assert.equal(killed, true, 'the restore never reached the waiting statement')
  const [drill] = report.sabotage
  assert.ok(
    thrown instanceof Error,
    `the run went on as if the restore had been tried: ${drill?.evidence ?? report.error}\n${output.slice(-2000)}`
  )
  assert.match(thrown.message, /clean room/)
  assert.ok(
    !(drill?.detected && drill.detectedBy === 'restore'),
    `a session the clean room ended was the drill's catch: ${drill?.evidence}`
  )
  assert.notEqual(report.result, 'restore-failed', `a session the clean room ended was the backup's failure: ${report.error}`)
}

test('PostgreSQL: a sabotaged copy that psql stops on is caught by the restore, and the run still verifies', async t => {
  const shop = await createShop('drill_copy_fails')
  copiesStartingWith(postgres, 'SELECT lazarus_no_such_function();', t)
  assertCaughtByTheRestore(await run(shop.database, shop.inputs({ sabotage: 'drop-row' }), t))
})

test('MariaDB: a sabotaged copy that the client stops on is caught by the restore, and the run still verifies', async t => {
  const { database } = await createMariadbDatabase('drill_copy_fails', MYSQL_SHOP_SQL)
  copiesStartingWith(mysql, 'SELECT lazarus_no_such_function();', t)
  assertCaughtByTheRestore(await run(database, await mariadbInputs(database, { sabotage: 'drop-row' }), t))
})

test("PostgreSQL: a drill copy whose clean-room session is terminated mid-restore is the run's error, not the drill's catch", async t => {
  const shop = await createShop('drill_copy_lost')
  const marker = `lazarus_wait_${process.pid}`
  copiesStartingWith(postgres, `SELECT pg_catalog.pg_sleep(60) AS ${marker};`, t)
  const killed = killWhenSeen(
    async () =>
      (
        await shop.cleanroom.query<{ pid: number }>(
          `SELECT pid FROM pg_catalog.pg_stat_activity WHERE query LIKE '%AS ${marker}%' AND pid <> pg_catalog.pg_backend_pid()`
        )
      )[0]?.pid.toString(),
    pid => shop.cleanroom.query(`SELECT pg_catalog.pg_terminate_backend(${pid})`),
    t
  )
  assertTheRunsError(await run(shop.database, shop.inputs({ sabotage: 'drop-row' }), t), killed())
})

test("MariaDB: a drill copy whose clean-room session is killed mid-restore is the run's error, not the drill's catch", async t => {
  const { database } = await createMariadbDatabase('drill_copy_lost', MYSQL_SHOP_SQL)
  const marker = `lazarus_wait_${process.pid}`
  copiesStartingWith(mysql, `SELECT SLEEP(60) AS ${marker};`, t)
  const killed = await killMariadbSession(marker, t)
  assertTheRunsError(await run(database, await mariadbInputs(database, { sabotage: 'drop-row' }), t), killed())
})

test("MariaDB: a backup whose clean-room session is killed mid-restore is the run's error, not a backup that does not restore", async t => {
  const { database } = await createMariadbDatabase('stream_lost', MYSQL_SHOP_SQL)
  const marker = `lazarus_stream_wait_${process.pid}`
  // The real dump, with a first statement that waits.
  const inputs = await mariadbInputs(database, { 'mysql-bin-dir': tamperedMariadbClients(`1a SELECT SLEEP(60) AS ${marker};`) })
  const killed = await killMariadbSession(marker, t)
  assertTheRunsError(await run(database, inputs, t), killed())
})
