import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { MysqlSession } from '../../../../src/engines/mysql/database.js'
import { mysql } from '../../../../src/engines/mysql/index.js'
import type { MysqlTarget } from '../../../../src/engines/mysql/connection.js'
import { UserError } from '../../../../src/util/errors.js'
import { mariadbProduction, type MariadbServer } from '../../../support/mariadb.js'
import { uniqueName } from '../../../support/shared-servers.js'

// The snapshot protocol on a real server with a live writer: Lazarus's sessions and the dump
// (the real mariadb-dump --single-transaction) see exactly the same commits, although the
// writer commits before, during and after.

let server: MariadbServer
const database = uniqueName('mysql_snapshot')
const user = uniqueName('lz').slice(0, 32)
const weak = uniqueName('lzweak').slice(0, 32)
const password = 'pw-' + Math.random().toString(36).slice(2)
let target: MysqlTarget
let weakTarget: MysqlTarget
const dir = mkdtempSync(path.join(os.tmpdir(), 'lazarus-mysql-snapshot-'))

before(async () => {
  server = await mariadbProduction()
  await server.sql(
    `CREATE DATABASE \`${database}\`;
     CREATE TABLE \`${database}\`.a (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, txn INT NOT NULL) ENGINE=InnoDB;
     CREATE TABLE \`${database}\`.b (id INT NOT NULL PRIMARY KEY, n INT NOT NULL) ENGINE=InnoDB;
     INSERT INTO \`${database}\`.b VALUES (1, 0);
     CREATE USER '${user}'@'127.0.0.1' IDENTIFIED BY '${password}';
     GRANT RELOAD ON *.* TO '${user}'@'127.0.0.1';
     GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES ON \`${database}\`.* TO '${user}'@'127.0.0.1';
     CREATE USER '${weak}'@'127.0.0.1' IDENTIFIED BY '${password}';
     GRANT SELECT ON \`${database}\`.* TO '${weak}'@'127.0.0.1';`
  )
  target = mysql.parseUrl('production-url', server.url(database, { user, password: null }), password)
  weakTarget = mysql.parseUrl('production-url', server.url(database, { user: weak, password: null }), password)
})

after(async () => {
  MysqlSession.limits = { lockTimeoutSeconds: 30, serverTimeoutSeconds: 300 }
  await server?.sql(
    `DROP DATABASE IF EXISTS \`${database}\`; DROP USER IF EXISTS '${user}'@'127.0.0.1'; DROP USER IF EXISTS '${weak}'@'127.0.0.1';`
  )
  rmSync(dir, { recursive: true, force: true })
})

/** A writer that commits transactions of two rows in `a` and b.n = the transaction's number, until stopped. */
function startWriter() {
  let commits = 0
  let stop = false
  const done = (async () => {
    // A clean-room session is writable: the test's own writer, on the production test server.
    const session = await MysqlSession.open(mysql.parseUrl('production-url', server.url(database)), 'cleanroom')
    try {
      while (!stop) {
        const n = commits + 1
        await session.query('START TRANSACTION')
        await session.query('INSERT INTO a (txn) VALUES (?), (?)', [n, n])
        await session.query('UPDATE b SET n = ? WHERE id = 1', [n])
        await session.query('COMMIT')
        commits = n
      }
    } finally {
      await session.close()
    }
  })()
  return {
    commits: () => commits,
    waitFor: async (count: number) => {
      while (commits < count) await new Promise(resolve => setTimeout(resolve, 10))
    },
    stop: async () => {
      stop = true
      await done
    }
  }
}

/** Runs the real mariadb-dump --single-transaction into a file; resolves once it ended. */
function dump(file: string) {
  const defaults = path.join(dir, 'client.cnf')
  writeFileSync(defaults, `[client]\npassword=${password}\n`, { mode: 0o600 })
  const out = openSync(file, 'w')
  const child = spawn(
    'mariadb-dump',
    [
      `--defaults-extra-file=${defaults}`,
      '--protocol=TCP',
      `--host=${server.host}`,
      `--port=${server.port}`,
      `--user=${user}`,
      '--single-transaction',
      '--skip-lock-tables',
      '--no-tablespaces',
      '--comments',
      database
    ],
    { stdio: ['ignore', out, 'pipe'] }
  )
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  const ended = new Promise<void>((resolve, reject) =>
    child.on('close', code => {
      closeSync(out)
      if (code === 0) resolve()
      else reject(new Error(`mariadb-dump exited ${code}: ${stderr}`))
    })
  )
  return { child, ended }
}

test("a live writer's commits are wholly in or wholly out of every session's snapshot and of the dump, which see the same", async () => {
  const writer = startWriter()
  const sessions: MysqlSession[] = []
  try {
    await writer.waitFor(20)
    sessions.push(await MysqlSession.open(target, 'production'), await MysqlSession.open(target, 'production'))
    const id = await sessions[0].beginSnapshot()
    await sessions[1].joinSnapshot(id)
    const file = path.join(dir, 'dump.sql')
    const { ended } = dump(file)
    // The dump writes its first table's structure only after its own snapshot began: then the lock may go.
    let released = false
    const marker = (async () => {
      while (!released) {
        let text = ''
        try {
          text = readFileSync(file, 'utf8')
        } catch {}
        if (text.includes('-- Table structure for')) break
        await new Promise(resolve => setTimeout(resolve, 5))
      }
    })()
    await Promise.race([marker, ended])
    const atRelease = writer.commits()
    await sessions[0].releaseSnapshotLock()
    released = true
    await ended
    await writer.waitFor(atRelease + 20)
    const finalCommits = writer.commits()

    const seen = await Promise.all(
      sessions.map(async session => {
        const [{ rows, txns }] = await session.query<{ rows: string; txns: string }>(
          'SELECT COUNT(*) AS `rows`, COUNT(DISTINCT txn) AS txns FROM a'
        )
        const [{ n }] = await session.query<{ n: string }>('SELECT n FROM b WHERE id = 1')
        const tables = await session.listTables()
        return { rows: Number(rows), txns: Number(txns), n: Number(n), figures: await session.tablesFigures(tables, true) }
      })
    )
    assert.deepEqual(seen[1], seen[0], 'both sessions see the same snapshot')
    const { rows, n, txns } = seen[0]
    assert.equal(rows, 2 * n, 'every transaction wholly in or wholly out')
    assert.equal(txns, n)
    assert.ok(n >= 20 && n < finalCommits, `the snapshot (${n}) lies between the writer's start and its ${finalCommits} commits`)

    const text = readFileSync(file, 'utf8')
    // mariadb-dump writes `INSERT INTO `a` VALUES` and then one (id,txn) tuple per line.
    const section = (table: string) =>
      new RegExp(`^INSERT INTO \`${table}\` VALUES\\s*((?:\\(\\d+,\\d+\\)[,;]\\s*)+)`, 'm').exec(text)?.[1] ?? ''
    const aTuples = [...section('a').matchAll(/\((\d+),(\d+)\)/g)]
    const bValue = /^\(1,(\d+)\);$/m.exec(section('b'))?.[1]
    assert.equal(aTuples.length, rows, 'the dump holds exactly the rows the sessions counted')
    assert.equal(Number(bValue), n, 'and the same last transaction')
  } finally {
    await writer.stop()
    await Promise.all(sessions.map(session => session.close()))
  }
})

test('a session cannot join a snapshot once its lock was released', async () => {
  const [first, late] = [await MysqlSession.open(target, 'production'), await MysqlSession.open(target, 'production')]
  try {
    const id = await first.beginSnapshot()
    // How long production's writers waited on the lock, for the log and the report.
    const held = await first.releaseSnapshotLock()
    assert.ok(typeof held === 'number' && held >= 0, `held ${held}`)
    assert.equal(await first.releaseSnapshotLock(), undefined, 'a second release is a no-op')
    await assert.rejects(late.joinSnapshot(id), /can no longer be joined: its lock was released/)
  } finally {
    await Promise.all([first.close(), late.close()])
  }
})

test('a lock lost before its release fails the run: nothing proves the snapshots agree', async () => {
  const [session, admin] = [await MysqlSession.open(target, 'production'), await MysqlSession.open(target, 'cleanroom')]
  try {
    await session.beginSnapshot()
    const [{ id }] = await session.query<{ id: string }>('SELECT CONNECTION_ID() AS id')
    const others = await admin.query<{ id: string }>(
      'SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER = ? AND ID NOT IN (?, CONNECTION_ID())',
      [user, id]
    )
    assert.equal(others.length, 1, 'the lock has a connection of its own')
    await admin.query(`KILL ${Number(others[0].id)}`)
    await new Promise(resolve => setTimeout(resolve, 200))
    await assert.rejects(session.releaseSnapshotLock(), (error: unknown) => {
      assert.ok(error instanceof UserError)
      assert.match(error.message, /^Lost production's global read lock \(.*\) before the dump's snapshot was known to have begun/)
      return true
    })
  } finally {
    await Promise.all([session.close(), admin.close()])
  }
})

test('without the RELOAD privilege the snapshot lock fails in one line saying what to grant', async () => {
  const session = await MysqlSession.open(weakTarget, 'production')
  try {
    await assert.rejects(session.beginSnapshot(), (error: unknown) => {
      assert.ok(error instanceof UserError)
      assert.doesNotMatch(error.message, /\n/)
      assert.match(error.message, new RegExp(`GRANT RELOAD ON \\*\\.\\* TO '${weak}'@'<host>'`))
      return true
    })
  } finally {
    await session.close()
  }
})

test('the snapshot lock waits at most lock-timeout-seconds behind a table lock, then says so', async () => {
  MysqlSession.limits = { lockTimeoutSeconds: 1, serverTimeoutSeconds: 300 }
  const holder = await MysqlSession.open(mysql.parseUrl('production-url', server.url(database)), 'cleanroom')
  const session = await MysqlSession.open(target, 'production')
  try {
    await holder.query('LOCK TABLES a WRITE')
    const started = Date.now()
    await assert.rejects(session.beginSnapshot(), /^UserError: Lazarus waited 1 s for the brief global read lock on production/)
    assert.ok(Date.now() - started < 10_000)
  } finally {
    MysqlSession.limits = { lockTimeoutSeconds: 30, serverTimeoutSeconds: 300 }
    await holder.query('UNLOCK TABLES')
    await Promise.all([holder.close(), session.close()])
  }
})

test('production sessions are read-only and run under the pinned settings', async () => {
  const session = await MysqlSession.open(target, 'production')
  try {
    const [settings] = await session.query<{ zone: string; mode: string; names: string }>(
      'SELECT @@session.time_zone AS zone, @@session.sql_mode AS mode, @@session.character_set_results AS names'
    )
    assert.deepEqual(settings, { zone: '+00:00', mode: 'STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION', names: 'utf8mb4' })
    // REPEATABLE READ (a consistent snapshot's level) is pinned with the settings, before any snapshot lock.
    await session.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED')
    await session.pinSettings()
    const [{ isolation }] = await session.query<{ isolation: string }>('SELECT @@session.tx_isolation AS isolation')
    assert.equal(isolation, 'REPEATABLE-READ')
    // Even with a write privilege, nothing is written: every transaction of the session is read-only.
    const admin = await MysqlSession.open(mysql.parseUrl('production-url', server.url(database)), 'production')
    try {
      await assert.rejects(admin.query('INSERT INTO b VALUES (2, 0)'), /read only|READ ONLY/i)
      await admin.beginSnapshot()
      await assert.rejects(admin.query('UPDATE b SET n = n + 1'), /read only|READ ONLY/i)
    } finally {
      await admin.close()
    }
  } finally {
    await session.close()
  }
})
