import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { chmodSync, chownSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import mysql from 'mysql2/promise'
import { mariadbCleanroom, mariadbProduction, type MariadbServer } from '../support/mariadb.js'
import { createMariadbDatabase, mariadbInputs, MYSQL_SHOP_SQL } from '../support/engines.js'
import { repoRoot } from '../support/run-action.js'
import { uniqueName } from '../support/shared-servers.js'
import { assertNoCommandLineHolds, assertNothingLeaks, maskedValues, sampleCommandLines } from '../support/secret-scan.js'
import {
  errorAnnotations,
  explain,
  leftoverWorkDirs,
  runActionProcess,
  runPostStep,
  startAction,
  visibleLog,
  workspaceRunIds,
  type ActionResult
} from '../support/action-process.js'

// The MySQL/MariaDB engine end to end (issue 15), by the bundled action against the shared
// MariaDB servers: the tricky database verifies, every drill operator is caught, a run under live
// writes verifies (the snapshot lock protocol), bad inputs end in one clear line, passwords leak
// nowhere (log, outputs, summary, report, files, command lines), and the post step drops what a
// killed run left.

const TRICKY_SQL = readFileSync(path.join(repoRoot, 'test/fixtures/mysql-tricky.sql'), 'utf8')

let production: MariadbServer
let cleanroom: MariadbServer
let tricky: string
const cleanup: (() => Promise<unknown>)[] = []

before(async () => {
  ;[production, cleanroom] = await Promise.all([mariadbProduction(), mariadbCleanroom()])
  ;({ database: tricky } = await createMariadbDatabase('tricky', TRICKY_SQL))
  // An enabled event (production's scheduler is off, so it never runs there): every run restores it
  // disabled, and the schema still matches.
  await production.sql(
    `CREATE EVENT hourly_audit ON SCHEDULE EVERY 1 HOUR STARTS '2030-01-01 00:00:00' ON COMPLETION PRESERVE ENABLE
       DO INSERT INTO audit (what) VALUES ('hourly')`,
    tricky
  )
  cleanup.push(() => production.sql(`DROP DATABASE IF EXISTS \`${tricky}\``))
})

after(async () => {
  for (const step of cleanup.reverse()) await step().catch(error => console.error('cleanup:', error))
})

/** The run id of an action's one workspace. */
function runIdOf(run: ActionResult): string {
  const [id] = workspaceRunIds(run.runnerTemp)
  assert.ok(id, 'the run made a workspace')
  return id
}

/** Scratch databases a run left on the clean room. */
async function leftovers(run: ActionResult): Promise<string[]> {
  const out = await cleanroom.sql(
    `SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'lazarus\\_${runIdOf(run)}%'`
  )
  return out
    .split('\n')
    .slice(1)
    .filter(line => line.trim() !== '')
}

/** What production holds, table by table (CHECKSUM TABLE): it must not change under Lazarus. */
async function productionChecksums(database: string): Promise<string> {
  const tables = (await production.sql(`SHOW FULL TABLES WHERE Table_type = 'BASE TABLE'`, database))
    .split('\n')
    .slice(1)
    .filter(Boolean)
    .map(line => line.split('\t')[0])
  return production.sql(`CHECKSUM TABLE ${tables.map(name => `\`${name.replace(/`/g, '``')}\``).join(', ')} EXTENDED`, database)
}

test('the tricky database (reserved and quoted names, every common type, partitions, routines, triggers, views, an event) verifies', async () => {
  const before = await productionChecksums(tricky)
  const run = await runActionProcess(await mariadbInputs(tricky, { verify: 'checksums' }), { timeoutMs: 240_000 })
  assert.equal(run.exitCode, 0, explain(run))
  assert.equal(run.outputs.result, 'verified')
  assert.deepEqual(errorAnnotations(run.stdout), [])
  const names = run.report.tables.map((table: { schema: string; name: string }) => `${table.schema}.${table.name}`).sort()
  assert.deepEqual(
    names,
    ['audit', 'every_type', 'measurements', 'no_key', 'order', 'we`ird table'].map(name => `${tricky}.${name}`)
  )
  for (const table of run.report.tables) {
    assert.equal(table.match, true, `${table.name}: ${table.difference}`)
    assert.ok(typeof table.production.checksum === 'string' && table.production.checksum.length > 0, table.name)
  }
  const everyType = run.report.tables.find((table: { name: string }) => table.name === 'every_type')
  assert.equal(everyType.production.rows, 4)
  assert.deepEqual(run.report.schema, [])
  assert.match(run.report.engine, /^MariaDB$/)
  assert.match(run.report.production.serverVersion, /MariaDB|^\d+\.\d+/)
  assert.ok(run.report.programs?.dump?.path, 'the dump program is reported')
  assert.match(visibleLog(run), /Released production's snapshot lock after \d+\.\d+ s/)
  assert.equal(typeof run.report.snapshotLockSeconds, 'number')
  assert.match(visibleLog(run), /Restored 1 enabled event\(s\) disabled, so that none runs in the clean room \(hourly_audit\)/)
  assert.match(run.summary, new RegExp(`MariaDB`))
  assert.equal(await productionChecksums(tricky), before, 'production is unchanged')
  assert.deepEqual(await leftovers(run), [])
  assert.deepEqual(leftoverWorkDirs(run.runnerTemp), [])
})

test('every drill operator of the engine is applied to its own copy of the dump and caught', async () => {
  const run = await runActionProcess(await mariadbInputs(tricky, { sabotage: 'all' }), { timeoutMs: 420_000 })
  assert.equal(run.exitCode, 0, explain(run))
  assert.equal(run.outputs.result, 'verified')
  const drills: { operator: string; applied: boolean; detected: boolean; detectedBy: string; evidence: string }[] =
    run.report.sabotage
  const operators = drills.map(drill => drill.operator)
  for (const operator of [
    'drop-row',
    'duplicate-row',
    'mutate-cell',
    'truncate',
    'drop-index',
    'drop-constraint',
    'reset-auto-increment'
  ]) {
    assert.ok(operators.includes(operator), `sabotage all runs ${operator} (ran ${operators.join(', ')})`)
  }
  for (const drill of drills) {
    assert.equal(drill.applied, true, `${drill.operator} was applied: ${drill.evidence}`)
    assert.equal(drill.detected, true, `${drill.operator} was caught: ${drill.evidence}`)
  }
  assert.equal(run.outputs['sabotage-caught'], String(drills.length))
  assert.equal(run.outputs['sabotage-missed'], '0')
  assert.deepEqual(await leftovers(run), [])
})

test('with verify: counts, a drill that keeps every row count is an expected miss, never a pass of the step by luck', async () => {
  const { database } = await createMariadbDatabase('counts', MYSQL_SHOP_SQL)
  cleanup.push(() => production.sql(`DROP DATABASE IF EXISTS \`${database}\``))
  const run = await runActionProcess(await mariadbInputs(database, { verify: 'counts', sabotage: 'drop-row,mutate-cell' }), {
    timeoutMs: 240_000
  })
  assert.equal(run.exitCode, 0, explain(run))
  const [dropRow, mutateCell] = run.report.sabotage
  assert.equal(dropRow.detected, true)
  assert.equal(dropRow.detectedBy, 'counts')
  assert.equal(mutateCell.detected, false)
  assert.match(mutateCell.expectedMiss, /verify: counts/)
  assert.equal(run.outputs['sabotage-missed'], '0')
})

test('a run under live writes verifies: the figures and the dump see one snapshot', async () => {
  const { database } = await createMariadbDatabase(
    'live',
    `CREATE TABLE filler (id INT PRIMARY KEY, body VARCHAR(200) NOT NULL);
     INSERT INTO filler SELECT seq, REPEAT(MD5(seq), 5) FROM seq_1_to_60000;
     CREATE TABLE events (id INT AUTO_INCREMENT PRIMARY KEY, n INT NOT NULL, note VARCHAR(40) NOT NULL);
     INSERT INTO events (n, note) SELECT seq, 'seed' FROM seq_1_to_1000;`
  )
  cleanup.push(() => production.sql(`DROP DATABASE IF EXISTS \`${database}\``))
  const writer = await mysql.createConnection({
    host: production.host,
    port: production.port,
    user: 'root',
    password: production.password,
    database
  })
  let writes = 0
  let writing = true
  const failures: unknown[] = []
  const writing$ = (async () => {
    while (writing) {
      try {
        await writer.query('INSERT INTO events (n, note) VALUES (?, ?)', [writes, 'live'])
        await writer.query('UPDATE events SET n = n + 1, note = ? WHERE id = ?', ['updated', 1 + (writes % 1000)])
        await writer.query('UPDATE filler SET body = REVERSE(body) WHERE id = ?', [1 + ((writes * 7919) % 60000)])
        writes++
      } catch (error) {
        failures.push(error)
        await new Promise(resolve => setTimeout(resolve, 20))
      }
    }
  })()
  try {
    const action = await startAction(await mariadbInputs(database, { verify: 'checksums', jobs: '3' }), { timeoutMs: 240_000 })
    const writesAtStart = writes
    const run = await action.finished
    const writesDuring = writes - writesAtStart
    writing = false
    await writing$
    assert.equal(run.exitCode, 0, explain(run))
    assert.equal(run.outputs.result, 'verified')
    assert.ok(writesDuring > 20, `the writer kept writing during the run (${writesDuring} rounds)`)
    const events = run.report.tables.find((table: { name: string }) => table.name === 'events')
    const [, afterRows] = (await production.sql('SELECT COUNT(*) FROM events', database)).trim().split('\n')
    assert.ok(Number(afterRows) > events.production.rows, 'production went on taking rows after the snapshot')
    assert.deepEqual(await leftovers(run), [])
  } finally {
    writing = false
    await writing$
    await writer.end()
  }
  assert.deepEqual(failures, [], 'the writer was never refused (the snapshot lock is brief and then gone)')
})

test('a table no snapshot isolates (MyISAM) under live writes: the lock holds through the dump, and the run verifies', async () => {
  const { database } = await createMariadbDatabase(
    'myisam',
    `CREATE TABLE filler (id INT PRIMARY KEY, body VARCHAR(200) NOT NULL) ENGINE=InnoDB;
     INSERT INTO filler SELECT seq, REPEAT(MD5(seq), 5) FROM seq_1_to_60000;
     CREATE TABLE hits (id INT AUTO_INCREMENT PRIMARY KEY, n INT NOT NULL) ENGINE=MyISAM;
     INSERT INTO hits (n) SELECT seq FROM seq_1_to_1000;`
  )
  cleanup.push(() => production.sql(`DROP DATABASE IF EXISTS \`${database}\``))
  const writer = await mysql.createConnection({
    host: production.host,
    port: production.port,
    user: 'root',
    password: production.password,
    database
  })
  let writing = true
  let writes = 0
  const writing$ = (async () => {
    while (writing) {
      await writer.query('INSERT INTO hits (n) VALUES (?)', [writes])
      await writer.query('UPDATE hits SET n = n + 1 WHERE id = ?', [1 + (writes % 1000)])
      writes++
    }
  })()
  try {
    const run = await runActionProcess(await mariadbInputs(database, { verify: 'checksums', jobs: '2' }), { timeoutMs: 240_000 })
    writing = false
    await writing$
    assert.equal(run.exitCode, 0, explain(run))
    assert.equal(run.outputs.result, 'verified')
    assert.match(
      run.stdout,
      /::warning title=Lazarus%3A production writes held during the dump::1 table\(s\) use a storage engine no consistent snapshot isolates \(.*hits\)/
    )
    assert.ok(writes > 0, 'the writer wrote')
    const hits = run.report.tables.find((table: { name: string }) => table.name === 'hits')
    const [, afterRows] = (await production.sql('SELECT COUNT(*) FROM hits', database)).trim().split('\n')
    assert.ok(Number(afterRows) >= hits.production.rows, 'production went on taking rows after the lock')
  } finally {
    writing = false
    await writing$.catch(() => undefined)
    await writer.end()
  }
})

/**
 * A "MySQL 8 mysqldump" for `mysql-bin-dir`, in the manner of the stream test's: it runs the real
 * mariadb-dump and writes its output in MySQL 8's dialect where that does not change what the
 * database holds: MySQL's header, the GTID state (`SET @@GLOBAL.GTID_PURGED`), SQL_LOG_BIN
 * bracketing, and DEFINERs of an account the clean room lacks; the sandbox first line of recent
 * mariadb-dump stays. Production's own collations stay too (a MariaDB production has no 0900 ones).
 */
function skewingMysqldump(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lazarus-skew-bin-'))
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
  const script = `#!/bin/bash
if [ "$1" = --version ]; then echo "mysqldump  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)"; exit 0; fi
args=()
for a in "$@"; do case "$a" in
  --set-gtid-purged=*|--column-statistics=*) ;;
  --defaults-file=*) grep -v '^ssl-mode=' "\${a#--defaults-file=}" > "\${a#--defaults-file=}.mariadb"; args+=("\${a}.mariadb");;
  *) args+=("$a");;
esac; done
set -o pipefail
mariadb-dump "\${args[@]}" | sed -E \\
  -e 's/^-- MariaDB dump .*/-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)/' \\
  -e 's/^(\\/\\*!40101 SET NAMES utf8mb4 \\*\\/;)$/\\1\\nSET @MYSQLDUMP_TEMP_LOG_BIN = @@SESSION.SQL_LOG_BIN;\\nSET @@SESSION.SQL_LOG_BIN= 0;\\n\\n--\\n-- GTID state at the beginning of the backup \\n--\\n\\nSET @@GLOBAL.GTID_PURGED=\\/*!80000 '"'+'"'*\\/ '"'3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5'"';/' \\
  -e 's/^(\\/\\*!40111 SET SQL_NOTES=@OLD_SQL_NOTES \\*\\/;)$/SET @@SESSION.SQL_LOG_BIN = @MYSQLDUMP_TEMP_LOG_BIN;\\n\\1/' \\
  -e 's/DEFINER=\`[^\`]+\`@\`[^\`]+\`/DEFINER=\`app\`@\`%\`/g'
`
  writeFileSync(path.join(dir, 'mysqldump'), script, { mode: 0o755 })
  symlinkSync(execFileSync('bash', ['-c', 'command -v mariadb']).toString().trim(), path.join(dir, 'mariadb'))
  return dir
}

test('a skewed dump (MySQL 8 header, GTID state, SQL_LOG_BIN, DEFINERs of an absent account) is sanitized and verifies', async () => {
  const dir = skewingMysqldump()
  const run = await runActionProcess(await mariadbInputs(tricky, { 'mysql-bin-dir': dir }), { timeoutMs: 240_000 })
  assert.equal(run.exitCode, 0, explain(run))
  assert.equal(run.outputs.result, 'verified')
  assert.equal(run.report.programs.dump.version, '8.0.36', 'the skewing mysqldump ran')
  assert.ok(run.report.tables.length >= 6)
  assert.deepEqual(run.report.schema, [])
  // The report names every rule that changed the dump, with its lines, and the dump's own time.
  const sanitized = Object.fromEntries(
    run.report.sanitized.map((item: { rule: string; lines: number; parameter: string }) => [item.rule, item.lines])
  )
  assert.equal(sanitized['gtid-state'], 4, JSON.stringify(run.report.sanitized))
  assert.ok(sanitized.definer >= 5, JSON.stringify(run.report.sanitized))
  assert.equal(sanitized['event-status'], 1, JSON.stringify(run.report.sanitized))
  assert.ok(
    run.report.sanitized.every((item: { parameter: string }) => item.parameter.length > 5),
    'each rule is named by its construct'
  )
  assert.ok(
    run.report.timings.dump > 0 && run.report.timings.dump <= run.report.timings.restore,
    JSON.stringify(run.report.timings)
  )
  assert.ok(Number(run.outputs['dump-seconds']) > 0, `dump-seconds ${run.outputs['dump-seconds']}`)
  assert.match(run.summary, /dump [0-9.]+ [KMG]?i?B in [0-9.]+ s/)
  assert.match(run.summary, /Sanitized: \d+ line\(s\) the clean room does not take as dumped/)
  assert.match(run.summary, /GTID state lines/)
  assert.deepEqual(await leftovers(run), [])
})

test('bad inputs end in one clear error line, before anything is created in the clean room', async () => {
  const shopInputs = await mariadbInputs('mysql')
  // `beforeConnecting`: refused by the URLs alone, before any session to either server.
  const cases: { name: string; inputs: Record<string, string>; message: RegExp; beforeConnecting?: boolean }[] = [
    {
      name: 'engines mixed',
      inputs: { ...shopInputs, 'cleanroom-url': 'postgresql://postgres@127.0.0.1:5432/postgres' },
      message: /Inputs 'production-url' \(MySQL\/MariaDB\) and 'cleanroom-url' \(PostgreSQL\) name different engines/
    },
    {
      name: 'a PostgreSQL-only input',
      inputs: { ...shopInputs, 'postgres-bin-dir': '/usr/lib/postgresql/15/bin' },
      message: /Input 'postgres-bin-dir' does not apply to MySQL\/MariaDB: set 'mysql-bin-dir'/
    },
    {
      name: 'the clean room is production',
      inputs: {
        ...shopInputs,
        'cleanroom-url': production.url('mysql', { password: null }),
        'cleanroom-password': production.password
      },
      message: /clean room/i,
      beforeConnecting: true
    },
    {
      name: 'a wrong password',
      inputs: { ...shopInputs, 'production-password': 'not-the-password' },
      message: /production/i
    },
    {
      name: 'a database that does not exist',
      inputs: { ...shopInputs, 'production-url': production.url('no_such_database', { password: null }) },
      message: /no_such_database/
    }
  ]
  const runs = await Promise.all(cases.map(async ({ inputs }) => runActionProcess(inputs, { timeoutMs: 120_000 })))
  for (const [index, { name, message, beforeConnecting }] of cases.entries()) {
    const run = runs[index]
    assert.equal(run.exitCode, 1, `${name}: ${explain(run)}`)
    assert.equal(run.outputs.result, 'error', name)
    const errors = errorAnnotations(run.stdout)
    assert.equal(errors.length, 1, `${name}: one error annotation, got ${errors.join('\n')}`)
    assert.match(errors[0], message, name)
    assert.doesNotMatch(errors[0], /%0A/, `${name}: the error is one line`)
    assert.doesNotMatch(visibleLog(run), /\n\s+at .+\(.+:\d+:\d+\)/, `${name}: no stack trace`)
    if (beforeConnecting) assert.doesNotMatch(run.stdout, /::group::Connect/, `${name}: refused before connecting`)
    if (workspaceRunIds(run.runnerTemp).length > 0) assert.deepEqual(await leftovers(run), [], name)
  }
})

/** A password full of URL-hostile characters. */
const PASSWORD = 'p@ss:/ word?#%&=\'"`\\'

test('an account with the documented privileges and a hostile password verifies, and the password leaks nowhere', async () => {
  const { database } = await createMariadbDatabase('secrets', MYSQL_SHOP_SQL)
  const user = uniqueName('lz')
  const sqlPassword = PASSWORD.replace(/\\/g, '\\\\').replace(/'/g, "\\'")
  // Production: the privileges docs/mysql.md lists for a read-only backup account.
  await production.sql(
    `CREATE USER '${user}'@'127.0.0.1' IDENTIFIED BY '${sqlPassword}';
     GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES, RELOAD, PROCESS ON *.* TO '${user}'@'127.0.0.1';`
  )
  // The clean room: a disposable server's account that may create, fill and drop databases.
  await cleanroom.sql(
    `CREATE USER '${user}'@'127.0.0.1' IDENTIFIED BY '${sqlPassword}';
     GRANT ALL PRIVILEGES ON *.* TO '${user}'@'127.0.0.1';`
  )
  cleanup.push(
    () => production.sql(`DROP USER IF EXISTS '${user}'@'127.0.0.1'; DROP DATABASE IF EXISTS \`${database}\``),
    () => cleanroom.sql(`DROP USER IF EXISTS '${user}'@'127.0.0.1'`)
  )
  const inUrl = {
    'production-url': production.url(database, { user, password: PASSWORD }),
    'cleanroom-url': cleanroom.url('mysql', { user, password: PASSWORD })
  }
  const inInputs = {
    'production-url': production.url(database, { user, password: null }),
    'production-password': PASSWORD,
    'cleanroom-url': cleanroom.url('mysql', { user, password: null }),
    'cleanroom-password': PASSWORD
  }
  const commandLines = sampleCommandLines()
  const runs = await Promise.all(
    [inUrl, inInputs].map(inputs => runActionProcess({ ...inputs, sabotage: 'drop-row' }, { timeoutMs: 240_000 }))
  )
  const seen = commandLines.stop()
  for (const [index, run] of runs.entries()) {
    const way = index === 0 ? 'inside the URL' : 'in the -password inputs'
    assert.equal(run.exitCode, 0, `${way}: ${explain(run)}`)
    assert.equal(run.outputs.result, 'verified', way)
    assert.equal(run.outputs['sabotage-caught'], '1', way)
    assert.ok(maskedValues(run).includes(PASSWORD), `${way}: the password is registered with the runner's masking`)
    assertNothingLeaks(way, run, PASSWORD)
    assert.deepEqual(await leftovers(run), [], way)
  }
  const programs = [...seen].filter(args => /(mariadb-dump|mysqldump|\/mariadb|\/mysql) /.test(args))
  assert.ok(
    programs.some(args => /mariadb-dump|mysqldump/.test(args)),
    'the dump program was seen running'
  )
  assertNoCommandLineHolds(seen, PASSWORD)
})

test('a cancelled run (SIGINT mid-restore) drops its scratch database itself and leaves no dump behind', async () => {
  const { database } = await createMariadbDatabase(
    'cancelled',
    `CREATE TABLE filler (id INT PRIMARY KEY, body VARCHAR(200) NOT NULL);
     INSERT INTO filler SELECT seq, REPEAT(MD5(seq), 5) FROM seq_1_to_100000;`
  )
  cleanup.push(() => production.sql(`DROP DATABASE IF EXISTS \`${database}\``))
  const action = await startAction(await mariadbInputs(database), { timeoutMs: 240_000 })
  await action.waitForOutput(/Created scratch database lazarus_/, 120_000)
  action.child.kill('SIGINT')
  const run = await action.finished
  assert.equal(run.exitCode, 1, explain(run))
  assert.equal(run.outputs.result, 'error')
  assert.match(run.stdout, /Cancelled by SIGINT/)
  assert.deepEqual(await leftovers(run), [], 'the scratch database is dropped without the post step')
  assert.deepEqual(leftoverWorkDirs(run.runnerTemp), [], 'the dump files are removed')
})

test('the post step drops the scratch databases of a run killed mid-restore, and only those', async () => {
  const { database } = await createMariadbDatabase(
    'killed',
    `CREATE TABLE filler (id INT PRIMARY KEY, body VARCHAR(200) NOT NULL);
     INSERT INTO filler SELECT seq, REPEAT(MD5(seq), 5) FROM seq_1_to_100000;`
  )
  cleanup.push(() => production.sql(`DROP DATABASE IF EXISTS \`${database}\``))
  const inputs = await mariadbInputs(database)
  const action = await startAction(inputs, { timeoutMs: 240_000 })
  await action.waitForOutput(/Created scratch database (lazarus_\S+)/, 120_000)
  action.child.kill('SIGKILL')
  const killed = await action.finished
  const left = await leftovers(killed)
  assert.ok(left.length >= 1, 'the killed run left its scratch database')
  const post = await runPostStep(inputs, killed)
  assert.equal(post.exitCode, 0, explain(post))
  assert.match(post.stdout, /Dropped leftover scratch database lazarus_/)
  assert.deepEqual(await leftovers(killed), [])
})

test("tables production placed with DATA DIRECTORY and INDEX DIRECTORY verify, restored in the clean room's own data directory", async () => {
  // A directory production's server (the mysql OS user, when the tests run as root) may write.
  const elsewhere = mkdtempSync(path.join(os.tmpdir(), 'lazarus-e2e-paths-'))
  cleanup.push(async () => rmSync(elsewhere, { recursive: true, force: true }))
  chmodSync(elsewhere, 0o755)
  if (process.getuid?.() === 0) {
    const id = (flag: string) => Number(execFileSync('id', [flag, 'mysql'], { encoding: 'utf8' }).trim())
    chownSync(elsewhere, id('-u'), id('-g'))
  }
  const { database } = await createMariadbDatabase(
    'paths',
    `CREATE TABLE placed (id INT PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB DATA DIRECTORY='${elsewhere}';
     CREATE TABLE indexed (id INT PRIMARY KEY, v VARCHAR(20)) ENGINE=Aria DATA DIRECTORY='${elsewhere}' INDEX DIRECTORY='${elsewhere}';
     CREATE TABLE parted (id INT PRIMARY KEY) ENGINE=MyISAM
       PARTITION BY RANGE (id) (PARTITION p0 VALUES LESS THAN (10) DATA DIRECTORY='${elsewhere}' INDEX DIRECTORY='${elsewhere}',
                                PARTITION p1 VALUES LESS THAN MAXVALUE);
     INSERT INTO placed VALUES (1, 'a'), (2, 'b'); INSERT INTO indexed VALUES (1, 'c'); INSERT INTO parted VALUES (1), (20);`
  )
  cleanup.push(() => production.sql(`DROP DATABASE IF EXISTS \`${database}\``))
  const files = () => readdirSync(elsewhere, { recursive: true, encoding: 'utf8' }).sort()
  const placed = files()
  assert.ok(
    placed.some(file => file.startsWith('indexed.')),
    `production placed its files there: ${placed.join(', ')}`
  )
  const run = await runActionProcess(await mariadbInputs(database, { verify: 'checksums' }), { timeoutMs: 240_000 })
  assert.equal(run.exitCode, 0, explain(run))
  assert.equal(run.outputs.result, 'verified')
  assert.deepEqual(run.report.schema, [])
  const rule = run.report.sanitized.find((item: { rule: string }) => item.rule === 'path-option')
  assert.equal(rule?.lines, 3, JSON.stringify(run.report.sanitized))
  assert.match(rule.parameter, /DATA DIRECTORY/)
  assert.deepEqual(files(), placed, "the clean room wrote nothing at production's path")
  assert.deepEqual(await leftovers(run), [])
})
