import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { after, before, test } from 'node:test'
import mysql from 'mysql2/promise'
import { type MariadbServer } from '../../../support/mariadb.js'
import { clientTarget, openMariadbStreamPair, tempDirs } from '../../../support/mariadb-stream-setup.js'
import { uniqueName } from '../../../support/shared-servers.js'
import {
  findClientTools,
  restoreDumpFile,
  sanitizedConstructs,
  sanitizerProgram,
  streamDumpToRestore,
  type MysqlClientTools,
  type ServerRelease
} from '../../../../src/engines/mysql/tools.js'
import { summarizeRemovedLines } from '../../../../src/engines/mysql/sanitize-rules.js'
import { SKEW_RULES } from '../../../../src/engines/mysql/skew-catalogue.js'

// The client programs over real MariaDB servers: a production database streamed through the
// sanitizer into a scratch database on the clean room; a failing restore names the object; a
// production text that would make the client misread the dump stops the stream; a dump that holds
// a client command runs nothing on the runner; a skewed dump (a fake MySQL 8 mysqldump) restores.

let production: MariadbServer
let cleanroom: MariadbServer
let productionRelease: ServerRelease
let cleanroomRelease: ServerRelease
let cleanroomCollations: string[]
const dirs = tempDirs('lazarus-mysql-stream-')
const workDir = dirs.make
const target = clientTarget

before(async () => {
  ;({ production, cleanroom, productionRelease, cleanroomRelease, cleanroomCollations } = await openMariadbStreamPair())
})

after(() => dirs.removeAll())

/** What a database holds, read the same way on both sides: each table's rows (in key order) and CHECKSUM TABLE. */
async function contents(server: MariadbServer, database: string): Promise<string> {
  const tables = (
    await server.sql(
      `SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA='${database}' AND TABLE_TYPE='BASE TABLE' ORDER BY 1`,
      database
    )
  )
    .split('\n')
    .slice(1)
    .filter(Boolean)
  const out: string[] = []
  for (const table of tables) {
    out.push(
      table,
      await server
        .sql(`SELECT COUNT(*) FROM \`${table}\`; CHECKSUM TABLE \`${table}\` EXTENDED;`, database)
        .then(text => text.replaceAll(database, 'DB'))
    )
  }
  out.push(
    await server.sql(
      `SELECT ROUTINE_NAME, ROUTINE_DEFINITION FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA='${database}' ORDER BY 1`
    )
  )
  out.push(
    await server.sql(
      `SELECT TRIGGER_NAME, ACTION_STATEMENT FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA='${database}' ORDER BY 1`
    )
  )
  out.push(
    await server
      .sql(`SELECT TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS WHERE TABLE_SCHEMA='${database}' ORDER BY 1`)
      .then(text => text.replaceAll(database, 'DB'))
  )
  out.push(
    await server.sql(
      `SELECT EVENT_NAME, EVENT_DEFINITION FROM information_schema.EVENTS WHERE EVENT_SCHEMA='${database}' ORDER BY 1`
    )
  )
  return out.join('\n')
}

/** A production database with content in every lexical context that reads like the sanitizer's targets. */
async function tricky(database: string): Promise<void> {
  await production.sql(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci`)
  await production.sql(
    `CREATE TABLE \`order s\` (id int primary key auto_increment, note varchar(300) COMMENT 'CREATE DEFINER=\`x\`@\`y\` PROCEDURE -- ;; /* \\\\! */', b blob, d datetime(3), j json, e varchar(20) DEFAULT '', hidden int INVISIBLE, key (note), key by_e (e) IGNORED);
     INSERT INTO \`order s\` (id, note, b, d, j, e, hidden) VALUES (1,'it''s \\\\ a\\nnew -- line 🙂',0x00ff,'2024-01-01 10:00:00.123','{"a":1}', NULL, 5),(2,NULL,'',NULL,NULL,'',NULL),
       (3,'/*!50013 DEFINER=\`a\`@\`b\` SQL SECURITY DEFINER */\\nDELIMITER ;;\\n\\\\! touch /tmp/lazarus-pwned\\nSET @@SESSION.SQL_LOG_BIN= 0;',NULL,NULL,NULL,'x',1);
     CREATE TABLE \`select\` (\`key\` varchar(10) PRIMARY KEY, \`delimiter x\` int);
     INSERT INTO \`select\` VALUES ('a', 1), ('DELIMITER ', 2);
     CREATE VIEW v AS SELECT id, 'DEFINER=\`q\`@\`r\` ' AS t FROM \`order s\`;
     CREATE SEQUENCE s1;
     DELIMITER ;;
     CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 'x;;y'; SELECT 'CREATE DEFINER=\`x\`@\`y\` PROCEDURE'; END;;
     CREATE FUNCTION f(a varchar(10)) RETURNS varchar(20) DETERMINISTIC RETURN CONCAT(a, '\\\\! ;;');;
     CREATE TRIGGER tr BEFORE INSERT ON \`order s\` FOR EACH ROW BEGIN SET NEW.e = 'z;;'; END;;
     DELIMITER ;
     CREATE EVENT e ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00' DISABLE DO SELECT 1;`,
    database
  )
}

async function scratch(): Promise<string> {
  const name = uniqueName('lazarus_scratch')
  await cleanroom.sql(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci`)
  return name
}

async function tools(binDir?: string): Promise<MysqlClientTools> {
  return findClientTools(productionRelease, cleanroomRelease, binDir)
}

async function stream(database: string, into: string, tool: MysqlClientTools, dir = workDir(), keepDumpAt?: string) {
  let started = 0
  const outcome = await streamDumpToRestore({
    tools: tool,
    production: target(production, database, 'production-url'),
    restoreInto: target(cleanroom, into, 'cleanroom-url'),
    sanitizer: sanitizerProgram({ tools: tool, cleanroom: cleanroomRelease, cleanroomCollations, workDir: dir }),
    workDir: dir,
    keepDumpAt,
    onDumpSnapshotStarted: async () => {
      started++
    }
  })
  return { outcome, started, dir }
}

test('the client programs are found with their flavour, and the dump is the one that can dump production', async () => {
  const found = await tools()
  assert.equal(found.dump.flavour, 'mariadb')
  assert.equal(found.client.flavour, 'mariadb')
  assert.match(path.basename(found.dump.path), /^(mariadb-dump|mysqldump)$/)
  await assert.rejects(
    findClientTools(productionRelease, cleanroomRelease, '/nonexistent/bin'),
    /Input 'mysql-bin-dir' is '\/nonexistent\/bin', which does not exist/
  )
  const empty = workDir()
  await assert.rejects(
    findClientTools(productionRelease, cleanroomRelease, empty),
    /Found no mysqldump or mariadb-dump in '.*' \(input 'mysql-bin-dir'\)/
  )
})

test('a tricky production database streams through the sanitizer into a scratch database and holds the same', async () => {
  const database = uniqueName('lazarus_tricky')
  await tricky(database)
  const into = await scratch()
  try {
    const { outcome, started, dir } = await stream(database, into, await tools())
    assert.equal(outcome.ok, true, JSON.stringify(outcome))
    assert.deepEqual(
      outcome.stages.map(stage => [stage.stage, stage.exitCode]),
      [
        ['dump', 0],
        ['sanitize', 0],
        ['restore', 0]
      ]
    )
    assert.ok(outcome.dumpBytes > 1000)
    assert.equal(started, 1)
    assert.equal(await contents(cleanroom, into), await contents(production, database))
    // The invisible column and the ignored index came through; the DEFINERs were stripped (four objects).
    assert.match(await cleanroom.sql(`SHOW CREATE TABLE \`order s\``, into), /`hidden` int\(11\) INVISIBLE DEFAULT NULL/)
    assert.match(await cleanroom.sql(`SHOW CREATE TABLE \`order s\``, into), /KEY `by_e` \(`e`\) IGNORED/)
    const removed = fs.readFileSync(path.join(dir, 'sanitized-lines'), 'latin1').split('\n')
    assert.deepEqual(
      summarizeRemovedLines(removed).map(entry => [entry.rule, entry.lines]),
      [['definer', 5]]
    )
    // The same for the report, as the run's sanitizer reads it back; and each program's time from the stream's start.
    assert.deepEqual(sanitizedConstructs(removed), [{ parameter: SKEW_RULES.definer.construct, rule: 'definer', lines: 5 }])
    assert.deepEqual(outcome.restoredDisabled, [], 'the disabled event stays as it was')
    const { dump, sanitize, restore } = outcome.seconds ?? {}
    assert.ok(dump! > 0 && dump! <= sanitize! && sanitize! <= restore!, JSON.stringify(outcome.seconds))
    // Nothing secret was left behind or written where the log shows it.
    assert.equal(fs.existsSync(path.join(dir, 'dump.cnf')), false)
    assert.equal(fs.existsSync(path.join(dir, 'restore.cnf')), false)
    assert.ok(!fs.readFileSync(path.join(dir, 'stream.sh'), 'utf8').includes(production.password))
    assert.equal(fs.existsSync('/tmp/lazarus-pwned'), false)
  } finally {
    await production.sql(`DROP DATABASE \`${database}\``)
    await cleanroom.sql(`DROP DATABASE \`${into}\``)
  }
})

test('a password with quotes, #, spaces, backslashes and a line break reaches the programs whole through the option file', async () => {
  const database = uniqueName('lazarus_pw')
  const user = uniqueName('lz').slice(0, 32)
  const password = `a"b'c #d \\e\nf\tg`
  const quoted = password.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n').replace(/\t/g, '\\t')
  await production.sql(
    `CREATE DATABASE \`${database}\`; CREATE TABLE \`${database}\`.t (id int primary key); INSERT INTO \`${database}\`.t VALUES (1),(2);`
  )
  await production.sql(
    `CREATE USER '${user}'@'127.0.0.1' IDENTIFIED BY '${quoted}'; GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES ON \`${database}\`.* TO '${user}'@'127.0.0.1'; GRANT SELECT ON mysql.proc TO '${user}'@'127.0.0.1';`
  )
  const into = await scratch()
  try {
    const tool = await tools()
    const dir = workDir()
    const outcome = await streamDumpToRestore({
      tools: tool,
      production: { ...target(production, database, 'production-url'), user, password },
      restoreInto: target(cleanroom, into, 'cleanroom-url'),
      sanitizer: sanitizerProgram({ tools: tool, cleanroom: cleanroomRelease, cleanroomCollations, workDir: dir }),
      workDir: dir,
      onDumpSnapshotStarted: async () => undefined
    })
    assert.equal(outcome.ok, true, JSON.stringify(outcome))
    assert.match(await cleanroom.sql('SELECT COUNT(*) FROM t', into), /\n2\n/)
  } finally {
    await production.sql(`DROP USER '${user}'@'127.0.0.1'; DROP DATABASE \`${database}\``)
    await cleanroom.sql(`DROP DATABASE \`${into}\``)
  }
})

test('a failing restore names the object the client was restoring', async () => {
  const database = uniqueName('lazarus_fail')
  await production.sql(
    `CREATE DATABASE \`${database}\`; CREATE TABLE \`${database}\`.a (id int primary key); CREATE TABLE \`${database}\`.\`b b\` (id int primary key); INSERT INTO \`${database}\`.\`b b\` VALUES (1);`
  )
  const into = await scratch()
  // The scratch database already holds a view named like production's second table: its CREATE TABLE fails.
  await cleanroom.sql('CREATE VIEW `b b` AS SELECT 1 AS x', into)
  try {
    const { outcome } = await stream(database, into, await tools())
    assert.equal(outcome.ok, false)
    assert.equal(outcome.stages[0].stage, 'restore')
    assert.match(outcome.stages[0].stderr, /^ERROR 1050 \(42S01\) at line \d+: Table 'b b' already exists$/)
    assert.equal(outcome.failedAt, 'while restoring table `b b`')
  } finally {
    await production.sql(`DROP DATABASE \`${database}\``)
    await cleanroom.sql(`DROP DATABASE \`${into}\``)
  }
})

test("a routine body with the word 'delimiter ' in its code stops the stream: the client would read it as its command", async () => {
  const database = uniqueName('lazarus_delim')
  await production.sql(
    `CREATE DATABASE \`${database}\`; CREATE TABLE \`${database}\`.t (id int primary key); INSERT INTO \`${database}\`.t VALUES (1);`
  )
  // Created through the driver: the mysql client itself cannot be given this text.
  const connection = await mysql.createConnection({
    host: production.host,
    port: production.port,
    user: 'root',
    password: production.password,
    database
  })
  try {
    await connection.query('CREATE PROCEDURE p() BEGIN DECLARE xdelimiter INT DEFAULT 1; SELECT xdelimiter ; END')
  } finally {
    await connection.end()
  }
  const into = await scratch()
  try {
    const { outcome } = await stream(database, into, await tools())
    assert.equal(outcome.ok, false)
    assert.equal(outcome.stages[0].stage, 'sanitize')
    assert.equal(outcome.stages[0].exitCode, 3)
    assert.match(outcome.stages[0].stderr, /client command delimiter outside any string or comment/)
    assert.doesNotMatch(outcome.stages[0].stderr, /xdelimiter/)
    assert.equal(
      await cleanroom
        .sql(`SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA='${into}'`)
        .then(t => t.split('\n')[1]),
      '0'
    )
  } finally {
    await production.sql(`DROP DATABASE \`${database}\``)
    await cleanroom.sql(`DROP DATABASE \`${into}\``)
  }
})

test('a kept dump holding a client command runs nothing on the runner (binary mode), and a failing one names the data', async () => {
  const into = await scratch()
  const dir = workDir()
  const pwned = path.join(dir, 'pwned')
  try {
    const tool = await tools()
    const hostile = path.join(dir, 'hostile.sql')
    fs.writeFileSync(hostile, `CREATE TABLE t (id int);\n\\! touch ${pwned}\nsystem touch ${pwned}\nINSERT INTO t VALUES (1);\n`)
    const outcome = await restoreDumpFile({
      tools: tool,
      file: hostile,
      restoreInto: target(cleanroom, into, 'cleanroom-url'),
      workDir: dir
    })
    assert.equal(outcome.ok, false)
    assert.match(outcome.stages[0].stderr, /Unknown command '\\!'/)
    assert.equal(fs.existsSync(pwned), false)
    const duplicate = path.join(dir, 'duplicate.sql')
    fs.writeFileSync(
      duplicate,
      '--\n-- Table structure for table `u`\n--\n\nCREATE TABLE `u` (id int primary key);\n\n--\n-- Dumping data for table `u`\n--\n\nINSERT INTO `u` VALUES\n(1),\n(1);\n'
    )
    const failed = await restoreDumpFile({
      tools: tool,
      file: duplicate,
      restoreInto: target(cleanroom, into, 'cleanroom-url'),
      workDir: dir
    })
    assert.equal(failed.ok, false)
    assert.equal(failed.failedAt, 'while restoring the data of table `u`')
  } finally {
    await cleanroom.sql(`DROP DATABASE \`${into}\``)
  }
})

/**
 * A fake MySQL 8 mysqldump for `mysql-bin-dir`: it runs the real mariadb-dump and rewrites its
 * output into MySQL 8's dialect (header, 0900 collations, GTID lines, DEFINERs of an account the
 * clean room lacks, /*!80023 INVISIBLE *\/ columns, /*!80000 INVISIBLE *\/ indexes, no sandbox line).
 */
function fakeMysqldump(dir: string): string {
  const bin = path.join(dir, 'bin')
  fs.mkdirSync(bin)
  const script = `#!/bin/bash
if [ "$1" = --version ]; then echo "mysqldump  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)"; exit 0; fi
args=()
for a in "$@"; do case "$a" in
  --set-gtid-purged=*|--column-statistics=*) ;;
  # MySQL's option file: mariadb-dump knows no ssl-mode.
  --defaults-file=*) grep -v '^ssl-mode=' "\${a#--defaults-file=}" > "\${a#--defaults-file=}.mariadb"; args+=("\$a.mariadb");;
  *) args+=("$a");;
esac; done
set -o pipefail
mariadb-dump "\${args[@]}" | sed -E \\
  -e '1{/enable the sandbox mode/d}' \\
  -e 's/^-- MariaDB dump .*/-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)/' \\
  -e 's/^(\\/\\*!40101 SET NAMES utf8mb4 \\*\\/;)$/\\1\\nSET @MYSQLDUMP_TEMP_LOG_BIN = @@SESSION.SQL_LOG_BIN;\\nSET @@SESSION.SQL_LOG_BIN= 0;\\n\\n--\\n-- GTID state at the beginning of the backup \\n--\\n\\nSET @@GLOBAL.GTID_PURGED=\\/*!80000 '"'+'"'*\\/ '"'3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5,\\n4E11FA47-71CA-11E1-9E33-C80AA9429562:1-9'"';/' \\
  -e 's/^(\\/\\*!40111 SET SQL_NOTES=@OLD_SQL_NOTES \\*\\/;)$/SET @@SESSION.SQL_LOG_BIN = @MYSQLDUMP_TEMP_LOG_BIN;\\n\\1/' \\
  -e 's/COLLATE=utf8mb4_general_ci;$/COLLATE=utf8mb4_0900_ai_ci;/' \\
  -e 's/^(  \`[^\`]+\` varchar\\([0-9]+\\)) /\\1 COLLATE utf8mb4_0900_as_cs /' \\
  -e 's/(collation_connection *= )utf8mb3_general_ci/\\1utf8mb4_0900_ai_ci/' \\
  -e 's/(character_set_client *= )utf8mb3/\\1utf8mb4/' \\
  -e 's/DEFINER=\`root\`@\`127\\.0\\.0\\.1\`/DEFINER=\`app\`@\`%\`/' \\
  -e 's/^(  \`hidden\` int\\(11\\)) INVISIBLE (.*[^,])(,?)$/\\1 \\2 \\/*!80023 INVISIBLE *\\/\\3/' \\
  -e 's/^(  KEY .*) IGNORED(,?)$/\\1 \\/*!80000 INVISIBLE *\\/\\2/'
`
  fs.writeFileSync(path.join(bin, 'mysqldump'), script, { mode: 0o755 })
  fs.symlinkSync('/usr/bin/mariadb', path.join(bin, 'mariadb'))
  return bin
}

test('a skewed dump (MySQL 8 dialect, from a fake mysqldump in mysql-bin-dir) is sanitized and restores into MariaDB whole', async () => {
  const database = uniqueName('lazarus_skew')
  await tricky(database)
  // MySQL has no sequences: the skewed production does not either.
  await production.sql('DROP SEQUENCE s1', database)
  const into = await scratch()
  try {
    const dir = workDir()
    const tool = await tools(fakeMysqldump(dir))
    assert.equal(tool.dump.flavour, 'mysql')
    assert.equal(tool.dump.version, '8.0.36')
    const { outcome, dir: streamDir } = await stream(database, into, tool)
    assert.equal(outcome.ok, true, JSON.stringify(outcome))
    const removed = fs.readFileSync(path.join(streamDir, 'sanitized-lines'), 'latin1').split('\n')
    const rules = Object.fromEntries(summarizeRemovedLines(removed).map(entry => [entry.rule, entry.lines]))
    assert.equal(rules['gtid-state'], 4)
    assert.ok(rules['collation-0900'] >= 4, JSON.stringify(rules))
    assert.equal(rules.definer, 5)
    assert.equal(rules['mysql-versioned-comment'], 2)
    assert.equal(await contents(cleanroom, into), await contents(production, database))
    const created = await cleanroom.sql('SHOW CREATE TABLE `order s`', into)
    assert.match(created, /`hidden` int\(11\) INVISIBLE DEFAULT NULL/)
    assert.match(created, /KEY `by_e` \(`e`\) IGNORED/)
    assert.match(created, /COLLATE=utf8mb4_uca1400_nopad_ai_ci/)
    assert.match(created, /`note` varchar\(300\) CHARACTER SET utf8mb4 COLLATE utf8mb4_uca1400_nopad_as_cs/)
  } finally {
    await production.sql(`DROP DATABASE \`${database}\``)
    await cleanroom.sql(`DROP DATABASE \`${into}\``)
  }
})

// The copy of the dump the drill's copies are made from is kept with `tee` (tools.ts STREAM_SCRIPT),
// which goes on feeding the client when it cannot write its file: a runner disk that fills while the
// copy is written is the stream's fault, named as the runner's full disk (as PostgreSQL's stream
// names it), never an ok stream with a truncated copy the drill would then corrupt. A tee that dies
// of the broken pipe when the client stops on the dump is no failure of the copy: that restore is judged.

/** A production database whose dump is several times the small disk below. */
const database = uniqueName('lazarus_keep_full')

let filled: Promise<unknown> | undefined
after(() => filled && production.sql(`DROP DATABASE IF EXISTS \`${database}\``))

/** Streams production's database into a fresh scratch database (holding a clashing table when asked), keeping the dump at `keepDumpAt`. */
async function streamKeeping(keepDumpAt: string, clash = false) {
  filled ??= production.sql(
    `CREATE DATABASE \`${database}\`; CREATE TABLE \`${database}\`.filler (id int PRIMARY KEY, body text NOT NULL);
     USE \`${database}\`; INSERT INTO filler SELECT seq, MD5(seq) FROM seq_1_to_8000;`
  )
  await filled
  const into = await scratch()
  if (clash) await cleanroom.sql('CREATE VIEW filler AS SELECT 1 AS id', into)
  try {
    return (await stream(database, into, await tools(), workDir(), keepDumpAt)).outcome
  } finally {
    await cleanroom.sql(`DROP DATABASE \`${into}\``)
  }
}

test("MariaDB: a kept copy of the dump that fills the runner's disk half-way is the stream's fault, not an ok stream", async t => {
  if (process.getuid?.() !== 0) return t.skip('needs root to mount a small tmpfs')
  const mountPoint = fs.mkdtempSync(path.join(os.tmpdir(), 'lazarus-small-disk-'))
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', mountPoint], { encoding: 'utf8' })
  if (mounted.status !== 0) {
    fs.rmSync(mountPoint, { recursive: true, force: true })
    return t.skip(`cannot mount a tmpfs here: ${mounted.stderr.trim()}`)
  }
  t.after(() => {
    spawnSync('umount', [mountPoint])
    fs.rmSync(mountPoint, { recursive: true, force: true })
  })
  const keepDumpAt = path.join(mountPoint, 'backup.sql')
  const outcome = await streamKeeping(keepDumpAt)
  const kept = fs.statSync(keepDumpAt).size
  assert.ok(kept < outcome.dumpBytes, `the copy is whole (${kept} of ${outcome.dumpBytes} bytes): the test's disk is too large`)
  assert.equal(outcome.ok, false, `the stream says ok with a kept copy of ${kept} of ${outcome.dumpBytes} bytes`)
  // The runner's full disk, named as PostgreSQL's stream names it (util/work-files.ts diskFullError), not the backup's.
  assert.equal(outcome.restoreError, undefined)
  assert.match(
    outcome.fault?.message ?? '',
    new RegExp(`^The disk filled up while Lazarus was writing the copy of the dump to ${mountPoint} `)
  )
})

test("MariaDB: a restore that stops on the dump while the copy is kept is the restore's failure, not the copy's", async () => {
  // The scratch database already holds a view of the table's name (the dump's DROP TABLE leaves it): the
  // client stops at its CREATE TABLE, and tee's pipe breaks with the dump still coming.
  const outcome = await streamKeeping(path.join(workDir(), 'backup.sql'), true)
  assert.equal(outcome.ok, false)
  assert.equal(outcome.fault, undefined, outcome.fault?.message)
  assert.equal(outcome.stages[0].stage, 'restore', JSON.stringify(outcome.stages))
})
