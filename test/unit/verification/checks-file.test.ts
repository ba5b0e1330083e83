import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ChecksFileError, DEFAULT_CHECK_TIMEOUT_SECONDS, parseChecksFile } from '../../../src/verification/checks-file.js'
import { UserError } from '../../../src/util/errors.js'
import { readSettings } from '../../../src/run/settings.js'
import { postgres } from '../../../src/engines/postgres/index.js'
import { queryShape, scanSql } from '../../../src/engines/postgres/sql-scan.js'
import { checkDialect } from '../../../src/engines/postgres/check-dialect.js'

test('the scanner gives the text back token by token', () => {
  const sql = `SELECT 'a''b', E'c\\'d', U&"x""y", $tag$ ; $$ $tag$, /* /* nested */ ; */ "q;" -- c ;\n FROM t;`
  assert.equal(
    scanSql(sql)
      .map(token => token.text)
      .join(''),
    sql
  )
})

test('ORDER BY counts only outside parentheses: the query orders its own result', () => {
  const ordered = [
    'SELECT id FROM orders ORDER BY id',
    'select id from orders order\n  by id desc limit 5',
    'SELECT a FROM t UNION ALL SELECT b FROM u ORDER BY 1',
    'WITH x AS (SELECT 1 AS a) SELECT a FROM x ORDER /* why not */ BY a',
    'VALUES (2), (1) ORDER BY 1'
  ]
  for (const sql of ordered) assert.equal(queryShape(sql).topLevelOrderBy, true, sql)
  const unordered = [
    'SELECT id FROM orders',
    'SELECT * FROM (SELECT id FROM orders ORDER BY id) AS s',
    "SELECT string_agg(name, ',' ORDER BY name) FROM t",
    'SELECT row_number() OVER (ORDER BY id) FROM t',
    'SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) FROM t',
    'WITH x AS (SELECT 1 AS a ORDER BY a) SELECT a FROM x',
    'SELECT a FROM t WINDOW w AS (ORDER BY a)',
    "SELECT 'ORDER BY x' FROM t",
    'SELECT "order by" FROM t',
    'SELECT 1 FROM t -- ORDER BY 1',
    'SELECT 1 FROM t /* ORDER BY 1 */',
    'SELECT $$ ORDER BY $$ FROM t',
    "SELECT E'\\' ORDER BY 1' FROM t",
    'SELECT ARRAY(SELECT x FROM t ORDER BY x)',
    '(SELECT a FROM t ORDER BY a) UNION ALL (SELECT b FROM u ORDER BY b)'
  ]
  for (const sql of unordered) assert.equal(queryShape(sql).topLevelOrderBy, false, sql)
})

test('semicolons hidden in strings, identifiers, dollar quotes and comments do not split a query', () => {
  const single = [
    "SELECT ';' FROM t",
    "SELECT E'\\';' FROM t",
    'SELECT 1 AS ";"',
    'SELECT $x$;$x$',
    'SELECT 1 /* ; /* ; */ ; */',
    'SELECT 1 -- ;\n',
    'SELECT 1;',
    'SELECT 1 ; -- trailing comment',
    'SELECT a$b FROM t'
  ]
  for (const sql of single) assert.equal(queryShape(sql).statements, 1, sql)
  const smuggled = [
    'SELECT 1; DELETE FROM orders',
    "SELECT '' ; DELETE FROM orders",
    "SELECT E'\\\\'; DELETE FROM orders; SELECT ''",
    'SELECT 1 /* */; DROP TABLE t',
    'SELECT $$a$$; COPY t TO PROGRAM $$id$$',
    'SELECT 1) AS q; DELETE FROM t; SELECT (1'
  ]
  for (const sql of smuggled) assert.ok(queryShape(sql).statements > 1, sql)
})

test('a checks file parses into named checks with their expectations and order', () => {
  const checks = parseChecksFile(
    [
      '-- Checks for the shop. Comments before the first check are fine.',
      '',
      '-- check: latest order',
      '-- expect: 1042',
      'SELECT max(id) FROM orders;',
      '',
      '-- check: customers by signup',
      '-- timeout: 2.5',
      'SELECT id FROM customers',
      '  ORDER BY signup_date, id;',
      '-- check:nothing refunded',
      '-- expect: NULL',
      "SELECT max(id) FROM orders WHERE status = 'refunded' -- no semicolon",
      '',
      '-- check: a string that says -- check: inside',
      "SELECT '",
      "-- check: not a check, this is a string'",
      ''
    ].join('\n'),
    checkDialect
  )
  assert.deepEqual(
    checks.map(check => [check.name, check.expect, check.ordered, check.timeoutSeconds, check.line]),
    [
      ['latest order', '1042', false, DEFAULT_CHECK_TIMEOUT_SECONDS, 3],
      ['customers by signup', undefined, true, 2.5, 7],
      ['nothing refunded', null, false, DEFAULT_CHECK_TIMEOUT_SECONDS, 11],
      ['a string that says -- check: inside', undefined, false, DEFAULT_CHECK_TIMEOUT_SECONDS, 15]
    ]
  )
  assert.equal(checks[0].sql, 'SELECT max(id) FROM orders')
  assert.equal(checks[1].sql, 'SELECT id FROM customers\n  ORDER BY signup_date, id')
  assert.equal(checks[2].sql, "SELECT max(id) FROM orders WHERE status = 'refunded' -- no semicolon")
  assert.equal(checks[3].sql, "SELECT '\n-- check: not a check, this is a string'")
})

test('a malformed checks file is one error naming the line and the fix', () => {
  const cases: [string, RegExp][] = [
    ['', /no checks found/],
    ['-- only a comment\n', /no checks found/],
    ['SELECT 1;\n-- check: a\nSELECT 2;', /line 1: SQL before the first '-- check: <name>' line/],
    ['-- check:\nSELECT 1;', /line 1: '-- check:' needs a name/],
    ['-- check: a\nSELECT 1;\n-- check: a\nSELECT 2;', /line 3: check 'a' is already defined on line 1/],
    ['-- check: a\n-- just a comment\n', /check 'a' \(line 1\) has no query/],
    ['-- check: a\n;\n', /has no query/],
    ['-- check: a\nSELECT 1; DELETE FROM orders;', /check 'a' \(line 1\) holds 2 statements/],
    ['-- check: a\nSELECT 1;\n-- expect: 1\n', /line 3: '-- expect:' comes after the query of check 'a'/],
    ['-- expect: 1\n-- check: a\nSELECT 1', /line 1: '-- expect:' comes before any '-- check:' line/],
    ['-- check: a\n-- expect: 1\n-- expect: 2\nSELECT 1', /line 3: '-- expect:' appears twice/],
    ['-- check: a\n-- timeout: soon\nSELECT 1', /line 2: '-- timeout:' is 'soon': use a number of seconds above 0/],
    ['-- check: a\n-- timeout: 0\nSELECT 1', /use a number of seconds above 0/],
    ["-- check: a\nSELECT 'unterminated", /line 2: unterminated string/],
    ['-- check: a\nSELECT $x$ never closed', /line 2: unterminated dollar-quoted string/],
    ['-- check: a\nSELECT 1 /* never closed', /line 2: unterminated block comment/],
    [`-- check: ${'n'.repeat(201)}\nSELECT 1`, /longer than 200 characters/]
  ]
  for (const [text, message] of cases) {
    assert.throws(
      () => parseChecksFile(text, checkDialect),
      (error: unknown) => error instanceof ChecksFileError && message.test(error.message),
      text
    )
  }
})

test('the checks input is read relative to the workspace, or absolute, and a bad file is one clear error', t => {
  const workspace = mkdtempSync(path.join(os.tmpdir(), 'lazarus-checks-'))
  t.after(() => rmSync(workspace, { recursive: true, force: true }))
  writeFileSync(path.join(workspace, 'checks.sql'), '\uFEFF-- check: one\nSELECT 1;\n')
  writeFileSync(path.join(workspace, 'broken.sql'), '-- check: one\nSELECT 1; SELECT 2;\n')
  writeFileSync(path.join(workspace, 'binary.sql'), Buffer.from([0x2d, 0x2d, 0xff, 0xfe, 0x00]))
  const read = (checks: string) =>
    readSettings(
      postgres,
      name => ({ 'production-url': 'postgresql://a@h/db', 'cleanroom-url': 'postgresql://b@h2/postgres', checks })[name] ?? '',
      { GITHUB_WORKSPACE: workspace, RUNNER_TEMP: '/tmp' }
    )
  assert.deepEqual(
    read('checks.sql').checks.map(check => check.name),
    ['one']
  )
  assert.deepEqual(
    read(path.join(workspace, 'checks.sql')).checks.map(check => check.sql),
    ['SELECT 1']
  )
  assert.deepEqual(read('').checks, [])
  const fails = (checks: string, message: RegExp) =>
    assert.throws(
      () => read(checks),
      (error: unknown) => error instanceof UserError && message.test(error.message) && !error.message.includes('\n'),
      checks
    )
  fails('missing.sql', /^Input 'checks' names .*missing\.sql, which does not exist: give a path relative to the workspace/)
  fails('.', /which is not a file/)
  fails('broken.sql', /^Input 'checks': .*broken\.sql, check 'one' \(line 1\) holds 2 statements/)
  fails('binary.sql', /is not UTF-8 text/)
})
