import { test } from 'node:test'
import assert from 'node:assert/strict'
import { explainSkewFailure, stopMessage, SKEW_RULES } from '../../src/skew-catalogue.js'

// Issue 11: a restore that fails because of version skew says so, names the construct and the
// clean room to use, instead of only psql's line number in a dump nobody can see.

const context = { cleanroomMajor: 13, productionMajor: 13, pgDumpMajor: 15 }

test('a psql error on a construct newer than the clean room names it and the server to use', () => {
  const cases: [string, RegExp][] = [
    [
      'psql:<stdin>:69: ERROR:  syntax error at or near "LOGGED"',
      /\(UN\)LOGGED sequences, from PostgreSQL 15.*PostgreSQL 15 or newer/
    ],
    [
      'psql:<stdin>:12: ERROR:  unrecognized configuration parameter "transaction_timeout"',
      /the session setting transaction_timeout/
    ],
    ['psql:<stdin>:5: error: invalid command \\restrict', /the psql meta-command \\restrict/],
    ['ERROR:  syntax error at or near "NULLS"', /UNIQUE NULLS NOT DISTINCT.*PostgreSQL 15 or newer/],
    ['ERROR:  syntax error at or near "COMPRESSION"', /column compression.*PostgreSQL 14/]
  ]
  for (const [error, expected] of cases) {
    const explained = explainSkewFailure({ ...context, error })
    assert.match(explained ?? '', /^Version skew: /, error)
    assert.match(explained!, expected)
    assert.ok(!explained!.includes('\n'), 'one line')
  }
})

test('a clean room new enough for the construct, or an error that is no skew, is left as psql said it', () => {
  assert.equal(
    explainSkewFailure({ ...context, cleanroomMajor: 15, error: 'ERROR:  syntax error at or near "LOGGED"' }),
    undefined
  )
  assert.equal(
    explainSkewFailure({ ...context, pgDumpMajor: 13, error: 'ERROR:  duplicate key value violates unique constraint "p_pkey"' }),
    undefined
  )
})

test('any rejected statement from a production newer than the clean room is called likely skew, not from a newer pg_dump alone', () => {
  assert.equal(explainSkewFailure({ ...context, error: 'ERROR:  function lazarus_no_such_function() does not exist' }), undefined)
  const explained = explainSkewFailure({
    cleanroomMajor: 13,
    productionMajor: 16,
    pgDumpMajor: 16,
    error: 'ERROR:  syntax error at or near "FOO"'
  })
  assert.match(explained ?? '', /Version skew likely: .*older than production \(PostgreSQL 16\).*PostgreSQL 16 or newer/)
})

test('a stop names the construct, the version that rejects it and the one to use', () => {
  for (const [id, rule] of Object.entries(SKEW_RULES)) {
    if (rule.action !== 'stop') continue
    const message = stopMessage(id as keyof typeof SKEW_RULES, 'CREATE UNLOGGED SEQUENCE public.s', 13)
    assert.ok(!message.includes('\n'))
    if (id !== 'standard-conforming-strings')
      assert.match(message, new RegExp(`PostgreSQL 13 rejects.*PostgreSQL ${rule.rejectedBelow} or newer`))
  }
})
