import { test } from 'node:test'
import assert from 'node:assert/strict'
import { withoutSanitizedClauses } from '../../src/cross-major.js'
import {
  explainSkewFailure,
  PRODUCTION_SKEW_CHECKS,
  productionSkewChecks,
  productionSkewMessage,
  stopMessage,
  SKEW_RULES
} from '../../src/skew-catalogue.js'

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

test('production objects a clean room of another major rejects are checked only across the majors that reject them', () => {
  const constructs = (production: number, cleanroom: number) =>
    productionSkewChecks(production, cleanroom).map(check => check.construct.split(' ')[0])
  // An older production into a newer clean room: what the newer server dropped.
  assert.deepEqual(constructs(13, 18), ['postfix', 'aggregates', 'generated', 'unlogged'])
  assert.deepEqual(constructs(13, 14), ['postfix', 'aggregates'])
  assert.deepEqual(constructs(14, 16), ['generated'])
  assert.deepEqual(constructs(13, 13), [])
  assert.deepEqual(constructs(16, 17), [])
  // A newer production into an older clean room: exactly what came after the clean room's major.
  for (const [production, cleanroom] of [
    [18, 13],
    [16, 15],
    [14, 12],
    [17, 16]
  ]) {
    const found = productionSkewChecks(production, cleanroom)
    const expected = PRODUCTION_SKEW_CHECKS.filter(
      check => check.rejectedBelow !== undefined && check.rejectedBelow > cleanroom && check.rejectedBelow <= production
    )
    assert.deepEqual(found, expected, `${production} into ${cleanroom}`)
    assert.ok(found.length > 0)
  }
  // GRANT and REVOKE are only in a dump that carries privileges.
  assert.ok(productionSkewChecks(18, 16).some(check => check.privileges))
  assert.ok(!productionSkewChecks(18, 16, false).some(check => check.privileges))
})

test('every check of a newer production says where pg_dump writes it and applies only below its major', () => {
  for (const check of PRODUCTION_SKEW_CHECKS.filter(check => check.rejectedBelow !== undefined)) {
    assert.ok(check.writtenBy, check.construct)
    assert.ok(check.rejectedBelow! >= 13 && check.rejectedBelow! <= 18, check.construct)
    assert.match(check.sql, /ORDER BY 1\s*$/, `${check.construct}: names in a stable order`)
  }
})

test('the error for them is one line that names the objects and the clean room to use', () => {
  const [postfix, , generated] = PRODUCTION_SKEW_CHECKS
  const message = productionSkewMessage(
    [
      { check: postfix, names: ['!! (bigint, NONE)'] },
      { check: generated, names: ['public.child.b', 'public."line\nbreak".c', 'x.a', 'x.b', 'x.c', 'x.d'] }
    ],
    18
  )
  assert.doesNotMatch(message, /\n/)
  assert.match(message, /^Production holds postfix operators \(!! \(bigint, NONE\)\), which a PostgreSQL 18 clean room rejects/)
  assert.match(message, /use a clean room running PostgreSQL 13 or older/)
  assert.match(message, /public\.child\.b, public\."line\\nbreak"\.c, x\.a, x\.b, x\.c and 1 more/)
  assert.match(message, /use a clean room running PostgreSQL 15 or older/)
})

test("a column's compression, removed by the sanitizer for a clean room before 14, is not a difference there; anything else is", () => {
  const difference = (production: string | null, restored: string | null) =>
    ({ kind: 'column settings', name: 'public.t.b', production, restored }) as const
  const differences = [
    difference('COMPRESSION lz4', null),
    difference('STATISTICS 100 COMPRESSION pglz', 'STATISTICS 100'),
    difference('STATISTICS 100 COMPRESSION pglz', 'STATISTICS 50'),
    difference('STORAGE MAIN', null),
    { kind: 'table', name: 'public.t', production: 'COMPRESSION lz4', restored: null } as const
  ]
  assert.deepEqual(withoutSanitizedClauses([...differences], 13), differences.slice(2))
  assert.deepEqual(
    withoutSanitizedClauses([...differences], 14),
    differences,
    'a clean room of 14 restores compression: compared'
  )
})

test("psql's errors on the catalogue's newer constructs, and on what a newer clean room dropped, name the server to use", () => {
  const cases: [string, number, RegExp][] = [
    ['ERROR:  type attribute "multirange_type_name" not recognized', 13, /multirange types, from PostgreSQL 14/],
    ['ERROR:  unrecognized parameter "security_invoker"', 14, /the view option security_invoker, from PostgreSQL 15/],
    ['ERROR:  unrecognized parameter "deduplicate_items"', 12, /storage parameter deduplicate_items, from PostgreSQL 13/],
    ['ERROR:  collation attribute "rules" not recognized', 15, /ICU collation rules, from PostgreSQL 16/],
    ['ERROR:  unrecognized subscription parameter: "failover"', 16, /the replication option failover/],
    ['ERROR:  partitioned tables cannot be unlogged', 18, /no longer accept.*PostgreSQL 17 or older/]
  ]
  for (const [error, cleanroomMajor, expected] of cases) {
    const explained = explainSkewFailure({ error, cleanroomMajor, productionMajor: 13, pgDumpMajor: 15 })
    assert.match(explained ?? '', expected, error)
    assert.ok(!explained!.includes('\n'))
  }
  assert.equal(
    explainSkewFailure({
      error: 'ERROR:  partitioned tables cannot be unlogged',
      cleanroomMajor: 17,
      productionMajor: 13,
      pgDumpMajor: 15
    }),
    undefined
  )
})
