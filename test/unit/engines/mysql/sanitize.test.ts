import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { spawnSync } from 'node:child_process'
import {
  buildSedProgram,
  disabledEvents,
  eventDisableClause,
  numbersAbove,
  stopMessage,
  stoppedConstruct,
  summarizeRemovedLines,
  STOP_EXIT_CODE,
  type SanitizeRuleOptions
} from '../../../../src/engines/mysql/sanitize-rules.js'
import { dumpLexer, stateName, type ClientFlavour } from '../../../../src/engines/mysql/dump-lexer.js'
import {
  collationCandidates,
  collationEquivalents,
  collationRewrites,
  MYSQL_0900_COLLATIONS,
  SKEW_RULES
} from '../../../../src/engines/mysql/skew-catalogue.js'

// The sanitizer of MySQL/MariaDB dumps (issue 15, with issue 10's rules): a rule touches only what
// mysqldump wrote, where the client's own lexer says it is code; production's text that reads
// exactly like a rule's target passes byte for byte; client commands outside strings stop the
// stream before the client reads them.

const FIXTURES = path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', '..', 'fixtures', 'mysql')
/** A MariaDB 10.11 clean room's collations, in part: what the rules need to know. */
const MARIADB_1011 = [
  'utf8mb4_general_ci',
  'utf8mb4_bin',
  'utf8mb4_nopad_bin',
  'utf8mb4_unicode_520_ci',
  'utf8mb4_unicode_520_nopad_ci',
  'utf8mb4_uca1400_ai_ci',
  'utf8mb4_uca1400_nopad_ai_ci',
  'utf8mb4_uca1400_as_cs',
  'utf8mb4_uca1400_nopad_as_cs',
  'utf8mb4_uca1400_swedish_nopad_ai_ci'
]
const MYSQL_80 = ['utf8mb4_general_ci', 'utf8mb4_bin', 'utf8mb4_unicode_520_ci', ...MYSQL_0900_COLLATIONS]

interface Sanitized {
  output: string
  removed: string[]
  states: string[]
  marker: string
  lines: string[]
  status: number | null
}

function options(dir: string, overrides: Partial<SanitizeRuleOptions> = {}): SanitizeRuleOptions {
  return {
    clientFlavour: 'mariadb',
    clientKnowsSandbox: true,
    cleanroom: { flavour: 'mariadb', version: '10.11.19', collations: MARIADB_1011 },
    removedLinesFile: path.join(dir, 'removed'),
    markerFile: path.join(dir, 'marker'),
    linesFile: path.join(dir, 'lines'),
    stateFile: path.join(dir, 'states'),
    ...overrides
  }
}

function sanitize(dump: string, overrides: Partial<SanitizeRuleOptions> = {}): Sanitized {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lazarus-mysql-sed-'))
  try {
    const programFile = path.join(dir, 'program.sed')
    const opts = options(dir, overrides)
    fs.writeFileSync(programFile, buildSedProgram(opts))
    const result = spawnSync('sed', ['-n', '-E', '-f', programFile], {
      input: Buffer.from(dump, 'latin1'),
      env: { ...process.env, LC_ALL: 'C' },
      maxBuffer: 64 * 1024 * 1024
    })
    const read = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, 'latin1') : '')
    const split = (text: string) => (text === '' ? [] : text.replace(/\n$/, '').split('\n'))
    return {
      output: result.stdout.toString('latin1'),
      removed: split(read(opts.removedLinesFile)),
      states: split(read(opts.stateFile!)),
      marker: read(opts.markerFile),
      lines: read(opts.linesFile!).split('\n'),
      status: result.status
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

/** The TypeScript lexer's state after each line: the sed program must agree line for line. */
function tsStates(dump: string, client: ClientFlavour = 'mariadb'): string[] {
  const lex = dumpLexer(client)
  const lines = dump.replace(/\n$/, '').split('\n')
  return lines.map(line => {
    const facts = lex(line)
    assert.ok(facts.after, `the TS lexer stopped at ${JSON.stringify(line)}: ${facts.stop}`)
    return stateName(facts.after)
  })
}

/** The text with its strings ('...' with backslash escapes) emptied. */
const withoutStrings = (text: string) => text.replace(/'([^'\\]|''|\\.)*'/g, "''")

const fixture = (name: string) => fs.readFileSync(path.join(FIXTURES, name), 'latin1')

test('a real mariadb-dump passes byte for byte, and both lexers agree on every line', () => {
  const dump = fixture('mariadb-10.11.sql')
  const result = sanitize(dump)
  assert.equal(result.status, 0)
  // The only rules that apply to a MariaDB 10.11 dump into MariaDB 10.11: the DEFINERs, and the
  // enabled event restored disabled.
  const expected = dump
    .replace(/DEFINER=`root`@`127\.0\.0\.1` /g, '')
    .replace(/\/\*!50017 DEFINER=`root`@`127\.0\.0\.1`\*\/ /g, '')
    .replace(/\/\*!50117 DEFINER=`root`@`127\.0\.0\.1`\*\/ /g, '')
    .replace(' ON COMPLETION NOT PRESERVE ENABLE DO SELECT 1 ', ' ON COMPLETION NOT PRESERVE DISABLE ON SLAVE DO SELECT 1 ')
  assert.equal(result.output, expected)
  assert.deepEqual(
    summarizeRemovedLines(result.removed).map(entry => [entry.rule, entry.lines]),
    [
      ['definer', 4],
      ['event-status', 1]
    ]
  )
  assert.deepEqual(disabledEvents(result.removed), ['e'])
  assert.deepEqual(result.states, tsStates(expected))
  assert.equal(result.states.at(-1), 'T.1')
})

test('the snapshot marker is the first line written after the dump began its transaction', () => {
  const result = sanitize(fixture('mariadb-10.11.sql'))
  assert.match(result.marker, /^-- (Sequence structure for `s1`|Table structure for table `order s`)\n/)
  const empty = sanitize('-- MariaDB dump 10.19\n--\n/*!40101 SET NAMES utf8mb4 */;\n\n-- Dump completed\n')
  assert.equal(empty.marker, '-- Dump completed\n')
  const header = sanitize('-- MariaDB dump 10.19\n--\n/*!40101 SET NAMES utf8mb4 */;\n')
  assert.equal(header.marker, '')
})

test("the line index holds each printed line's object line, and only those, at the client's line numbers", () => {
  const dump = fixture('mariadb-10.11.sql')
  const result = sanitize(dump)
  const printed = result.output.split('\n')
  assert.equal(result.lines.length, printed.length)
  result.lines.forEach((line, i) => {
    if (line !== '') assert.equal(line, printed[i])
  })
  assert.ok(result.lines.includes('-- Dumping data for table `order s`'))
  assert.ok(result.lines.includes('CREATE PROCEDURE `p`()'))
})

// ---- The lexer: production's text in every lexical context passes untouched.

const HOSTILE_TEXTS = [
  'CREATE DEFINER=`root`@`%` PROCEDURE `x`()',
  '/*!50013 DEFINER=`a`@`b` SQL SECURITY DEFINER */',
  "SET @@GLOBAL.GTID_PURGED=/*!80000 '+'*/ 'a:1';",
  'SET @@SESSION.SQL_LOG_BIN= 0;',
  '\\! touch /tmp/lazarus-pwned',
  'source /etc/passwd',
  'DELIMITER ;;',
  'delimiter //',
  '-- Table structure for table `x`',
  '/*!999999\\- enable the sandbox mode */',
  '`c` varchar(10) COLLATE utf8mb4_0900_ai_ci',
  ';'
]

test('text that reads like a rule target or a client command passes byte for byte inside strings, names and comments', () => {
  for (const hostile of HOSTILE_TEXTS) {
    const quoted = hostile.replace(/\\/g, '\\\\').replace(/'/g, "\\'")
    const dump = [
      '/*M!999999\\- enable the sandbox mode */ ',
      '/*!40101 SET NAMES utf8mb4 */;',
      'CREATE TABLE `t` (',
      `  \`id\` int(11) NOT NULL COMMENT '${hostile.replace(/\\/g, '\\\\').replace(/'/g, "''")}',`,
      '  PRIMARY KEY (`id`)',
      ') ENGINE=InnoDB;',
      `INSERT INTO \`t\` VALUES (1,'${quoted}\n${quoted}\n'),(2,"${hostile.replace(/\\/g, '\\\\').replace(/"/g, '""')}");`,
      `/* ${hostile.replace(/\*\//g, '* /')}\n${hostile.replace(/\*\//g, '* /')} */`,
      `SELECT 1 AS \`${hostile.replace(/`/g, '``')}\n${hostile.replace(/`/g, '``')}\`;`,
      `-- ${hostile}`,
      `# ${hostile}`,
      'DELIMITER ;;',
      `/*!50003 CREATE*/ /*!50003 TRIGGER tr BEFORE INSERT ON \`t\` FOR EACH ROW BEGIN SET @x = '${quoted}'; END */;;`,
      'DELIMITER ;',
      ''
    ].join('\n')
    const result = sanitize(dump)
    assert.equal(result.status, 0, `stopped on ${JSON.stringify(hostile)}: ${result.removed.join(' / ')}`)
    assert.equal(result.output, dump, `changed with ${JSON.stringify(hostile)}`)
    assert.deepEqual(result.removed, [])
    assert.deepEqual(result.states, tsStates(dump))
    assert.equal(result.states.at(-1), 'T.1')
  }
})

test('a generated dump of random objects in every lexical context passes byte for byte (fuzz)', () => {
  let seed = 1234567
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31
    return seed % n
  }
  const pieces = [...HOSTILE_TEXTS, "'", '"', '`', '\\', '\\\\', '*/', '/*', '/*!', '--', '#', ';;', '\n', 'x', ' ', "''", '``']
  const text = () => Array.from({ length: 1 + random(6) }, () => pieces[random(pieces.length)]).join('')
  for (let round = 0; round < 40; round++) {
    const rows: string[] = []
    for (let i = 0; i < 5; i++) {
      const value = text()
      const string = `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
      const doubled = `"${value.replace(/\\/g, '\\\\').replace(/"/g, '""')}"`
      rows.push(`(${i},${random(2) ? string : doubled},\`${value.replace(/`/g, '``')}\`)`)
    }
    const body = text()
    const dump = [
      '/*!40101 SET NAMES utf8mb4 */;',
      `INSERT INTO \`t\` VALUES ${rows.join(',\n')};`,
      'DELIMITER ;;',
      `CREATE PROCEDURE \`p${round}\`() COMMENT '${body.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`,
      `BEGIN SELECT '${body.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'; /* ${body.replace(/\*\//g, '')} */ END ;;`,
      'DELIMITER ;',
      ''
    ].join('\n')
    const result = sanitize(dump)
    assert.equal(result.status, 0, `round ${round} stopped: ${result.removed.join(' / ')}`)
    assert.equal(result.output, dump, `round ${round} changed the dump`)
    assert.deepEqual(result.states, tsStates(dump), `round ${round}: the lexers disagree`)
  }
})

// ---- Client commands: the whole family, wherever they sit in code.

const CLIENT_COMMANDS = [
  '\\! touch /tmp/lazarus-pwned',
  '\\. /etc/passwd',
  '\\T /tmp/lazarus-tee',
  '\\C sjis',
  '\\u other_database',
  '\\r other_database 127.0.0.1',
  '\\q',
  'system touch /tmp/lazarus-pwned',
  'source /etc/passwd',
  'Source /etc/passwd;',
  'tee /tmp/lazarus-tee',
  'connect other 127.0.0.1',
  'USE `mysql`;',
  'pager cat > /tmp/lazarus-pager',
  'delimiter //',
  'DELIMITER $$',
  'Delimiter ;;;'
]

test('a client command outside strings and comments stops the stream before the client reads it', () => {
  for (const command of CLIENT_COMMANDS) {
    for (const place of [
      `${command}\n`,
      `SELECT 1;\n${command}\nSELECT 2;\n`,
      `SELECT 1 ${command}\n`,
      `SELECT 'a';${command}\n`,
      `INSERT INTO \`t\` VALUES\n(1,'x'),\n(2,'y') ${command}\n`,
      `DELIMITER ;;\nCREATE PROCEDURE p() BEGIN SELECT 1; ${command}\nEND ;;\nDELIMITER ;\n`,
      `/*!50003 SELECT 1 ${command} */;\n`
    ]) {
      const named = /^(system|source|tee|connect|use|USE|Source|pager) /.test(command)
      const atLineStart = place.startsWith(command) || place.includes(`\n${command}\n`)
      // A named command is the client's only at the start of a line between statements; elsewhere it is SQL's text.
      if (named && !atLineStart) continue
      if (named && place.startsWith('DELIMITER ;;')) continue
      const result = sanitize(place)
      assert.equal(result.status, STOP_EXIT_CODE, `passed: ${JSON.stringify(place)}`)
      assert.ok(!result.output.includes(command), `the command reached the client: ${JSON.stringify(place)}`)
      const stopped = stoppedConstruct(result.removed)
      assert.equal(stopped?.rule, 'client-command')
      assert.match(stopMessage(stopped!), /client command (\\.|delimiter|system|source|tee|connect|use|pager) outside/)
      // The TS lexer stops on the same line.
      const lex = dumpLexer('mariadb')
      const facts = place
        .replace(/\n$/, '')
        .split('\n')
        .map(line => lex(line))
      assert.ok(
        facts.some(fact => fact.stop),
        `the TS lexer passed ${JSON.stringify(place)}`
      )
    }
  }
})

test('the word delimiter inside a word of code stops too: the client reads it there', () => {
  const result = sanitize('DELIMITER ;;\nCREATE PROCEDURE p() BEGIN DECLARE xdelimiter INT; END ;;\nDELIMITER ;\n')
  assert.equal(result.status, STOP_EXIT_CODE)
  const fine = sanitize(
    "DELIMITER ;;\nCREATE PROCEDURE p() BEGIN DECLARE `delimiter ` INT; SELECT 'delimiter x'; END ;;\nDELIMITER ;\n"
  )
  assert.equal(fine.status, 0)
})

test('/*M! is code to a MariaDB client and a comment to a MySQL one', () => {
  const dump = "SELECT 0;\n/*M!100100 SELECT ' */\n' */;\nSELECT 1;\n"
  assert.deepEqual(sanitize(dump).states, ['T.1', 's.1', 'T.1', 'T.1'])
  assert.deepEqual(tsStates(dump), ['T.1', 's.1', 'T.1', 'T.1'])
  const mysql = { clientFlavour: 'mysql' as const, clientKnowsSandbox: false }
  // To MySQL's client the line is a comment and the quote on the next line opens a string.
  assert.deepEqual(sanitize(dump, mysql).states, ['T.1', 'T.1', 's.1', 's.1'])
  assert.deepEqual(tsStates(dump, 'mysql'), ['T.1', 'T.1', 's.1', 's.1'])
})

// ---- The skew catalogue, one fixture each.

test('every skew rule has a source, a problem and an action', () => {
  for (const [id, rule] of Object.entries(SKEW_RULES)) {
    for (const field of ['construct', 'problem', 'action', 'source'] as const)
      assert.ok(rule[field].length > 10, `${id}.${field}`)
  }
})

test('sandbox line: kept for a MariaDB client that knows it, removed for MySQL and older clients; both spellings', () => {
  for (const first of ['/*!999999\\- enable the sandbox mode */', '/*M!999999\\- enable the sandbox mode */ ']) {
    const dump = `${first}\n-- MariaDB dump\nSELECT 1;\n`
    assert.equal(sanitize(dump).output, dump)
    const mysql = sanitize(dump, { clientFlavour: 'mysql', clientKnowsSandbox: false })
    assert.equal(mysql.status, 0)
    assert.equal(mysql.output, '-- MariaDB dump\nSELECT 1;\n')
    assert.deepEqual(
      summarizeRemovedLines(mysql.removed).map(entry => entry.rule),
      ['sandbox-line']
    )
    // Anywhere but the first line it is a client command like any other.
    assert.equal(sanitize(`SELECT 1;\n${first}\n`).status, STOP_EXIT_CODE)
  }
})

test('GTID state lines are removed, a GTID set spanning lines too', () => {
  const dump = fixture('mysql-8.0-gtid.sql')
  const result = sanitize(dump, {
    cleanroom: { flavour: 'mysql', version: '8.0.36', collations: MYSQL_80 },
    clientFlavour: 'mysql',
    clientKnowsSandbox: false
  })
  assert.equal(result.status, 0, result.removed.join('\n'))
  assert.doesNotMatch(result.output.replace(/^INSERT .*$/m, ''), /GTID_PURGED|SQL_LOG_BIN|3E11FA47/)
  assert.match(result.output, /INSERT INTO `t` VALUES \(1,'SET @@SESSION.SQL_LOG_BIN= 0;'\);/)
  assert.deepEqual(summarizeRemovedLines(result.removed), [
    { rule: 'gtid-state', construct: SKEW_RULES['gtid-state'].construct, lines: 4 }
  ])
})

test('DEFINER clauses are stripped where mysqldump writes them, nowhere else', () => {
  const result = sanitize(fixture('mysql-8.0-skew.sql'), {
    cleanroom: { flavour: 'mysql', version: '8.0.36', collations: MYSQL_80 },
    clientFlavour: 'mysql',
    clientKnowsSandbox: false
  })
  assert.equal(result.status, 0, result.removed.join('\n'))
  assert.doesNotMatch(withoutStrings(result.output), /DEFINER=/)
  // A body's and a row's text that read like one stay.
  assert.match(result.output, /SELECT 'CREATE DEFINER=`x`@`y` PROCEDURE'/)
  assert.match(result.output, /\/\*!50013 SQL SECURITY DEFINER \*\//)
})

/** An event as mysqldump writes it (the DEFINER already there), between DELIMITER ;; lines. */
function eventDump(head: string, rest = ' DO INSERT INTO t VALUES (1)\n*/ ;;\n'): string {
  return `DELIMITER ;;\n/*!50106 CREATE*/ /*!50117 DEFINER=\`app\`@\`%\`*/ /*!50106 EVENT ${head}${rest}DELIMITER ;\n`
}

test('events: an ENABLE status is restored DISABLE ON SLAVE (ON REPLICA on MySQL 8.2+), nothing else in the event changes', () => {
  const cases: [string, string][] = [
    [
      "`e` ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00' ON COMPLETION NOT PRESERVE ENABLE",
      "`e` ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00' ON COMPLETION NOT PRESERVE DISABLE ON SLAVE"
    ],
    [
      "`at once` ON SCHEDULE AT '2031-02-03 04:05:06' ON COMPLETION PRESERVE ENABLE COMMENT 'ENABLE DO x'",
      "`at once` ON SCHEDULE AT '2031-02-03 04:05:06' ON COMPLETION PRESERVE DISABLE ON SLAVE COMMENT 'ENABLE DO x'"
    ],
    [
      "`compound` ON SCHEDULE EVERY '1:30' HOUR_MINUTE STARTS '2030-01-01 00:00:00' ENDS '2031-01-01 00:00:00' ON COMPLETION NOT PRESERVE ENABLE",
      "`compound` ON SCHEDULE EVERY '1:30' HOUR_MINUTE STARTS '2030-01-01 00:00:00' ENDS '2031-01-01 00:00:00' ON COMPLETION NOT PRESERVE DISABLE ON SLAVE"
    ],
    // A name that reads like the clause: only the status after the schedule is the clause.
    [
      "`x ON COMPLETION PRESERVE ENABLE DO y` ON SCHEDULE EVERY 5 MINUTE STARTS '2030-01-01 00:00:00' ON COMPLETION PRESERVE ENABLE",
      "`x ON COMPLETION PRESERVE ENABLE DO y` ON SCHEDULE EVERY 5 MINUTE STARTS '2030-01-01 00:00:00' ON COMPLETION PRESERVE DISABLE ON SLAVE"
    ]
  ]
  for (const [head, restored] of cases) {
    // The body reads like a status clause too, and stays.
    const rest = " DO SELECT 'ON COMPLETION PRESERVE ENABLE DO' \n*/ ;;\n"
    const result = sanitize(eventDump(head, rest))
    assert.equal(result.status, 0, result.removed.join('\n'))
    assert.equal(result.output, eventDump(restored, rest).replace(/\/\*!50117 DEFINER=`app`@`%`\*\/ /, ''), head)
    assert.deepEqual(
      summarizeRemovedLines(result.removed).map(entry => [entry.rule, entry.lines]),
      [
        ['definer', 1],
        ['event-status', 1]
      ],
      head
    )
  }
  assert.deepEqual(disabledEvents(cases.flatMap(([head]) => sanitize(eventDump(head)).removed)), [
    'e',
    'at once',
    'compound',
    'x ON COMPLETION PRESERVE ENABLE DO y'
  ])
  // Without a DEFINER (one the rule did not strip stays, and the status is still found).
  const bare =
    'DELIMITER ;;\n/*!50106 CREATE*/ /*!50106 EVENT `b` ON SCHEDULE EVERY 1 DAY ON COMPLETION PRESERVE ENABLE DO SELECT 1 */ ;;\nDELIMITER ;\n'
  assert.equal(sanitize(bare).output, bare.replace('PRESERVE ENABLE DO', 'PRESERVE DISABLE ON SLAVE DO'))
  // A MySQL 8.4 clean room: DISABLE ON REPLICA (ON SLAVE is deprecated there); 8.0 still ON SLAVE.
  const mysql84 = sanitize(bare, {
    cleanroom: { flavour: 'mysql', version: '8.4.3', collations: MYSQL_80 },
    clientFlavour: 'mysql',
    clientKnowsSandbox: false
  })
  assert.equal(mysql84.output, bare.replace('PRESERVE ENABLE DO', 'PRESERVE DISABLE ON REPLICA DO'))
  assert.equal(eventDisableClause({ flavour: 'mysql', version: '8.0.36' }), 'DISABLE ON SLAVE')
  assert.equal(eventDisableClause({ flavour: 'mariadb', version: '11.4.2' }), 'DISABLE ON SLAVE')
})

test('events: a disabled status passes as it is; an event whose status cannot be found, or any other CREATE or ALTER of an event, stops', () => {
  for (const status of ['DISABLE', 'DISABLE ON SLAVE', 'DISABLE ON REPLICA']) {
    const dump = eventDump(`\`d\` ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00' ON COMPLETION PRESERVE ${status}`)
    const result = sanitize(dump)
    assert.equal(result.status, 0, status)
    assert.equal(result.output, dump.replace(/\/\*!50117 DEFINER=`app`@`%`\*\/ /, ''), status)
    assert.deepEqual(disabledEvents(result.removed), [], status)
  }
  for (const dump of [
    // A schedule mysqldump does not write (an expression): the status cannot be told from the text.
    eventDump('`s` ON SCHEDULE EVERY 1 DAY STARTS CURRENT_TIMESTAMP + INTERVAL 1 DAY ON COMPLETION PRESERVE ENABLE'),
    // The status on another line.
    eventDump('`n` ON SCHEDULE EVERY 1 DAY ON COMPLETION PRESERVE', '\nENABLE DO SELECT 1 */ ;;\n'),
    'CREATE EVENT e ON SCHEDULE EVERY 1 SECOND DO DELETE FROM t;\n',
    'CREATE DEFINER=CURRENT_USER EVENT e ON SCHEDULE EVERY 1 SECOND DO DELETE FROM t;\n',
    '/*!50106 ALTER EVENT e ENABLE */;\n',
    'alter event e enable;\n'
  ]) {
    const result = sanitize(dump)
    assert.equal(result.status, STOP_EXIT_CODE, dump)
    const stopped = stoppedConstruct(result.removed)
    assert.equal(stopped?.rule, 'event-status', dump)
    assert.match(stopMessage(stopped!), /event .*could run production's SQL in the clean room/)
  }
  // In a string, a comment or a routine's body it is text, and passes.
  for (const dump of [
    "INSERT INTO `t` VALUES ('CREATE EVENT e ON SCHEDULE EVERY 1 SECOND ENABLE DO x');\n",
    '/* ALTER EVENT e ENABLE */\n',
    'DELIMITER ;;\nCREATE PROCEDURE `p`()\nBEGIN\n  ALTER EVENT e ENABLE;\nEND ;;\nDELIMITER ;\n'
  ]) {
    assert.equal(sanitize(dump).status, 0, dump)
  }
})

test('a table whose rows live on another server (FEDERATED, CONNECT, SPIDER, S3) stops the stream; the words elsewhere pass', () => {
  for (const engine of ['FEDERATED', 'CONNECT', 'SPIDER', 'S3']) {
    const dump = `CREATE TABLE \`remote\` (\n  \`id\` int(11) NOT NULL\n) ENGINE=${engine} DEFAULT CHARSET=utf8mb4 CONNECTION='mysql://app:secret@prod:3306/shop/t';\n`
    const result = sanitize(dump)
    assert.equal(result.status, STOP_EXIT_CODE, engine)
    const stopped = stoppedConstruct(result.removed)!
    assert.equal(stopped.rule, 'remote-engine')
    const message = stopMessage(stopped)
    assert.match(message, new RegExp(`ENGINE=${engine}, whose rows live on another server`))
    assert.doesNotMatch(message, /secret|prod:3306/, 'the message never quotes the connection')
  }
  // A second ENGINE= later on the options line (a DATA DIRECTORY path holding a quote, written
  // unescaped by the servers, can carry one; the last ENGINE= wins) is found too.
  const smuggled =
    "CREATE TABLE `t` (\n  `id` int(11) NOT NULL\n) ENGINE=MyISAM DATA DIRECTORY='/data/x' ENGINE=FEDERATED CONNECTION='mysql://app:secret@prod:3306/shop/t';\n"
  const stoppedSmuggled = stoppedConstruct(sanitize(smuggled).removed)
  assert.equal(stoppedSmuggled?.rule, 'remote-engine')
  assert.match(stopMessage(stoppedSmuggled!), /ENGINE=FEDERATED, whose rows live on another server/)
  for (const dump of [
    'CREATE TABLE `t` (\n  `id` int(11) NOT NULL\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n',
    'CREATE TABLE `s3data` (\n  `id` int(11) NOT NULL\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n',
    "INSERT INTO `t` VALUES (') ENGINE=FEDERATED');\n",
    "CREATE TABLE `t` (\n  `id` int(11) NOT NULL COMMENT '\n) ENGINE=SPIDER'\n) ENGINE=InnoDB;\n"
  ]) {
    assert.equal(sanitize(dump).status, 0, dump)
  }
})

test("a sequence named with production's database: the qualifier is taken out of column DEFAULTs and views only", () => {
  const dump = [
    "INSERT INTO `t` VALUES (1,'nextval(`sh.op`.`s`)');",
    'CREATE TABLE `t` (',
    "  `id` int(11) NOT NULL DEFAULT nextval(`sh.op`.`s`) COMMENT 'x',",
    '  `o` int(11) DEFAULT nextval(`other`.`s`),',
    '  `p` int(11) DEFAULT nextval(`sh.opx`.`s`)',
    ') ENGINE=InnoDB;',
    '/*!50001 CREATE ALGORITHM=UNDEFINED */',
    '/*!50001 VIEW `v` AS select nextval(`sh.op`.`s`) AS `n`,lastval(`sh.op`.`s`) AS `l` */;',
    'DELIMITER ;;',
    'CREATE FUNCTION `f`() RETURNS int(11)',
    'RETURN nextval(`sh.op`.`s`) ;;',
    'DELIMITER ;',
    ''
  ].join('\n')
  const result = sanitize(dump, { productionDatabase: 'sh.op' })
  assert.equal(result.status, 0, result.removed.join('\n'))
  const lines = result.output.split('\n')
  assert.equal(lines[2], "  `id` int(11) NOT NULL DEFAULT nextval(`s`) COMMENT 'x',")
  assert.equal(lines[7], '/*!50001 VIEW `v` AS select nextval(`s`) AS `n`,lastval(`s`) AS `l` */;')
  // Rows, routine bodies and other databases (even one whose name starts alike) keep their text.
  assert.equal(lines[0], dump.split('\n')[0])
  assert.equal(lines[3], '  `o` int(11) DEFAULT nextval(`other`.`s`),')
  assert.equal(lines[4], '  `p` int(11) DEFAULT nextval(`sh.opx`.`s`)')
  assert.equal(lines[10], 'RETURN nextval(`sh.op`.`s`) ;;')
  assert.deepEqual(
    summarizeRemovedLines(result.removed).map(entry => [entry.rule, entry.lines]),
    [['database-name', 2]]
  )
  // Without the option (or for another database) nothing changes.
  assert.equal(sanitize(dump).output, dump)
  assert.equal(sanitize(dump, { productionDatabase: 'shXop' }).output, dump)
})

test('utf8mb4_0900 collations: rewritten only for a clean room that lacks them, to its best equivalent', () => {
  const dump = fixture('mysql-8.0-skew.sql')
  const mysql = sanitize(dump, {
    cleanroom: { flavour: 'mysql', version: '8.0.36', collations: MYSQL_80 },
    clientFlavour: 'mysql',
    clientKnowsSandbox: false
  })
  assert.match(mysql.output, /utf8mb4_0900_ai_ci/)
  const mariadb = sanitize(dump)
  assert.equal(mariadb.status, 0, mariadb.removed.join('\n'))
  assert.doesNotMatch(withoutStrings(mariadb.output), /0900/)
  assert.match(mariadb.output, /COLLATE=utf8mb4_uca1400_nopad_ai_ci;/)
  assert.match(mariadb.output, /`name` varchar\(20\) CHARACTER SET utf8mb4 COLLATE utf8mb4_uca1400_nopad_as_cs/)
  assert.match(
    mariadb.output,
    /`kind` enum\('a','it''s \\\\ COLLATE utf8mb4_0900_ai_ci'\) COLLATE utf8mb4_uca1400_swedish_nopad_ai_ci/
  )
  assert.match(mariadb.output, /SET collation_connection  = utf8mb4_uca1400_nopad_ai_ci \*\/ ;/)
  // Row data that names the collation is left alone.
  assert.match(mariadb.output, /'COLLATE=utf8mb4_0900_ai_ci'/)
  assert.ok(summarizeRemovedLines(mariadb.removed).some(entry => entry.rule === 'collation-0900' && entry.lines >= 4))
  // Without uca1400 (MariaDB before 10.10): UCA 5.2, no pad.
  const old = sanitize(dump, {
    cleanroom: {
      flavour: 'mariadb',
      version: '10.6.20',
      collations: ['utf8mb4_bin', 'utf8mb4_nopad_bin', 'utf8mb4_unicode_520_nopad_ci', 'utf8mb4_unicode_520_ci']
    }
  })
  assert.equal(old.status, 0, old.removed.join('\n'))
  assert.match(old.output, /COLLATE=utf8mb4_unicode_520_nopad_ci;/)
})

test('a 0900 collation anywhere else in code stops the stream (a view, a routine) rather than reach the clean room unchanged', () => {
  const result = sanitize("/*!50001 VIEW `v` AS select 'a' COLLATE utf8mb4_0900_ai_ci AS `x` */;\n")
  assert.equal(result.status, STOP_EXIT_CODE)
  assert.equal(stoppedConstruct(result.removed)?.rule, 'collation-0900')
  assert.match(stopMessage(stoppedConstruct(result.removed)!), /utf8mb4_0900_ai_ci/)
})

test('the collation mapping: candidates and the equivalence pairs the schema comparison uses', () => {
  assert.deepEqual(collationCandidates('utf8mb4_0900_ai_ci')?.slice(0, 2), [
    'utf8mb4_uca1400_nopad_ai_ci',
    'utf8mb4_uca1400_ai_ci'
  ])
  assert.equal(collationCandidates('utf8mb4_general_ci'), undefined)
  assert.equal(collationRewrites(MYSQL_80).size, 0)
  assert.equal(collationEquivalents(MARIADB_1011).get('utf8mb4_0900_bin'), 'utf8mb4_nopad_bin')
  assert.equal(collationEquivalents(MARIADB_1011).get('utf8mb4_sv_0900_ai_ci'), 'utf8mb4_uca1400_swedish_nopad_ai_ci')
})

test('MySQL 8 versioned comments MariaDB skips: INVISIBLE and SRID rewritten, NOT ENFORCED and unknown ones stop', () => {
  const dump = fixture('mysql-8.0-skew.sql')
  const mariadb = sanitize(dump)
  assert.match(mariadb.output, /`secret` int DEFAULT NULL INVISIBLE,/)
  assert.match(mariadb.output, /KEY `idx_name` \(`name`\) IGNORED,/)
  assert.match(mariadb.output, /`pos` point REF_SYSTEM_ID=4326 NOT NULL,/)
  assert.doesNotMatch(withoutStrings(mariadb.output), /\/\*!80/)
  assert.match(mariadb.output, /DEFAULT 'COLLATE=utf8mb4_0900_ai_ci \/\*!80023 INVISIBLE \*\/'/)
  const before106 = sanitize(dump, { cleanroom: { flavour: 'mariadb', version: '10.5.27', collations: MARIADB_1011 } })
  assert.equal(before106.status, STOP_EXIT_CODE)
  assert.match(stoppedConstruct(before106.removed)?.line ?? '', /80000 INVISIBLE/)
  const check = sanitize(
    'CREATE TABLE `c` (\n  `a` int,\n  CONSTRAINT `c_chk` CHECK ((`a` > 0)) /*!80016 NOT ENFORCED */\n) ENGINE=InnoDB;\n'
  )
  assert.equal(check.status, STOP_EXIT_CODE)
  assert.match(stopMessage(stoppedConstruct(check.removed)!), /80016 NOT ENFORCED/)
  // A MySQL 8.0.36 clean room runs them; an 8.0.20 one would skip 80023.
  const mysql = sanitize(dump, {
    cleanroom: { flavour: 'mysql', version: '8.0.36', collations: MYSQL_80 },
    clientFlavour: 'mysql',
    clientKnowsSandbox: false
  })
  assert.equal(mysql.status, 0, mysql.removed.join('\n'))
  assert.match(mysql.output, /\/\*!80023 INVISIBLE \*\//)
  const mysql820 = sanitize(dump, {
    cleanroom: { flavour: 'mysql', version: '8.0.20', collations: MYSQL_80 },
    clientFlavour: 'mysql',
    clientKnowsSandbox: false
  })
  assert.equal(mysql820.status, STOP_EXIT_CODE)
  // In a string the same text is data.
  assert.equal(sanitize("SELECT '/*!80016 NOT ENFORCED */';\n").status, 0)
})

test('MariaDB-only syntax stops the stream on a MySQL clean room', () => {
  const mysql = {
    cleanroom: { flavour: 'mysql' as const, version: '8.0.36', collations: MYSQL_80 },
    clientFlavour: 'mysql' as const,
    clientKnowsSandbox: false
  }
  for (const dump of [
    'CREATE SEQUENCE `s1` start with 1 minvalue 1 maxvalue 9223372036854775806 increment by 1 cache 1000 nocycle ENGINE=InnoDB;\n',
    'DO SETVAL(`s1`, 1, 0);\n',
    'CREATE TABLE `a` (\n  `id` int(11) NOT NULL\n) ENGINE=Aria DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci PAGE_CHECKSUM=1 TRANSACTIONAL=1;\n',
    'CREATE TABLE `h` (\n  `id` int(11) NOT NULL\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci WITH SYSTEM VERSIONING;\n',
    'CREATE TABLE `g` (\n  `a` int(11) DEFAULT NULL,\n  `b` int(11) GENERATED ALWAYS AS (`a` + 1) VIRTUAL\n) ENGINE=InnoDB;\n'
  ]) {
    const result = sanitize(dump, mysql)
    assert.equal(result.status, STOP_EXIT_CODE, dump)
    assert.equal(stoppedConstruct(result.removed)?.rule, 'mariadb-only-syntax')
    assert.equal(sanitize(dump).status, 0, `MariaDB must take ${dump}`)
  }
})

test('an sql_mode that changes how strings read, or a charset whose characters hold a backslash byte, stops the stream', () => {
  const stops = [
    "/*!50003 SET sql_mode              = 'NO_BACKSLASH_ESCAPES' */ ;\n",
    "/*!50003 SET sql_mode              = 'STRICT_TRANS_TABLES,ANSI_QUOTES' */ ;\n",
    "/*!50003 SET sql_mode              = 'ORACLE' */ ;\n",
    "SET SESSION sql_mode = '';\n",
    '/*!50003 SET character_set_client  = sjis */ ;\n',
    'SET NAMES gbk;\n'
  ]
  for (const dump of stops) assert.equal(sanitize(dump).status, STOP_EXIT_CODE, dump)
  const fine = [
    "/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */;\n",
    "/*!50003 SET sql_mode              = 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION' */ ;\n",
    '/*!50003 SET sql_mode              = @saved_sql_mode */ ;\n',
    '/*!50003 SET character_set_client  = utf8mb3 */ ;\n'
  ]
  for (const dump of fine) assert.equal(sanitize(dump).status, 0, dump)
})

test('numbersAbove is the ERE of the numbers above n', () => {
  const regex = new RegExp(`^${numbersAbove(50699, 5)}$`)
  for (const n of [50699, 50700, 80023, 99999, 10000, 40101, 50017]) assert.equal(regex.test(String(n)), n > 50699, String(n))
  const six = new RegExp(`^${numbersAbove(101119, 6)}$`)
  for (const n of [101119, 101120, 110402, 999999, 100616]) assert.equal(six.test(String(n)), n > 101119, String(n))
})

test("table and partition options naming production's files (DATA/INDEX DIRECTORY, TABLESPACE) are taken out; the same text in strings and names stays", () => {
  const table = (options: string, partitions = ';\n') =>
    `CREATE TABLE \`t\` (\n  \`id\` int(11) NOT NULL COMMENT 'x'' DATA DIRECTORY=''/c''',\n  PRIMARY KEY (\`id\`)\n) ${options}${partitions}`
  // MariaDB's table options (after COMMENT, CONNECTION and the engine's own options), a comment
  // that reads like them, and a quote escaped with a backslash before them.
  const mariadb = table(
    "ENGINE=MyISAM DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci COMMENT='it\\' DATA DIRECTORY=\\'/x/\\'' DATA DIRECTORY='/srv/prod/data/' INDEX DIRECTORY='/srv/prod/index/'"
  )
  const result = sanitize(mariadb)
  assert.equal(result.status, 0, result.removed.join('\n'))
  assert.equal(result.output, mariadb.replace(" DATA DIRECTORY='/srv/prod/data/' INDEX DIRECTORY='/srv/prod/index/'", ' '))
  assert.deepEqual(
    summarizeRemovedLines(result.removed).map(entry => [entry.rule, entry.lines]),
    [['path-option', 1]]
  )
  assert.match(summarizeRemovedLines(result.removed)[0].construct, /DATA DIRECTORY, INDEX DIRECTORY, TABLESPACE/)
  // Partitions (MariaDB's and MySQL's add_partition_options), inside the versioned comment.
  const partitioned = table(
    'ENGINE=MyISAM DEFAULT CHARSET=latin1',
    "\n/*!50100 PARTITION BY LIST COLUMNS(`c`)\n(PARTITION `p0` VALUES IN ('a',' DATA DIRECTORY = ''/v''') DATA DIRECTORY = '/srv/p0' INDEX DIRECTORY = '/srv/i0' ENGINE = MyISAM,\n" +
      " PARTITION `DATA DIRECTORY = '/n'` VALUES IN ('b') TABLESPACE = `ts1` ENGINE = InnoDB) */;\n"
  )
  const parts = sanitize(partitioned)
  assert.equal(parts.status, 0, parts.removed.join('\n'))
  assert.equal(
    parts.output,
    partitioned
      .replace(" DATA DIRECTORY = '/srv/p0' INDEX DIRECTORY = '/srv/i0' ENGINE", ' ENGINE')
      .replace(' TABLESPACE = `ts1` ENGINE', ' ENGINE')
  )
  assert.deepEqual(summarizeRemovedLines(parts.removed)[0].lines, 2)
  // MySQL 8's tablespace clause, into MySQL and into MariaDB; a table that also lives elsewhere still stops.
  const mysql8 = table('/*!50100 TABLESPACE `general_ts` */ ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_520_ci')
  const intoMysql = {
    cleanroom: { flavour: 'mysql' as const, version: '8.0.36', collations: MYSQL_80 },
    clientFlavour: 'mysql' as const,
    clientKnowsSandbox: false
  }
  for (const overrides of [{}, intoMysql]) {
    const mysqlResult = sanitize(mysql8, overrides)
    assert.equal(mysqlResult.status, 0)
    assert.equal(mysqlResult.output, mysql8.replace('/*!50100 TABLESPACE `general_ts` */ ', ''))
  }
  const federated = sanitize(table("/*!50100 TABLESPACE `ts` */ ENGINE=FEDERATED CONNECTION='mysql://u:p@h/d/t'"))
  assert.equal(stoppedConstruct(federated.removed)?.rule, 'remote-engine')
  // The same words in rows, names, comments and bodies pass byte for byte.
  for (const dump of [
    "INSERT INTO `t` VALUES (') ENGINE=MyISAM DATA DIRECTORY=''/x'' TABLESPACE `y`');\n",
    "CREATE TABLE `DATA DIRECTORY='/x'` (\n  `TABLESPACE = ts` int(11) DEFAULT NULL COMMENT ' INDEX DIRECTORY=''/y'''\n) ENGINE=InnoDB COMMENT='a'' DATA DIRECTORY=''/p''';\n",
    "CREATE TABLE `t` (\n  `c` varchar(20) DEFAULT '\\\\' COMMENT ' DATA DIRECTORY=''/p'''\n) ENGINE=Aria;\n",
    "DELIMITER ;;\nCREATE PROCEDURE `p`()\nBEGIN\n  CREATE TABLE x (a int) DATA DIRECTORY='/tmp';\nEND ;;\nDELIMITER ;\n"
  ]) {
    const passed = sanitize(dump)
    assert.equal(passed.status, 0, dump)
    assert.equal(passed.output, dump)
    assert.deepEqual(passed.removed, [], dump)
  }
})

test('a CREATE TABLE line holding path option words where the rule cannot read it for sure stops the stream, naming the option and table', () => {
  for (const [dump, option] of [
    // A line that starts inside a string: SHOW CREATE TABLE writes none, so the words may be code.
    ["CREATE TABLE `t` (\n  `c` int(11) COMMENT 'x\n' DATA DIRECTORY='/srv/p'\n) ENGINE=MyISAM;\n", 'DATA DIRECTORY'],
    // What SHOW CREATE TABLE never writes before the option: a double-quoted text, a comment.
    ['CREATE TABLE `t` (\n  `c` int(11)\n) ENGINE=MyISAM COMMENT="x" INDEX DIRECTORY=\'/srv/p\';\n', 'INDEX DIRECTORY'],
    ["CREATE TABLE `t` (\n  `c` int(11)\n) ENGINE=MyISAM /* x */ DATA DIRECTORY='/srv/p';\n", 'DATA DIRECTORY'],
    // The option in a spelling mysqldump does not write.
    ["CREATE TABLE `t` (\n  `c` int(11)\n) ENGINE=MyISAM data  directory '/srv/p';\n", 'DATA DIRECTORY'],
    ['CREATE TABLE `t` (\n  `c` int(11)\n) ENGINE=InnoDB tablespace=`ts` ;\n', 'TABLESPACE']
  ]) {
    const result = sanitize(dump)
    assert.equal(result.status, STOP_EXIT_CODE, dump)
    const stopped = stoppedConstruct(result.removed)!
    assert.equal(stopped.rule, 'path-option', dump)
    const message = stopMessage(stopped, 'table `t`')
    assert.match(message, new RegExp(`CREATE TABLE \\(table \`t\`\\) holds ${option} `), message)
    assert.doesNotMatch(message, /srv/, 'the message never quotes the path')
  }
})
