import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { uniqueName, type Cluster } from '../support/shared-servers.js'
import { createShop, type Shop } from '../support/shop.js'
import { startFreezableProxy } from '../support/pg-proxy.js'
import { explain, runActionProcess, runPostStep, startAction, workspaceRunIds } from '../support/action-process.js'
import { assertOneError, lazarusDatabases, until } from '../support/run-checks.js'

// A stored backup (backup-path) is restored under the same bounds as the fresh run's stream: the
// server watch ends a run whose clean room stops answering within server-timeout-seconds, naming
// the clean room, and production's sessions (a manifest-less backup is compared with production
// as it is now) wait for a lock no longer than lock-timeout-seconds.

const PG_BIN = '/usr/lib/postgresql/15/bin'
let production: Cluster
let cleanroom: Cluster
let inputs: Shop['inputs']
let shop: string
let slow: string
const dir = mkdtempSync(path.join(os.tmpdir(), 'lazarus-stored-faults-'))
const backups: Record<string, string> = {}
const teardown: (() => Promise<unknown>)[] = []

/** Restores in seconds: its index is built row by row, sleeping a little per row in a Lazarus scratch database. */
const SLOW_RESTORE_SQL = `
CREATE FUNCTION public.slow_key(n integer) RETURNS integer LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF current_database() LIKE 'lazarus\\_%' THEN PERFORM pg_sleep(0.002); END IF;
  RETURN n;
END $$;
CREATE TABLE public.events (id integer PRIMARY KEY, payload text NOT NULL);
INSERT INTO public.events SELECT g, md5(g::text) FROM generate_series(1, 4000) g;
CREATE INDEX events_slow_key ON public.events (public.slow_key(id));
`

before(async () => {
  const created = await createShop('stored_faults')
  ;({ production, cleanroom, inputs, database: shop } = created)
  slow = uniqueName('slow_stored')
  await production.createDatabase(slow, SLOW_RESTORE_SQL)
  for (const [name, database] of [
    ['slow', slow],
    ['shop', shop]
  ] as const) {
    backups[name] = path.join(dir, `${name}.dump`)
    execFileSync(
      path.join(PG_BIN, 'pg_dump'),
      ['--format=custom', `--file=${backups[name]}`, `--dbname=${production.url(database)}`],
      {
        stdio: ['ignore', 'ignore', 'pipe']
      }
    )
  }
})

after(async () => {
  for (const step of teardown.reverse()) await step().catch(error => console.error('teardown:', error))
  rmSync(dir, { recursive: true, force: true })
})

describe('a stored backup is restored under the fresh run’s bounds', { concurrency: true }, () => {
  test('the clean room freezing during a stored restore ends the run within the bound, naming the clean room', async () => {
    const proxy = await startFreezableProxy(cleanroom.port)
    teardown.push(() => proxy.close())
    const url = `postgresql://postgres@127.0.0.1:${proxy.port}/postgres`
    const stepInputs = inputs({ 'backup-path': backups.slow, 'cleanroom-url': url, 'server-timeout-seconds': '3' }, slow)
    const action = await startAction(stepInputs, { timeoutMs: 240_000 })
    await action.waitForOutput(/::group::Sanitize and restore the stored backup/, 60_000)
    const [runId] = workspaceRunIds(action.runnerTemp)
    // psql building the slow index in the scratch database: the restore is under way.
    await until(
      'the restore to build its index',
      async () => {
        const rows = await cleanroom.query(
          `SELECT 1 FROM pg_stat_activity WHERE datname LIKE 'lazarus\\_${runId}%' AND query LIKE 'CREATE INDEX%' AND state = 'active'`
        )
        return rows.length > 0 ? true : undefined
      },
      action.stdout
    )
    proxy.freeze()
    const run = await action.finished
    assertOneError(
      run,
      new RegExp(
        `^::error::The clean room \\(postgres@127\\.0\\.0\\.1:${proxy.port}/postgres, 'cleanroom-url'\\) stopped answering: ` +
          `a probe \\(SELECT 1\\) got no reply within 3 s \\('server-timeout-seconds'\\) during "Sanitize and restore the stored backup \\(custom archive\\)".*` +
          `Scratch databases that could not be dropped there are dropped by the post step\\.`
      )
    )
    // Ended by itself (a hang is ended by the test's guard after 240 s, with a signal).
    assert.equal(run.signal, null, 'the action ended by itself')
    assert.match(
      run.stdout,
      /::warning::Could not drop scratch database\(s\) lazarus_\w+_backup on the clean room, which stopped answering/
    )
    const scratch = await lazarusDatabases(cleanroom, runId)
    assert.deepEqual(
      JSON.parse(run.state['lazarus-scratch-databases']),
      scratch,
      'the scratch database is left for the post step'
    )

    proxy.thaw()
    const post = await runPostStep(stepInputs, run)
    assert.equal(post.exitCode, 0, explain(post))
    assert.deepEqual(await lazarusDatabases(cleanroom, runId), [], 'the post step dropped it')
  })

  test('a clean room that drops a stored restore (its session terminated) is an error naming the clean room, not restore-failed', async () => {
    const action = await startAction(inputs({ 'backup-path': backups.slow }, slow))
    await action.waitForOutput(/::group::Sanitize and restore the stored backup/, 60_000)
    const [runId] = workspaceRunIds(action.runnerTemp)
    await until(
      "psql's session building the index",
      async () => {
        const rows = await cleanroom.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE datname LIKE 'lazarus\\_${runId}%' AND query LIKE 'CREATE INDEX%' AND state = 'active'`
        )
        if (rows.length === 0) return undefined
        await cleanroom.query(`SELECT pg_terminate_backend(${rows[0].pid})`)
        return true
      },
      action.stdout
    )
    const run = await action.finished
    assertOneError(
      run,
      new RegExp(
        `^::error::psql lost its connection to the clean room \\(lazarus_restore_\\w+@127\\.0\\.0\\.1:${cleanroom.port}/lazarus_\\w+_backup, ` +
          `'cleanroom-url'\\) during the restore, so the backup was not fully tried: .*terminating connection due to administrator command`
      )
    )
    assert.deepEqual(await lazarusDatabases(cleanroom, runId), [])
  })

  test('a production table locked while a stored backup is compared with it fails after lock-timeout-seconds, naming the table', async () => {
    const holder = new pg.Client({ connectionString: production.url(shop) })
    holder.on('error', () => undefined)
    await holder.connect()
    teardown.push(() => holder.end())
    await holder.query('BEGIN; LOCK TABLE public.customers IN ACCESS EXCLUSIVE MODE')
    const run = await runActionProcess(inputs({ 'backup-path': backups.shop, 'lock-timeout-seconds': '2' }))
    await holder.query('ROLLBACK')
    assertOneError(
      run,
      new RegExp(
        `waited (more than )?2 s for a lock on (table public\\.customers on )?production \\(postgres@127\\.0\\.0\\.1:${production.port}/${shop}, ` +
          `'production-url'\\).*raise 'lock-timeout-seconds' to wait longer\\.$`
      )
    )
    assert.deepEqual(await lazarusDatabases(cleanroom, workspaceRunIds(run.runnerTemp)[0]), [])
  })
})
