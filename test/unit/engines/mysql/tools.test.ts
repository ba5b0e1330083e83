import { test } from 'node:test'
import assert from 'node:assert/strict'
import { judged } from '../../../../src/engines/mysql/stream.js'
import { parseMysqlUrl } from '../../../../src/engines/mysql/connection.js'
import { UserError } from '../../../../src/util/errors.js'
import {
  clientArguments,
  clientKnowsSandbox,
  dumpArguments,
  dumpIncompatibility,
  firstFailure,
  optionFile,
  parseClientVersion,
  releaseOf,
  stageSeconds,
  withoutEchoedStatements,
  type ClientTarget,
  type MysqlClientTool
} from '../../../../src/engines/mysql/tools.js'
import {
  describeDumpObject,
  dumpObjectAt,
  mysqlErrorLine,
  parseObjectLine
} from '../../../../src/engines/mysql/restore-failure.js'

const tool = (output: string, file = '/usr/bin/x'): MysqlClientTool => ({ path: file, ...parseClientVersion(output)! })
const MARIADB_DUMP = tool(
  'mariadb-dump  Ver 10.19 Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)',
  '/usr/bin/mariadb-dump'
)
const MARIADB_11 = tool('mariadb-dump from 11.4.2-MariaDB, client 10.19 for debian-linux-gnu (x86_64)')
const MYSQLDUMP_8 = tool('mysqldump  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)', '/usr/bin/mysqldump')
const MYSQLDUMP_57 = tool('mysqldump  Ver 10.13 Distrib 5.7.44, for Linux (x86_64)')

test('client versions of both flavours and their spellings', () => {
  assert.deepEqual(parseClientVersion('mariadb-dump  Ver 10.19 Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)'), {
    flavour: 'mariadb',
    version: '10.11.19',
    major: 10,
    minor: 11,
    patch: 19
  })
  assert.equal(MARIADB_11.version, '11.4.2')
  assert.equal(MARIADB_11.flavour, 'mariadb')
  assert.deepEqual([MYSQLDUMP_8.flavour, MYSQLDUMP_8.version], ['mysql', '8.0.36'])
  assert.deepEqual([MYSQLDUMP_57.flavour, MYSQLDUMP_57.version], ['mysql', '5.7.44'])
  assert.equal(parseClientVersion('mysql  Ver 15.1 Distrib 10.6.18-MariaDB, for Linux')?.version, '10.6.18')
  assert.equal(parseClientVersion('nothing here'), undefined)
  assert.deepEqual(releaseOf({ product: 'MariaDB', version: '10.11.19-MariaDB-0+deb12u1' }).flavour, 'mariadb')
  assert.deepEqual(releaseOf({ product: 'MySQL', version: '8.0.36' }).flavour, 'mysql')
})

test('which dump program can dump which server', () => {
  const mariadb = (version: string) => ({ flavour: 'mariadb' as const, version })
  const mysql = (version: string) => ({ flavour: 'mysql' as const, version })
  assert.equal(dumpIncompatibility(MARIADB_DUMP, mariadb('10.11.19')), undefined)
  assert.match(dumpIncompatibility(MARIADB_DUMP, mariadb('11.4.2')) ?? '', /older than production \(MariaDB 11\.4\.2\)/)
  assert.equal(dumpIncompatibility(MARIADB_11, mariadb('10.6.18')), undefined)
  assert.equal(dumpIncompatibility(MYSQLDUMP_8, mysql('8.0.36')), undefined)
  assert.match(dumpIncompatibility(MYSQLDUMP_57, mysql('8.0.36')) ?? '', /older than production/)
  // Across flavours: MySQL's dump of MariaDB works (with the options below); MariaDB's of MySQL up to 9.
  assert.equal(dumpIncompatibility(MYSQLDUMP_8, mariadb('10.11.19')), undefined)
  assert.equal(dumpIncompatibility(MARIADB_DUMP, mysql('8.0.36')), undefined)
  assert.match(dumpIncompatibility(MARIADB_DUMP, mysql('26.7.0')) ?? '', /MariaDB-only statements/)
})

test("the dump's options: fixed, the database alone as positional, MySQL's extras only where they apply", () => {
  const mariadb = { flavour: 'mariadb' as const, version: '10.11.19' }
  const args = dumpArguments(MARIADB_DUMP, mariadb, '-shop')
  for (const option of [
    '--single-transaction',
    '--routines',
    '--triggers',
    '--events',
    '--hex-blob',
    '--skip-dump-date',
    '--comments',
    '--no-tablespaces',
    // No LOCK TABLES around rows: MariaDB refuses the rows of a table whose DEFAULT is a sequence under them.
    '--skip-add-locks'
  ]) {
    assert.ok(args.includes(option), option)
  }
  assert.deepEqual(args.slice(-2), ['--', '-shop'])
  assert.ok(!args.some(arg => arg.startsWith('--databases')))
  assert.ok(!args.some(arg => /gtid|column-statistics/.test(arg)))
  const mysqlDump = dumpArguments(MYSQLDUMP_8, mariadb, 'shop')
  assert.ok(mysqlDump.includes('--set-gtid-purged=OFF'))
  assert.ok(mysqlDump.includes('--column-statistics=0'))
  assert.ok(!dumpArguments(MYSQLDUMP_8, { flavour: 'mysql', version: '8.0.36' }, 'shop').includes('--column-statistics=0'))
})

test('the restore client runs in binary mode, without LOAD DATA LOCAL, sandboxed where it can be', () => {
  const args = clientArguments(tool('mariadb  Ver 15.1 Distrib 10.11.19-MariaDB, for debian-linux-gnu'), 'lazarus_x')
  assert.ok(args.includes('--binary-mode'))
  assert.ok(args.includes('--local-infile=0'))
  assert.ok(args.includes('--sandbox'))
  assert.equal(args.at(-1), '--database=lazarus_x')
  assert.ok(!clientArguments(tool('mysql  Ver 8.0.36 for Linux on x86_64'), 'x').includes('--sandbox'))
  assert.equal(clientKnowsSandbox(tool('mariadb  Ver 15.1 Distrib 10.11.7-MariaDB, for Linux')), false)
  assert.equal(clientKnowsSandbox(tool('mariadb  Ver 15.1 Distrib 10.6.18-MariaDB, for Linux')), true)
  assert.equal(clientKnowsSandbox(tool('mariadb from 11.8.2-MariaDB, client 15.2 for Linux')), true)
})

test("the option file: every password reads back whole, TLS in each flavour's words", () => {
  const target: ClientTarget = {
    inputName: 'production-url',
    host: 'db.example',
    port: 3307,
    user: 'ro"user',
    password: 'a"b\\c #d\ne',
    database: 'shop',
    tls: { mode: 'verify-ca', ca: '/ca.pem' }
  }
  const mysql = optionFile(target, 'mysql')
  assert.match(
    mysql,
    /^\[client\]\nhost="db\.example"\nport=3307\nuser="ro\\"user"\npassword="a\\"b\\\\c #d\\ne"\nprotocol=TCP\nssl-mode=VERIFY_CA\nssl-ca="\/ca\.pem"\n$/
  )
  const mariadb = optionFile(target, 'mariadb')
  assert.match(mariadb, /\nssl\nssl-ca="\/ca\.pem"\nssl-verify-server-cert\n$/)
  assert.match(optionFile({ ...target, tls: { mode: 'disable' } }, 'mariadb'), /\nskip-ssl\n$/)
  assert.match(optionFile({ ...target, tls: { mode: 'disable' } }, 'mysql'), /\nssl-mode=DISABLED\n$/)
  assert.doesNotMatch(optionFile({ ...target, password: undefined }, 'mysql'), /password/)
})

test("the client's echoed statement never reaches a message: it is production's text", () => {
  const stderr =
    "--------------\nINSERT INTO `t` VALUES (1,'secret row')\n--------------\n\nERROR 1062 (23000) at line 12: Duplicate entry '1' for key 'PRIMARY'"
  assert.equal(withoutEchoedStatements(stderr), "ERROR 1062 (23000) at line 12: Duplicate entry '1' for key 'PRIMARY'")
  assert.equal(mysqlErrorLine(stderr), 12)
  assert.equal(mysqlErrorLine("ERROR at line 3: Unknown command '\\!'."), 3)
  assert.equal(mysqlErrorLine('mariadb: unknown option'), undefined)
})

test('the first program to fail decides; one that never ended failed last', () => {
  assert.equal(
    firstFailure({ dump: { exitCode: 2, at: 3 }, sanitize: { exitCode: 0, at: 4 }, restore: { exitCode: 1, at: 2 } }),
    'restore'
  )
  assert.equal(
    firstFailure({ dump: { exitCode: 2, at: 1 }, sanitize: { exitCode: 0, at: 4 }, restore: { exitCode: 1, at: 2 } }),
    'dump'
  )
  assert.equal(firstFailure({ dump: { exitCode: 0, at: 1 }, sanitize: { exitCode: 3, at: 1.5 } }), 'sanitize')
  assert.equal(
    firstFailure({ dump: { exitCode: 0, at: 1 }, sanitize: { exitCode: 0, at: 1 }, restore: { exitCode: 0, at: 2 } }),
    undefined
  )
})

test("each program's time is from the stream's start until it ended; unknown without a start", () => {
  const status = { dump: { exitCode: 0, at: 101.25 }, sanitize: { exitCode: 0, at: 101.5 }, restore: { exitCode: 0, at: 103 } }
  assert.deepEqual(stageSeconds(status, 100), { dump: 1.25, sanitize: 1.5, restore: 3 })
  assert.deepEqual(stageSeconds({ restore: { exitCode: 1, at: 100.5 } }, 100), { restore: 0.5 })
  assert.deepEqual(stageSeconds(status, undefined), {})
})

test('the object a failed restore was restoring, from the last object line before the failing one', () => {
  const lines = [
    '2:-- Table structure for table `order s`',
    '9:-- Dumping data for table `order s`',
    '20:/*!50003 CREATE*/ /*!50003 TRIGGER `tr` BEFORE INSERT ON `order s` FOR EACH ROW SET NEW.a = 1 */;;',
    "30:-- Dumping routines for database 'shop'",
    '35:CREATE PROCEDURE `p``q`()',
    '50:-- Final view structure for view `v`'
  ]
  const at = (line: number) => {
    const object = dumpObjectAt(lines, line)
    return object && describeDumpObject(object)
  }
  assert.equal(at(1), undefined)
  assert.equal(at(5), 'table `order s`')
  assert.equal(at(12), 'the data of table `order s`')
  assert.equal(at(21), 'trigger `tr`')
  assert.equal(at(31), "the routines of database 'shop'")
  assert.equal(at(40), 'procedure `p``q`')
  assert.equal(at(99), 'view `v`')
  assert.deepEqual(parseObjectLine('CREATE DEFINER=`a`@`%` FUNCTION `f`(x int) RETURNS int'), { kind: 'function', name: '`f`' })
  assert.deepEqual(parseObjectLine('/*!50106 CREATE*/ /*!50117 DEFINER=`a`@`%`*/ /*!50106 EVENT `e` ON SCHEDULE'), {
    kind: 'event',
    name: '`e`'
  })
  assert.equal(parseObjectLine("INSERT INTO `t` VALUES ('-- Table structure for table `x`')"), undefined)
})

test("a failed stream, told apart: the client's stop is the backup's (its last line), the clean room's or any other program's the run's fault", () => {
  const cleanroom = parseMysqlUrl('cleanroom-url', 'mysql://lazarus@db.example:3306/lazarus_x_backup')
  const stage = (name: 'dump' | 'sanitize' | 'restore', exitCode: number | null, stderr = '') => ({
    stage: name,
    program: `/usr/bin/${name}`,
    exitCode,
    stderr
  })
  const ok = { ok: true, stages: [stage('dump', 0), stage('restore', 0)], dumpBytes: 10 }
  assert.equal(judged(ok, cleanroom), ok, 'a stream that did not fail is as it was')
  const restore = judged(
    {
      ok: false,
      stages: [stage('restore', 1, 'mariadb: warning\nERROR 1064 (42000) at line 12: syntax'), stage('dump', 0)],
      dumpBytes: 10,
      failedAt: 'while restoring table `t`'
    },
    cleanroom
  )
  assert.equal(restore.restoreError, 'ERROR 1064 (42000) at line 12: syntax')
  assert.equal(restore.fault, undefined)
  assert.equal(restore.failedAt, 'while restoring table `t`')
  assert.equal(judged({ ok: false, stages: [stage('restore', 1)], dumpBytes: 0 }, cleanroom).restoreError, 'the restore failed')
  const dump = judged(
    {
      ok: false,
      stages: [stage('dump', 2, 'mysqldump: Got error: 1045'), stage('restore', null)],
      dumpBytes: 0
    },
    cleanroom
  )
  assert.equal(dump.restoreError, undefined)
  assert.equal(dump.fault?.message, 'dump (/usr/bin/dump) failed: mysqldump: Got error: 1045')
  // The client stopping because of the clean room (its connection lost) is not the backup's.
  const lost = judged(
    {
      ok: false,
      stages: [stage('restore', 1, 'ERROR 2013 (HY000) at line 1: Lost connection to server during query')],
      dumpBytes: 9
    },
    cleanroom
  )
  assert.equal(lost.restoreError, undefined)
  assert.ok(lost.fault instanceof UserError)
  assert.match(
    lost.fault.message,
    /^The restore stopped on an error of the clean room \(lazarus@db\.example:3306\/lazarus_x_backup, 'cleanroom-url'\), not of the backup: ERROR 2013/
  )
  // A fault already told (the copy of the dump could not be written) stays.
  const full = new Error('the disk filled up')
  assert.equal(judged({ ok: false, stages: [stage('restore', 0)], dumpBytes: 9, fault: full }, cleanroom).fault, full)
})
