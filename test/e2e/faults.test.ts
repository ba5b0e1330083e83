import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { uniqueName, type Cluster } from '../support/shared-servers.js'
import { createShop, SLOW_RESTORE_SQL, type Shop } from '../support/shop.js'
import { realClientDir, tamperedClientDir } from '../support/tampered-client.js'
import { startNewerCluster } from '../support/newer-cluster.js'
import { startCluster } from '../support/cluster.js'
import { startFreezableProxy } from '../support/pg-proxy.js'
import {
  errorAnnotations,
  explain,
  runActionProcess,
  runPostStep,
  startAction,
  workspaceRunIds
} from '../support/action-process.js'
import { assertOneError, lazarusDatabases, until } from '../support/run-checks.js'

// Issue 16, section 2: no hang, no wrong blame, nothing left behind. A server that freezes, a
// connection psql cannot open or loses, a clean room without production's extensions, a lock on
// a production table, a cancel mid-verification, a kill between CREATE DATABASE and its mark, and
// a full disk each end in one clear error naming the server (or file) and the fix.

let production: Cluster
let cleanroom: Cluster
let inputs: Shop['inputs']
let slow: string
let many: string
const teardown: (() => Promise<unknown>)[] = []

/** Many small tables: verifying the restored copy takes a few seconds of many short queries. */
const MANY_TABLES_SQL = `
DO $$
BEGIN
  FOR i IN 1..400 LOOP
    EXECUTE format('CREATE TABLE public.t%s (id integer PRIMARY KEY, body text)', i);
    EXECUTE format('INSERT INTO public.t%s SELECT g, md5(g::text) FROM generate_series(1, 20) g', i);
  END LOOP;
END $$;
`

before(async () => {
  const shop = await createShop('faults')
  ;({ production, cleanroom, inputs } = shop)
  slow = uniqueName('slow_faults')
  many = uniqueName('many_faults')
  await Promise.all([production.createDatabase(slow, SLOW_RESTORE_SQL), production.createDatabase(many, MANY_TABLES_SQL)])
})

after(async () => {
  for (const step of teardown.reverse()) await step().catch(error => console.error('teardown:', error))
})

/** A session held open by the test (to hold locks), closed at teardown. */
async function holdSession(cluster: Cluster, database: string): Promise<pg.Client> {
  const client = new pg.Client({ host: '127.0.0.1', port: cluster.port, user: 'postgres', password: cluster.password, database })
  client.on('error', () => undefined)
  await client.connect()
  teardown.push(() => client.end())
  return client
}

/** Processes whose command line or environment mentions `text` (a run's RUNNER_TEMP): the run's leftovers. */
function processesMentioning(text: string): string[] {
  const found: string[] = []
  for (const pid of readdirSync('/proc').filter(entry => /^\d+$/.test(entry))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8')
      if (cmdline.includes(text) || environ.includes(text)) found.push(`${pid}: ${cmdline.replace(/\0/g, ' ')}`)
    } catch {
      // gone, or not readable
    }
  }
  return found
}

/** A postgres-bin-dir whose psql (only) runs with extra environment, pg_dump the real one. */
function clientDirWithPsqlEnv(env: string): string {
  const real = realClientDir()
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lazarus-psql-env-'))
  teardown.push(async () => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(path.join(dir, 'pg_dump'), `#!/usr/bin/env bash\nexec "${real}/pg_dump" "$@"\n`)
  writeFileSync(
    path.join(dir, 'psql'),
    `#!/usr/bin/env bash\ncase "$1" in --version|-V) ;; *) export ${env};; esac\nexec "${real}/psql" "$@"\n`
  )
  for (const program of ['pg_dump', 'psql']) chmodSync(path.join(dir, program), 0o755)
  return dir
}

describe('faults end in one clear, correctly blamed error', { concurrency: true }, () => {
  describe('a server that freezes mid-run', () => {
    test('production freezing during the dump ends the run naming production, within the bound, leaving nothing', async () => {
      const proxy = await startFreezableProxy(production.port)
      teardown.push(() => proxy.close())
      const url = `postgresql://postgres@127.0.0.1:${proxy.port}/${slow}`
      const action = await startAction(inputs({ 'production-url': url, 'server-timeout-seconds': '3' }, slow), {
        timeoutMs: 240_000
      })
      await action.waitForOutput(/::group::Dump, sanitize and restore/, 60_000)
      proxy.freeze()
      const frozenAt = performance.now()
      const run = await action.finished
      const seconds = (performance.now() - frozenAt) / 1000
      proxy.thaw()
      assertOneError(
        run,
        new RegExp(
          `^::error::Production \\(postgres@127\\.0\\.0\\.1:${proxy.port}/${slow}, 'production-url'\\) stopped answering: ` +
            `a probe \\(SELECT 1\\) got no reply within 3 s \\('server-timeout-seconds'\\) during "Dump, sanitize and restore`
        )
      )
      // 3 s, plus the probe in flight (0.75 s), plus cleanup; generous for a loaded machine (a run
      // that hangs is killed by the test's guard after 240 s).
      assert.ok(seconds < 60, `ended ${seconds.toFixed(1)} s after the freeze`)
      assert.equal(run.signal, null, 'the action ended by itself')
      const [runId] = workspaceRunIds(run.runnerTemp)
      assert.deepEqual(await lazarusDatabases(cleanroom, runId), [], 'the scratch database was dropped')
      assert.deepEqual(processesMentioning(run.runnerTemp), [], 'no pg_dump, psql or sed of the run is left')
      const sessions = await until('production sessions to end', async () => {
        const rows = await production.query(
          `SELECT pid FROM pg_stat_activity WHERE datname = '${slow}' AND application_name = 'lazarus'`
        )
        return rows.length === 0 ? rows : undefined
      })
      assert.deepEqual(sessions, [], "none of the run's sessions stays on production")
    })

    test('the clean room freezing during the restore names the clean room; the post step drops what it left', async () => {
      const proxy = await startFreezableProxy(cleanroom.port)
      teardown.push(() => proxy.close())
      const url = `postgresql://postgres@127.0.0.1:${proxy.port}/postgres`
      const stepInputs = inputs({ 'cleanroom-url': url, 'server-timeout-seconds': '3' }, slow)
      const action = await startAction(stepInputs, { timeoutMs: 240_000 })
      await action.waitForOutput(/::group::Dump, sanitize and restore/, 60_000)
      const [runId] = workspaceRunIds(action.runnerTemp)
      await until(
        'the scratch database',
        async () => ((await lazarusDatabases(cleanroom, runId)).length > 0 ? true : undefined),
        action
      )
      proxy.freeze()
      const frozenAt = performance.now()
      const run = await action.finished
      const seconds = (performance.now() - frozenAt) / 1000
      assertOneError(
        run,
        new RegExp(
          `^::error::The clean room \\(postgres@127\\.0\\.0\\.1:${proxy.port}/postgres, 'cleanroom-url'\\) stopped answering: ` +
            `a probe \\(SELECT 1\\) got no reply within 3 s \\('server-timeout-seconds'\\) during "Dump, sanitize and restore.*` +
            `Scratch databases that could not be dropped there are dropped by the post step\\.`
        )
      )
      assert.ok(seconds < 60, `ended ${seconds.toFixed(1)} s after the freeze`)
      assert.match(
        run.stdout,
        /::warning::Could not drop scratch database\(s\) lazarus_\w+_backup on the clean room, which stopped answering/
      )
      assert.deepEqual(processesMentioning(run.runnerTemp), [], 'no pg_dump, psql or sed of the run is left')
      const scratch = await lazarusDatabases(cleanroom, runId)
      assert.deepEqual(
        JSON.parse(run.state['lazarus-scratch-databases']),
        scratch,
        'the scratch database is left for the post step'
      )

      proxy.thaw()
      const post = await runPostStep(stepInputs, run)
      assert.equal(post.exitCode, 0, explain(post))
      assert.deepEqual(errorAnnotations(post.stdout), [])
      assert.deepEqual(await lazarusDatabases(cleanroom, runId), [], 'the post step dropped it')
    })
  })

  describe('right blame: only the backup is ever "restore-failed"', () => {
    test('a clean room psql cannot connect to is an error naming the clean room, not a backup that does not restore', async () => {
      // psql (alone) is sent to an address where nothing listens; Lazarus's own sessions connect fine.
      const run = await runActionProcess(inputs({ 'postgres-bin-dir': clientDirWithPsqlEnv('PGHOSTADDR=127.0.0.2') }))
      assertOneError(
        run,
        new RegExp(
          `^::error::psql could not connect to the clean room \\(lazarus_restore_\\w+@127\\.0\\.0\\.1:${cleanroom.port}/lazarus_\\w+_backup, ` +
            `'cleanroom-url'\\), so the backup was not tried: psql: error: connection to server at "127\\.0\\.0\\.2", ` +
            `port ${cleanroom.port} failed: Connection refused`
        )
      )
      assert.deepEqual(await lazarusDatabases(cleanroom, workspaceRunIds(run.runnerTemp)[0]), [])
    })

    test('a clean room that drops the restore (its session terminated) is an error naming the clean room', async () => {
      const action = await startAction(inputs({}, slow))
      await action.waitForOutput(/::group::Dump, sanitize and restore/, 60_000)
      const [runId] = workspaceRunIds(action.runnerTemp)
      const pattern = `lazarus\\_${runId}%`
      await until(
        "psql's session",
        async () => {
          const rows = await cleanroom.query<{ pid: number }>(
            // psql's session, building the slow index: not one of Lazarus's own short sessions
            // there (the restore role's login check, the size probe).
            `SELECT pid FROM pg_stat_activity WHERE datname LIKE '${pattern}' AND application_name = 'lazarus'
             AND query LIKE 'CREATE INDEX%' AND state = 'active'`
          )
          if (rows.length === 0) return undefined
          await cleanroom.query(`SELECT pg_terminate_backend(${rows[0].pid})`)
          return true
        },
        action
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

    test("a clean room without production's extensions fails before the dump; other versions are the servers' difference", async () => {
      // PostgreSQL 18 dropped adminpack (13 ships it) and ships hstore 1.8 (13: 1.7).
      const newer = await startNewerCluster('cleanroom-18')
      teardown.push(() => newer.stop())
      const missing = uniqueName('with_adminpack')
      const versions = uniqueName('with_hstore')
      await production.createDatabase(
        missing,
        `CREATE EXTENSION adminpack; CREATE EXTENSION hstore;
         CREATE TABLE public.t (id integer PRIMARY KEY, h public.hstore); INSERT INTO public.t VALUES (1, 'a=>1');`
      )
      await production.createDatabase(
        versions,
        `CREATE EXTENSION hstore; CREATE TABLE public.t (id integer PRIMARY KEY, h public.hstore);
         INSERT INTO public.t SELECT g, ('k=>' || g)::public.hstore FROM generate_series(1, 50) g;`
      )
      const onNewer = (database: string) =>
        inputs({ 'cleanroom-url': newer.url('postgres', { password: null }), 'cleanroom-password': newer.password }, database)
      const [lacking, differing] = await Promise.all([runActionProcess(onNewer(missing)), runActionProcess(onNewer(versions))])

      assertOneError(
        lacking,
        new RegExp(
          `^::error::The clean room \\(postgres@127\\.0\\.0\\.1:${newer.port}/postgres, 'cleanroom-url'\\) lacks extension\\(s\\) ` +
            `that production uses: adminpack 2\\.1; it offers no version of it, so the restore would fail on CREATE EXTENSION, ` +
            `whatever the backup holds\\. Run the clean room on a server or image that ships it`
        )
      )
      assert.doesNotMatch(lacking.stdout, /\[command\].*pg_dump/, 'nothing was dumped')
      assert.deepEqual(await lazarusDatabases(newer), [])

      // The backup restores; only the servers differ. (Other differences a newer clean room shows,
      // such as PostgreSQL 18's MAINTAIN privilege in table ACLs, are not this test's subject.)
      assert.notEqual(differing.outputs.result, 'restore-failed', explain(differing))
      assert.notEqual(differing.outputs.result, 'error', explain(differing))
      assert.deepEqual(differing.report.environment, [
        {
          kind: 'extension',
          name: 'hstore',
          production: '1.7',
          cleanroom: '1.8',
          detail: "the dump's CREATE EXTENSION installs the clean room's default version 1.8, not production's 1.7"
        }
      ])
      assert.deepEqual(
        differing.report.schema.filter((difference: { kind: string }) => difference.kind === 'extension'),
        [],
        'the version is not counted as a difference of the backup'
      )
      assert.match(
        differing.stdout,
        /::warning title=Lazarus%3A clean room differs from production::Extension hstore: production has version 1\.7, the clean room restores 1\.8/
      )
    })
  })

  describe('locks on production', () => {
    test("a table locked during the whole run stops Lazarus's own session first, naming the table, production and lock-timeout-seconds", async () => {
      const database = uniqueName('locked_table')
      await production.createDatabase(
        database,
        `CREATE TABLE public.orders (id integer PRIMARY KEY); INSERT INTO public.orders VALUES (1);`
      )
      const holder = await holdSession(production, database)
      await holder.query('BEGIN; LOCK TABLE public.orders IN ACCESS EXCLUSIVE MODE')
      const run = await runActionProcess(inputs({ 'lock-timeout-seconds': '2' }, database))
      await holder.query('ROLLBACK')
      assertOneError(
        run,
        new RegExp(
          `^::error::Lazarus waited 2 s for a lock on table public\\.orders on production \\(postgres@127\\.0\\.0\\.1:${production.port}/${database}, ` +
            `'production-url'\\).*raise 'lock-timeout-seconds' to wait longer\\.$`
        )
      )
      // Without the lock timeouts the run would wait for the holder, which lets go only after it.
      assert.equal(run.signal, null, `the run ended by itself\n${explain(run)}`)
    })

    test('a locked partitioned table, read by pg_dump and by the snapshot that pg_dump imports at once, fails naming it', async () => {
      // Only the partitioned parent is locked. pg_dump waits on it in its LOCK TABLE pass, and the
      // snapshot's own catalog reading waits on it too: whichever gives up first, the error names
      // the table, production and lock-timeout-seconds; when the snapshot's session gives up
      // before pg_dump has imported it, pg_dump's "could not import the requested snapshot" is
      // not the error (it only follows from that).
      const database = uniqueName('locked_parent')
      await production.createDatabase(
        database,
        `CREATE TABLE public.measurements (id integer NOT NULL, at date NOT NULL) PARTITION BY RANGE (at);
         CREATE TABLE public.measurements_2026 PARTITION OF public.measurements FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
         INSERT INTO public.measurements VALUES (1, '2026-06-01');
         CREATE TABLE public.a (id integer PRIMARY KEY); CREATE TABLE public.z (id integer PRIMARY KEY);`
      )
      const holder = await holdSession(production, database)
      await holder.query('BEGIN; LOCK TABLE ONLY public.measurements IN ACCESS EXCLUSIVE MODE')
      const run = await runActionProcess(inputs({ 'lock-timeout-seconds': '2' }, database), { timeoutMs: 240_000 })
      await holder.query('ROLLBACK')
      assertOneError(
        run,
        new RegExp(
          `^::error::(pg_dump|Lazarus) waited 2 s for a lock on table public\\.measurements on production \\(postgres@127\\.0\\.0\\.1:${production.port}/${database}, ` +
            `'production-url'\\).*raise 'lock-timeout-seconds' to wait longer\\.$`
        )
      )
      // Without the lock timeouts the run would wait for the holder, which lets go only after it.
      assert.equal(run.signal, null, `the run ended by itself\n${explain(run)}`)
    })

    test('a materialized view being refreshed (pg_dump waits on it past its LOCK TABLE pass) fails naming it', async () => {
      const database = uniqueName('refreshing')
      await production.createDatabase(
        database,
        `CREATE TABLE public.notes (id integer PRIMARY KEY); INSERT INTO public.notes VALUES (1);
         CREATE MATERIALIZED VIEW public.note_count AS SELECT count(*) AS n FROM public.notes;`
      )
      const holder = await holdSession(production, database)
      await holder.query('BEGIN; REFRESH MATERIALIZED VIEW public.note_count')
      const run = await runActionProcess(inputs({ 'lock-timeout-seconds': '2' }, database), { timeoutMs: 240_000 })
      await holder.query('ROLLBACK')
      assert.notEqual(run.signal, 'SIGKILL', `the run hung\n${explain(run)}`)
      assertOneError(
        run,
        new RegExp(
          `waited (more than )?2 s for a lock on (materialized view public\\.note_count on )?production \\(postgres@127\\.0\\.0\\.1:${production.port}/${database}, ` +
            `'production-url'\\).*raise 'lock-timeout-seconds' to wait longer\\.$`
        )
      )
    })
  })

  test('SIGTERM while the restored copy is being verified gives one "Cancelled" error and no false differences', async () => {
    // Production's figures are read during the restore; the restored copy's 400 tables take a few
    // seconds after it. The cancel drops the scratch database under those sessions.
    const action = await startAction(inputs({}, many), { timeoutMs: 150_000 })
    await action.waitForOutput(/::group::Verify/, 140_000)
    const [runId] = workspaceRunIds(action.runnerTemp)
    await until(
      "the restored copy's checksums",
      async () => {
        const rows = await cleanroom.query(
          `SELECT 1 FROM pg_stat_activity WHERE datname LIKE 'lazarus\\_${runId}%' AND query LIKE '%hashint8extended%'`
        )
        return rows.length > 0 ? true : undefined
      },
      action
    )
    action.child.kill('SIGTERM')
    const run = await action.finished
    assertOneError(run, /^::error title=Lazarus%3A cancelled::Cancelled by SIGTERM: removing scratch databases and dump files\.$/)
    assert.doesNotMatch(run.stdout, /differs|could not be read|✓/, 'no table is reported from the sessions the cancel closed')
    assert.deepEqual(await lazarusDatabases(cleanroom, runId), [])
  })

  test('SIGTERM while differing rows are pinned gives one "Cancelled" error, and no table is reported from the sessions it closed', async () => {
    // Row 1 of each of the 400 tables changed on its way into the restore: every table differs,
    // and the rows of each are pinned one table after another (row-diff.ts), a few seconds of
    // queries on both sides. The cancel closes those sessions part way: a pin that then fails, and
    // the tables not yet pinned, must report nothing (a closed session's query never settles).
    const binDir = tamperedClientDir(`sed -i -E 's/^1\\t[0-9a-f]{32}$/1\\tchanged/' "$DUMP"`)
    const action = await startAction(inputs({ 'postgres-bin-dir': binDir }, many), { timeoutMs: 150_000 })
    await action.waitForOutput(/::group::Verify/, 140_000)
    const [runId] = workspaceRunIds(action.runnerTemp)
    await until(
      'the rows of a differing table to be pinned',
      async () => {
        const rows = await cleanroom.query(
          `SELECT 1 FROM pg_stat_activity WHERE datname LIKE 'lazarus\\_${runId}%' AND query LIKE '%::bit(32)::bigint AS h%'`
        )
        return rows.length > 0 ? true : undefined
      },
      action
    )
    action.child.kill('SIGTERM')
    const run = await action.finished
    assertOneError(run, /^::error title=Lazarus%3A cancelled::Cancelled by SIGTERM: removing scratch databases and dump files\.$/)
    assert.doesNotMatch(
      run.stdout,
      /differs|could not be read|Could not pin|✓/,
      'no table is reported from the sessions the cancel closed'
    )
    assert.deepEqual(await lazarusDatabases(cleanroom, runId), [])
  })

  describe('no orphaned scratch database', () => {
    test('a run killed between CREATE DATABASE and its mark leaves a database the post step still drops', async () => {
      // A clean room of its own: the test stops COMMENT ON DATABASE there for everyone. That
      // statement writes pg_shdescription, so holding it in SHARE mode stops the run right after
      // CREATE DATABASE, before the mark, where it is killed; its waiting statement is ended
      // with it, as a killed runner's would be at the next statement.
      const privateRoom = await startCluster('faults-cleanroom')
      teardown.push(() => privateRoom.stop())
      const blocker = await holdSession(privateRoom, 'postgres')
      await blocker.query('BEGIN; LOCK TABLE pg_catalog.pg_shdescription IN SHARE MODE')
      // restore-role: superuser, so that no restore role (marked with COMMENT ON ROLE, which the
      // lock stops too) is created before the scratch database.
      const stepInputs = inputs(
        {
          'cleanroom-url': privateRoom.url('postgres', { password: null }),
          'cleanroom-password': privateRoom.password,
          'restore-role': 'superuser'
        },
        slow
      )
      const action = await startAction(stepInputs)
      const runId = await until('the workspace', async () => workspaceRunIds(action.runnerTemp)[0])
      const scratch = await until('the scratch database', async () => (await lazarusDatabases(privateRoom, runId))[0], action)
      await until(
        'COMMENT ON DATABASE to wait',
        async () => {
          const rows = await privateRoom.query(
            `SELECT 1 FROM pg_stat_activity WHERE query LIKE 'COMMENT ON DATABASE%' AND wait_event_type = 'Lock'`
          )
          return rows.length > 0 ? true : undefined
        },
        action
      )
      action.child.kill('SIGKILL')
      const main = await action.finished
      await privateRoom.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'COMMENT ON DATABASE%'`)
      await blocker.query('ROLLBACK')
      assert.equal(main.signal, 'SIGKILL')
      const [comment] = await privateRoom.query<{ c: string | null }>(
        `SELECT shobj_description(oid, 'pg_database') AS c FROM pg_database WHERE datname = '${scratch}'`
      )
      assert.equal(comment.c, null, 'killed before its mark')
      assert.deepEqual(
        JSON.parse(main.state['lazarus-scratch-databases']),
        [scratch],
        'its name was recorded before it was created'
      )

      const post = await runPostStep(stepInputs, main)
      assert.equal(post.exitCode, 0, explain(post))
      assert.doesNotMatch(post.stdout, /::warning::/, explain(post))
      assert.match(post.stdout, new RegExp(`Dropped leftover scratch database ${scratch}\\.`))
      assert.deepEqual(await lazarusDatabases(privateRoom, runId), [])
    })

    test('the post step tries every recorded database after a refusal, and still drops none it did not create', async () => {
      const victim = uniqueName('victim')
      await cleanroom.createDatabase(victim)
      teardown.push(() => cleanroom.query(`DROP DATABASE IF EXISTS ${victim}`))
      const runId = `${Date.now()}_${Math.random().toString(16).slice(2, 8)}`
      const leftover = `lazarus_${runId}_backup`
      await cleanroom.createDatabase(leftover)
      await cleanroom.query(`COMMENT ON DATABASE ${leftover} IS 'Lazarus scratch database of run ${runId}'`)
      // Unmarked, but named for another run: not this run's to drop either.
      const otherRun = `lazarus_${runId}x_backup`
      await cleanroom.createDatabase(otherRun)
      teardown.push(() => cleanroom.query(`DROP DATABASE IF EXISTS ${otherRun}`))
      const runnerTemp = mkdtempSync(path.join(os.tmpdir(), 'lazarus-crafted-'))
      teardown.push(async () => rmSync(runnerTemp, { recursive: true, force: true }))
      const post = await runPostStep(inputs(), {
        runnerTemp,
        state: {
          'lazarus-main-started': 'true',
          'lazarus-run-id': runId,
          'lazarus-scratch-databases': JSON.stringify([victim, otherRun, leftover])
        }
      })
      assert.equal(post.exitCode, 0, explain(post))
      for (const name of [victim, otherRun]) {
        assert.match(
          post.stdout,
          new RegExp(
            `::warning::Post-run cleanup failed: Refusing to drop database '${name}' on the clean room: Lazarus did not create it\\.`
          )
        )
      }
      assert.match(post.stdout, new RegExp(`Dropped leftover scratch database ${leftover}\\.`))
      const left = await cleanroom.query<{ datname: string }>(
        `SELECT datname FROM pg_database WHERE datname IN ('${victim}', '${otherRun}', '${leftover}') ORDER BY 1`
      )
      assert.deepEqual(left.map(row => row.datname).sort(), [victim, otherRun].sort())
    })
  })

  test('a full disk names the file Lazarus was writing, its directory and the fix', async t => {
    if (process.getuid?.() !== 0) return t.skip('needs root to mount a small tmpfs as RUNNER_TEMP')
    const mountPoint = mkdtempSync(path.join(os.tmpdir(), 'lazarus-full-disk-'))
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0755', 'tmpfs', mountPoint], { encoding: 'utf8' })
    if (mounted.status !== 0) {
      rmSync(mountPoint, { recursive: true, force: true })
      return t.skip(`cannot mount a tmpfs here: ${mounted.stderr.trim()}`)
    }
    teardown.push(async () => {
      spawnSync('umount', [mountPoint])
      rmSync(mountPoint, { recursive: true, force: true })
    })
    // Full to the last byte: even Lazarus's first small work file (the sanitizer's sed program) finds no room.
    spawnSync('bash', ['-c', `cat /dev/zero > '${mountPoint}/filler' 2>/dev/null; true`])
    const run = await runActionProcess(inputs(), { runnerTemp: mountPoint })
    const [runId] = workspaceRunIds(mountPoint)
    assertOneError(
      run,
      new RegExp(
        `^::error::The disk filled up while Lazarus was writing the sanitizer \\(a sed program\\) to ${mountPoint}/lazarus-${runId}/work ` +
          `\\(No space left on device; 0 B free of 64\\.0 KiB\\)\\. Besides the copies of the dump that sabotage or upload-dump keep, ` +
          `a run writes only a few small files there: free disk space on the runner`
      )
    )
    assert.deepEqual(await lazarusDatabases(cleanroom, runId), [])
  })
})
