import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync
} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { uniqueName, type Cluster } from '../support/shared-servers.js'
import { createShop, SLOW_RESTORE_SQL, type Shop } from '../support/shop.js'
import { freePort } from '../support/cluster.js'
import { realClientDir } from '../support/tampered-client.js'
import { startNewerCluster, NEWER_MAJOR } from '../support/newer-cluster.js'
import { startRecordingProxy, startSilentServer, writingStatements } from '../support/pg-proxy.js'
import {
  errorAnnotations,
  explain,
  leftoverWorkDirs,
  runActionProcess,
  runPostStep,
  startAction,
  workspaceRunIds,
  type ActionResult
} from '../support/action-process.js'
import { assertOneError, lazarusDatabases, until } from '../support/run-checks.js'

// Issue 4: every misconfiguration fails safely. Each bad run must exit 1 with exactly one error
// annotation naming the cause and the fix, in bounded time, without touching production, and
// leave no scratch database on the clean room and no work file in RUNNER_TEMP. Cancellation and
// a killed main step are cleaned up, by the signal handler and by the post step.

let production: Cluster
let cleanroom: Cluster
let shop: string
let slow: string
const teardown: (() => Promise<unknown>)[] = []

let inputs: Shop['inputs']

before(async () => {
  slow = uniqueName('slow_restore')
  const created = await createShop()
  ;({ production, cleanroom, database: shop, inputs } = created)
  await production.createDatabase(slow, SLOW_RESTORE_SQL)
  // The statistics collector may count the seed's rows only seconds later on a loaded machine: the
  // runs below compare production's writes before and after, so they start once it has.
  await until(`the statistics counting the rows seeded into ${slow}`, async () =>
    (await writes(production, slow)) === '0' ? undefined : true
  )
})

after(async () => {
  for (const step of teardown.reverse()) await step().catch(error => console.error('teardown:', error))
})

/** Rows written to a production database, as its statistics count them: Lazarus must add none. */
async function writes(cluster: Cluster, database: string): Promise<string> {
  const [row] = await cluster.query<{ w: string }>(
    'SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::text AS w FROM pg_stat_user_tables',
    database
  )
  return row.w
}

/** Runs `work` and asserts that production took no write and got no Lazarus database meanwhile. */
async function leavesProductionUntouched<T>(work: () => Promise<T>, cluster = production, databases = [shop, slow]): Promise<T> {
  const before = await Promise.all(databases.map(database => writes(cluster, database)))
  const result = await work()
  // The statistics collector lags up to half a second behind a committed write.
  await new Promise(resolve => setTimeout(resolve, 700))
  assert.deepEqual(await Promise.all(databases.map(database => writes(cluster, database))), before, 'production took no writes')
  assert.deepEqual(await lazarusDatabases(cluster), [], 'Lazarus created no database on production')
  return result
}

/**
 * The contract for every bad run: exit 1, exactly one error annotation matching `cause`, within
 * `withinSeconds`, result `error`, and nothing left behind (work files, scratch databases, or
 * scratch databases still listed in the state the post step would read). The time is a guard
 * against a run that hangs, not a speed check: generous enough for a loaded two-core machine.
 */
async function assertFailsCleanly(run: ActionResult, cause: RegExp, withinSeconds = 90): Promise<void> {
  assertOneError(run, cause)
  assert.ok(run.seconds < withinSeconds, `failed within ${withinSeconds} s (took ${run.seconds.toFixed(1)} s)`)
  for (const runId of workspaceRunIds(run.runnerTemp)) {
    assert.deepEqual(await lazarusDatabases(cleanroom, runId), [], 'no scratch database is left')
  }
  const listed = run.state['lazarus-scratch-databases']
  if (listed !== undefined) assert.deepEqual(JSON.parse(listed), [], 'no scratch database is left for the post step')
}

/** A pattern for an error message: literal text, with RegExp parts where the text varies. */
function message(...parts: (string | RegExp)[]): RegExp {
  return new RegExp(
    parts.map(part => (typeof part === 'string' ? part.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&') : part.source)).join('')
  )
}

const PORT = /\d+/

interface BadCase {
  name: string
  inputs: () => Record<string, string>
  env?: Record<string, string>
  cause: RegExp
  withinSeconds?: number
}

/** Runs every case at once (they are independent), then checks each. */
async function checkCases(cases: BadCase[]): Promise<void> {
  await leavesProductionUntouched(async () => {
    const runs = await Promise.all(cases.map(item => runActionProcess(item.inputs(), { env: item.env })))
    for (const [index, item] of cases.entries()) {
      try {
        await assertFailsCleanly(runs[index], item.cause, item.withinSeconds)
      } catch (error) {
        ;(error as Error).message = `${item.name}: ${(error as Error).message}`
        throw error
      }
    }
  })
}

/** A directory with an executable shell script for each entry. */
function scriptDir(scripts: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lazarus-bin-'))
  teardown.push(async () => rmSync(dir, { recursive: true, force: true }))
  for (const [name, body] of Object.entries(scripts)) {
    writeFileSync(path.join(dir, name), `#!/usr/bin/env bash\n${body}\n`)
    chmodSync(path.join(dir, name), 0o755)
  }
  return dir
}

describe('safety, bad input and cleanup', { concurrency: true }, () => {
  test('bad inputs fail before connecting to anything, naming the input and the fix', async () => {
    await checkCases([
      {
        name: 'production-url missing',
        inputs: () => inputs({ 'production-url': '' }),
        cause: /^::error::Input 'production-url' is required: set it to a postgresql:\/\/ URI\.$/
      },
      {
        name: 'cleanroom-url missing',
        inputs: () => inputs({ 'cleanroom-url': '  ' }),
        cause: /^::error::Input 'cleanroom-url' is required: set it to a postgresql:\/\/ URI\.$/
      },
      {
        name: 'malformed URL',
        inputs: () => inputs({ 'production-url': 'postgresql://app@[db.internal:5432/shop' }),
        cause: message(
          "Input 'production-url' is not a valid URI: use postgresql://user@host:port/database ",
          '(percent-encode special characters, or give the password in the matching -password input).'
        )
      },
      {
        name: 'URL without a scheme',
        inputs: () => inputs({ 'production-url': 'db.internal:5432/shop' }),
        cause: message("Input 'production-url' must start with postgresql:// (got 'db.internal://')")
      },
      {
        name: 'URL without a database',
        inputs: () => inputs({ 'cleanroom-url': `postgresql://postgres@127.0.0.1:${cleanroom.port}` }),
        cause: message(
          "Input 'cleanroom-url' names no database: end the URI with /<database>, e.g. postgresql://host:5432/postgres."
        )
      },
      {
        name: 'unknown verify',
        inputs: () => inputs({ verify: 'everything' }),
        cause: message("Input 'verify' is 'everything': use one of counts, checksums.")
      },
      {
        name: 'unknown sabotage',
        inputs: () => inputs({ sabotage: 'rogue-row, nuke' }),
        cause: message("Input 'sabotage' has unknown operator(s) 'nuke': use none, all, or a comma-separated list of rogue-row")
      }
    ])
  })

  test('unreachable and misconfigured servers fail with the cause and the fix', async () => {
    const silent = await startSilentServer()
    teardown.push(() => silent.close())
    const refused = await freePort()
    const missing = uniqueName('no_such_db')
    await checkCases([
      {
        name: 'production does not answer',
        inputs: () => inputs({ 'production-url': `postgresql://postgres@127.0.0.1:${silent.port}/${shop}` }),
        cause: message(
          'No answer from 127.0.0.1:',
          PORT,
          " within 10 s ('production-url'): check the host, the port, and that a firewall lets the runner through."
        ),
        withinSeconds: 45
      },
      {
        name: 'clean room does not answer',
        inputs: () => inputs({ 'cleanroom-url': `postgresql://postgres@127.0.0.1:${silent.port}/postgres` }),
        cause: message('No answer from 127.0.0.1:', PORT, " within 10 s ('cleanroom-url')"),
        withinSeconds: 45
      },
      {
        name: 'production port refused',
        inputs: () => inputs({ 'production-url': `postgresql://postgres@127.0.0.1:${refused}/${shop}` }),
        cause: message(
          'Connection refused at 127.0.0.1:',
          PORT,
          " ('production-url'): check the host and port, and that the server is running."
        )
      },
      {
        name: 'clean room port refused (as localhost)',
        inputs: () => inputs({ 'cleanroom-url': `postgresql://postgres@localhost:${refused}/postgres` }),
        cause: message('Connection refused at localhost:', PORT, " ('cleanroom-url')")
      },
      {
        name: 'wrong production password',
        inputs: () => inputs({ 'production-password': 'not-the-password' }),
        cause: message(
          "Password authentication failed for user 'postgres' at 127.0.0.1:",
          PORT,
          " ('production-url'): check the password (in 'production-password', the URI or PGPASSWORD) and the user name."
        )
      },
      {
        name: 'wrong clean-room password',
        inputs: () => inputs({ 'cleanroom-password': 'not-the-password' }),
        cause: message(
          "Password authentication failed for user 'postgres' at 127.0.0.1:",
          PORT,
          " ('cleanroom-url'): check the password (in 'cleanroom-password'"
        )
      },
      {
        name: 'no production password at all',
        inputs: () => inputs({ 'production-password': '' }),
        cause: message(
          'The server at 127.0.0.1:',
          PORT,
          " asks user 'postgres' for a password and none was given: set 'production-password', ",
          "put the password in the URI ('production-url'), or set PGPASSWORD."
        )
      },
      {
        name: 'production database does not exist',
        inputs: () => inputs({}, missing),
        cause: message(`Database '${missing}' does not exist at 127.0.0.1:`, PORT, ": fix the database name in 'production-url'.")
      },
      {
        name: 'clean-room maintenance database does not exist',
        inputs: () => inputs({ 'cleanroom-url': cleanroom.url(missing, { password: null }) }),
        cause: message(`Database '${missing}' does not exist at 127.0.0.1:`, PORT, ": fix the database name in 'cleanroom-url'.")
      }
    ])
  })

  test('a missing pg_dump fails naming postgres-bin-dir and what to put there', async () => {
    const empty = scriptDir({})
    const onlyPsql = scriptDir({})
    symlinkSync(path.join(realClientDir(), 'psql'), path.join(onlyPsql, 'psql'))
    await checkCases([
      {
        name: 'empty postgres-bin-dir',
        inputs: () => inputs({ 'postgres-bin-dir': empty }),
        cause: message(
          `Input 'postgres-bin-dir' is '${empty}', which has no executable pg_dump or psql: `,
          'point it at the bin directory of PostgreSQL 13 client tools or newer ',
          '(e.g. /usr/lib/postgresql/13/bin after installing postgresql-client-13), ',
          'or leave it empty to let Lazarus pick an installed client.'
        )
      },
      {
        name: 'postgres-bin-dir with only psql',
        inputs: () => inputs({ 'postgres-bin-dir': onlyPsql }),
        cause: message(
          `Input 'postgres-bin-dir' is '${onlyPsql}', which has no executable pg_dump: `,
          'point it at the bin directory of PostgreSQL 13 client tools or newer'
        )
      },
      {
        name: 'postgres-bin-dir that does not exist',
        inputs: () => inputs({ 'postgres-bin-dir': path.join(empty, 'nope') }),
        cause: message(`Input 'postgres-bin-dir' is '${path.join(empty, 'nope')}', which does not exist: point it at`)
      }
    ])
  })

  test(`a pg_dump older than production (PostgreSQL ${NEWER_MAJOR}) fails naming the client to install`, async t => {
    // A real PostgreSQL 18 server: every pg_dump installed here (Debian 12 ships 15) is too old for it.
    const installed = Number(/\/(\d+)\/bin$/.exec(realClientDir())?.[1] ?? 0)
    if (installed >= NEWER_MAJOR) return t.skip(`pg_dump ${installed} is installed, which can dump PostgreSQL ${NEWER_MAJOR}`)
    const newer = await startNewerCluster('newer-production')
    teardown.push(() => newer.stop())
    const database = uniqueName('shop18')
    await newer.createDatabase(
      database,
      `CREATE TABLE public.orders (id integer PRIMARY KEY, total numeric);
       INSERT INTO public.orders SELECT g, g FROM generate_series(1, 100) g;`
    )
    const newerInputs = (extra: Record<string, string> = {}) =>
      inputs({ 'production-url': newer.url(database, { password: null }), 'production-password': newer.password, ...extra })
    await leavesProductionUntouched(
      () =>
        checkCases([
          {
            name: 'the installed clients',
            inputs: () => newerInputs(),
            cause: message(
              `No PostgreSQL client can dump production (PostgreSQL ${NEWER_MAJOR}); found only pg_dump `,
              /\d+\.\d+ .*/,
              `. Install postgresql-client-${NEWER_MAJOR} or newer, or set postgres-bin-dir.`
            )
          },
          {
            name: 'an older postgres-bin-dir',
            inputs: () => newerInputs({ 'postgres-bin-dir': realClientDir() }),
            cause: message(
              'pg_dump ',
              /\d+\.\d+/,
              ` in '${realClientDir()}' is older than production (PostgreSQL ${NEWER_MAJOR}) and cannot dump it: `,
              `install postgresql-client-${NEWER_MAJOR} or newer and point postgres-bin-dir at its bin directory `,
              `(e.g. /usr/lib/postgresql/${NEWER_MAJOR}/bin), or leave postgres-bin-dir empty.`
            )
          }
        ]),
      newer,
      [database]
    )
  })

  test('a clean-room role without CREATEDB fails before production is dumped', async () => {
    const role = uniqueName('no_createdb')
    const password = `pw-${role}`
    await cleanroom.query(`CREATE ROLE ${role} LOGIN NOCREATEDB PASSWORD '${password}'`)
    teardown.push(() => cleanroom.query(`DROP ROLE IF EXISTS ${role}`))
    await checkCases([
      {
        name: 'role without CREATEDB',
        inputs: () =>
          inputs({ 'cleanroom-url': cleanroom.url('postgres', { user: role, password: null }), 'cleanroom-password': password }),
        cause: message(
          `Role '${role}' on the clean room (${role}@127.0.0.1:${cleanroom.port}/postgres) cannot create databases: `,
          `run ALTER ROLE "${role}" CREATEDB there, or use a role that can.`
        )
      }
    ])
  })

  test('a clean room that is the production cluster is refused, also under another name', async () => {
    // The same server behind a second port (a port forward or a pooler): only what the servers
    // say about themselves (system identifier, start time) gives it away.
    const forward = await startRecordingProxy(production.port)
    teardown.push(() => forward.close())
    // The servers' unix sockets live beside their data directories (see support/cluster.ts).
    const socketDir = path.dirname(production.dataDir)
    assert.ok(existsSync(socketDir), socketDir)
    const cleanroomAt = (url: string) => () => inputs({ 'cleanroom-url': url, 'cleanroom-password': production.password })
    const refused = (cleanroomName: string, why: string | RegExp) =>
      message(
        `The clean room (${cleanroomName}) is the production cluster (postgres@127.0.0.1:${production.port}/${shop}): `,
        why,
        '. Point cleanroom-url at a separate, disposable server.'
      )
    const cases: BadCase[] = [
      {
        name: 'same host and port',
        inputs: cleanroomAt(production.url('postgres', { password: null })),
        cause: refused(`postgres@127.0.0.1:${production.port}/postgres`, 'same host and port')
      },
      {
        name: 'localhost for 127.0.0.1',
        inputs: cleanroomAt(`postgresql://postgres@localhost:${production.port}/postgres`),
        cause: refused(`postgres@localhost:${production.port}/postgres`, 'same host and port')
      },
      {
        name: 'another port forwarding to it',
        inputs: cleanroomAt(`postgresql://postgres@127.0.0.1:${forward.port}/postgres`),
        cause: refused(`postgres@127.0.0.1:${forward.port}/postgres`, /both report system identifier \d+/)
      },
      {
        name: 'its unix socket',
        inputs: cleanroomAt(`postgresql:///postgres?host=${encodeURIComponent(socketDir)}&port=${production.port}&user=postgres`),
        cause: refused(`postgres@${socketDir}:${production.port}/postgres`, /both report system identifier \d+/)
      }
    ]
    await checkCases(cases)
    // Lazarus asked the forwarded server who it is, and created, changed or dropped nothing there.
    assert.ok(
      forward.statements.some(statement => /pg_control_system/.test(statement)),
      'the identity was read through the forward'
    )
    assert.deepEqual(writingStatements(forward.statements), [])
  })

  test('the disk filling up during the dump fails saying so and what to do', async t => {
    if (process.getuid?.() !== 0) return t.skip('needs root to mount a small tmpfs as RUNNER_TEMP')
    const mountPoint = mkdtempSync(path.join(os.tmpdir(), 'lazarus-small-disk-'))
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=128k,mode=0755', 'tmpfs', mountPoint], { encoding: 'utf8' })
    if (mounted.status !== 0) {
      rmSync(mountPoint, { recursive: true, force: true })
      return t.skip(`cannot mount a tmpfs here: ${mounted.stderr.trim()}`)
    }
    teardown.push(async () => {
      spawnSync('umount', [mountPoint])
      rmSync(mountPoint, { recursive: true, force: true })
    })
    // The dump streams into the restore; it lands on disk only as the copy the drill reads.
    const run = await leavesProductionUntouched(() =>
      runActionProcess(inputs({ sabotage: 'rogue-row' }, slow), { runnerTemp: mountPoint })
    )
    const [runId] = workspaceRunIds(mountPoint)
    await assertFailsCleanly(
      run,
      message(
        `The disk filled up while sed was writing the copy of the dump to ${mountPoint}/lazarus-${runId}/work (No space left on device; `,
        /.+/,
        ' free of 128.0 KiB). With sabotage or upload-dump, a run keeps a copy of the dump there, plus one sabotaged copy at a time ',
        "(each about the size of production's data): free disk space on the runner, use a runner with a larger disk, ",
        'or point RUNNER_TEMP at a volume with room for it.'
      )
    )
    assert.ok(run.report, 'the report is still written once the dump is gone')
    assert.deepEqual(
      readdirSync(mountPoint).filter(name => !name.startsWith('lazarus-')),
      [],
      'nothing else was written there'
    )
  })

  describe('cancellation mid-restore', () => {
    /** Starts a run on the slow database and waits until psql builds the slow index in the scratch database. */
    async function startAndReachRestore(extra: Record<string, string> = {}) {
      const action = await startAction(inputs(extra, slow))
      await action.waitForOutput(/::group::Dump, sanitize and restore/, 60_000)
      const [runId] = workspaceRunIds(action.runnerTemp)
      const deadline = Date.now() + 30_000
      for (;;) {
        const active = await cleanroom.query(
          `SELECT 1 FROM pg_stat_activity
           WHERE datname LIKE 'lazarus\\_${runId}%' AND application_name = 'lazarus' AND query LIKE 'CREATE INDEX%'`
        )
        if (active.length > 0) break
        if (Date.now() > deadline) throw new Error(`psql never reached the index build\n${action.stdout()}`)
        await new Promise(resolve => setTimeout(resolve, 100))
      }
      const scratch = await lazarusDatabases(cleanroom, runId)
      assert.equal(scratch.length, 1, 'the restore runs into one scratch database')
      return { action, runId, scratch: scratch[0] }
    }

    async function sessionsOn(database: string): Promise<number> {
      const rows = await cleanroom.query(`SELECT 1 FROM pg_stat_activity WHERE datname = '${database}'`)
      return rows.length
    }

    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      test(`${signal} drops the scratch database, removes the work files and exits 1`, async () => {
        await leavesProductionUntouched(async () => {
          const { action, runId, scratch } = await startAndReachRestore()
          const signalled = performance.now()
          action.child.kill(signal)
          const run = await action.finished
          assert.ok((performance.now() - signalled) / 1000 < 10, 'cleanup finishes before the runner would kill the step')
          assert.equal(run.signal, null, 'the action exits by itself, not by the signal')
          const cancelled = message(
            `::error title=Lazarus%3A cancelled::Cancelled by ${signal}: removing scratch databases and dump files.`
          )
          await assertFailsCleanly(run, cancelled, 60)
          assert.deepEqual(await lazarusDatabases(cleanroom, runId), [])
          assert.equal(await sessionsOn(scratch), 0, 'psql was stopped')
        })
      })
    }

    // Issue 12: a directory-format backup restored in sections over `jobs` pipelines (the slow
    // index is built in the post-data one); the unfinished restore point goes with the rest.
    test('SIGTERM during a directory-format restore drops the scratch database and leaves no restore point', async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'lazarus-cancel-keep-'))
      teardown.push(async () => rmSync(dir, { recursive: true, force: true }))
      await leavesProductionUntouched(async () => {
        const { action, runId, scratch } = await startAndReachRestore({
          'backup-dir': dir,
          'backup-format': 'directory',
          jobs: '2'
        })
        assert.match(action.stdout(), /Restoring directory archive in sections: .* over \d+ pipeline\(s\)/)
        action.child.kill('SIGTERM')
        const run = await action.finished
        assert.equal(run.signal, null, 'the action exits by itself, not by the signal')
        await assertFailsCleanly(
          run,
          message('::error title=Lazarus%3A cancelled::Cancelled by SIGTERM: removing scratch databases and dump files.'),
          60
        )
        assert.deepEqual(await lazarusDatabases(cleanroom, runId), [])
        assert.equal(await sessionsOn(scratch), 0, 'psql was stopped')
        assert.deepEqual(readdirSync(dir), [], 'the partial restore point is removed')
      })
    })

    test('the post step finishes the cleanup when main was killed mid-restore', async () => {
      await leavesProductionUntouched(async () => {
        const { action, runId, scratch } = await startAndReachRestore()
        action.child.kill('SIGKILL')
        const main = await action.finished
        assert.equal(main.signal, 'SIGKILL')
        assert.deepEqual(JSON.parse(main.state['lazarus-scratch-databases']), [scratch], 'main recorded its scratch database')
        assert.deepEqual(await lazarusDatabases(cleanroom, runId), [scratch], 'the killed main left its scratch database')
        assert.equal(leftoverWorkDirs(main.runnerTemp).length, 1, 'the killed main left its work files')

        const post = await runPostStep(inputs({}, slow), main)
        assert.equal(post.exitCode, 0, explain(post))
        assert.deepEqual(errorAnnotations(post.stdout), [])
        assert.doesNotMatch(post.stdout, /::warning::/, explain(post))
        assert.match(post.stdout, new RegExp(`Dropped leftover scratch database ${scratch}\\.`))
        assert.match(post.stdout, /Removed leftover work files in /)
        assert.deepEqual(await lazarusDatabases(cleanroom, runId), [])
        assert.equal(await sessionsOn(scratch), 0, "the orphaned psql's session ended with its database")
        assert.deepEqual(leftoverWorkDirs(main.runnerTemp), [])
      })
    })
  })

  test('keep-cleanroom keeps the restored database and says where it is; the post step leaves it', async () => {
    const run = await leavesProductionUntouched(() => runActionProcess(inputs({ 'keep-cleanroom': 'true' })))
    assert.equal(run.exitCode, 0, explain(run))
    assert.equal(run.outputs.result, 'verified')
    const notice = /::notice::Kept the restored database '(lazarus_\w+)' on the clean room \(([^)]+)\) for debugging\./.exec(
      run.stdout
    )
    assert.ok(notice, explain(run))
    const kept = notice[1]
    teardown.push(() => cleanroom.query(`DROP DATABASE IF EXISTS ${kept}`))
    assert.equal(notice[2], `postgres@127.0.0.1:${cleanroom.port}/${kept}`)
    const [customers] = await cleanroom.query<{ n: string }>('SELECT count(*)::text AS n FROM public.customers', kept)
    const [expected] = await production.query<{ n: string }>('SELECT count(*)::text AS n FROM public.customers', shop)
    assert.equal(customers.n, expected.n, 'the kept database holds the restored backup')
    assert.deepEqual(leftoverWorkDirs(run.runnerTemp), [], 'the dump is deleted all the same')

    const post = await runPostStep(inputs({ 'keep-cleanroom': 'true' }), run)
    assert.equal(post.exitCode, 0, explain(post))
    assert.deepEqual(await lazarusDatabases(cleanroom, workspaceRunIds(run.runnerTemp)[0]), [kept], 'the post step keeps it too')
    await cleanroom.query(`DROP DATABASE ${kept}`)
  })

  test('dump files are private (0600 in a 0700 directory) and deleted at the end', async () => {
    // A psql wrapper records, while the run is going on, the modes of the files in the work
    // directory once the streamed restore is done (the stream exports its status file's path,
    // which lies there) and of the sabotaged copy it is handed with -f.
    const modes = path.join(mkdtempSync(path.join(os.tmpdir(), 'lazarus-modes-')), 'modes')
    teardown.push(async () => rmSync(path.dirname(modes), { recursive: true, force: true }))
    const real = realClientDir()
    const binDir = scriptDir({
      pg_dump: `exec "${real}/pg_dump" "$@"`,
      psql: `set -uo pipefail
prev=""
for arg in "$@"; do if [ "$prev" = "-f" ] && [ "$arg" != - ]; then stat -c 'psql %a %n' "$arg" >> '${modes}'; fi; prev="$arg"; done
"${real}/psql" "$@"
code=$?
# Once the streamed restore has read everything, sed has written its copy in full.
if [ -n "\${LAZARUS_STATUS_FILE-}" ]; then
  work="$(dirname "$LAZARUS_STATUS_FILE")"
  stat -c 'stream %a %n' "$(dirname "$work")" "$work" "$work"/* >> '${modes}'
fi
exit $code`
    })
    const run = await leavesProductionUntouched(() =>
      runActionProcess(inputs({ 'postgres-bin-dir': binDir, sabotage: 'rogue-row' }))
    )
    assert.equal(run.exitCode, 0, explain(run))
    const lines = readFileSync(modes, 'utf8').trim().split('\n')
    const stream = lines.filter(line => line.startsWith('stream '))
    assert.match(stream[0], /^stream 700 .+\/lazarus-[^/]+$/)
    assert.match(stream[1], /^stream 700 .+\/work$/)
    const files = stream.slice(2)
    assert.ok(
      files.some(line => /\/work\/backup\.sql$/.test(line)),
      'the copy for the drill is being written'
    )
    for (const line of files) assert.match(line, /^stream 600 /)
    // psql is also handed the location check it runs first (see guards.ts): private too.
    const handed = lines.filter(line => line.startsWith('psql '))
    for (const line of handed) assert.match(line, /^psql 600 .+\/work\//)
    assert.ok(
      handed.some(line => /\/work\/restore-check\.sql$/.test(line)),
      'the stream checks where psql is'
    )
    // And, under the default restore role, the owners and grants it replays afterwards: private too.
    assert.ok(
      handed.some(line => /\/work\/privileged-replay\.sql$/.test(line)),
      'owners and privileges are replayed from a file'
    )
    const copies = handed.filter(line => !/(check|replay)\.sql$/.test(line))
    assert.equal(copies.length, 1, 'the drill copy was restored from a file')
    assert.match(copies[0], /^psql 600 .+\/work\/sabotage-rogue-row\.sql(\.unprivileged\.sql)?$/)

    const [runId] = workspaceRunIds(run.runnerTemp)
    const reportDir = path.join(run.runnerTemp, `lazarus-${runId}`)
    assert.deepEqual(readdirSync(reportDir).sort(), ['report.json', 'summary.html'], 'the dumps are deleted')
    assert.equal(statSync(reportDir).mode & 0o777, 0o700)
    for (const file of readdirSync(reportDir)) assert.equal(statSync(path.join(reportDir, file)).mode & 0o777, 0o600, file)
  })

  test('upload-dump outside GitHub Actions does not fail the run and deletes the dump', async () => {
    const run = await leavesProductionUntouched(() => runActionProcess(inputs({ 'upload-dump': 'true' })))
    assert.equal(run.exitCode, 0, explain(run))
    assert.equal(run.outputs.result, 'verified')
    assert.deepEqual(errorAnnotations(run.stdout), [])
    assert.match(run.stdout, /::notice::Not running inside GitHub Actions/)
    assert.deepEqual(leftoverWorkDirs(run.runnerTemp), [], 'the dump is deleted')
  })

  test('the post step never drops a database Lazarus did not create', async () => {
    const victim = uniqueName('victim')
    await cleanroom.createDatabase(victim)
    teardown.push(() => cleanroom.query(`DROP DATABASE IF EXISTS ${victim}`))
    const runnerTemp = mkdtempSync(path.join(os.tmpdir(), 'lazarus-crafted-'))
    teardown.push(async () => rmSync(runnerTemp, { recursive: true, force: true }))
    const post = await runPostStep(inputs(), {
      runnerTemp,
      state: { 'lazarus-main-started': 'true', 'lazarus-scratch-databases': JSON.stringify([victim]) }
    })
    assert.equal(post.exitCode, 0, explain(post))
    assert.match(
      post.stdout,
      message(
        `::warning::Post-run cleanup failed: Refusing to drop database '${victim}' on the clean room: Lazarus did not create it.`
      )
    )
    const [exists] = await cleanroom.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM pg_database WHERE datname = '${victim}'`
    )
    assert.equal(exists.n, '1')
  })
})
