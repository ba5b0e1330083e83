import { test } from 'node:test'
import assert from 'node:assert/strict'
import { conninfo, parseConnectionUrl, withDatabase } from '../../../src/engines/postgres/connection.js'
import { UserError } from '../../../src/util/errors.js'
import { parseSabotage, readSettings } from '../../../src/run/settings.js'
import { postgres } from '../../../src/engines/postgres/index.js'
import { DRILL_OPERATORS } from '../../../src/engines/postgres/drill-plan.js'
import { parseClientVersion, psqlUnderstandsRestrict } from '../../../src/engines/postgres/pg-tools.js'

const inputs = (values: Record<string, string>) => (name: string) => values[name] ?? ''

test('a password never stays in the URI that reaches command lines', () => {
  const hostile = 'p@ss:/ word?#%&='
  const target = parseConnectionUrl(
    'production-url',
    `postgresql://app:${encodeURIComponent(hostile)}@db.internal:6543/shop?sslmode=require`
  )
  assert.equal(target.password, hostile)
  assert.doesNotMatch(conninfo(target), /p@ss|word|%40/)
  assert.equal(target.tls.mode, 'require')
  assert.equal(target.host, 'db.internal')
  assert.equal(target.port, 6543)
  assert.equal(target.database, 'shop')
  assert.ok(target.secrets.includes(hostile))
  assert.ok(target.secrets.includes(encodeURIComponent(hostile)))
  const viaQuery = parseConnectionUrl('production-url', 'postgresql://app@h/shop?password=s3cret&application_name=x')
  assert.equal(viaQuery.password, 's3cret')
  assert.doesNotMatch(conninfo(viaQuery), /s3cret/)
})

test('a password from the URI wins over the input, which wins over PGPASSWORD', () => {
  const settings = readSettings(
    postgres,
    inputs({
      'production-url': 'postgresql://a:fromurl@h/db',
      'cleanroom-url': 'postgresql://b@h/postgres',
      'cleanroom-password': 'frominput'
    }),
    { PGPASSWORD: 'fromenv', RUNNER_TEMP: '/tmp/x' }
  )
  assert.equal(settings.production?.password, 'fromurl')
  assert.equal(settings.cleanroom.password, 'frominput')
  const fromEnv = readSettings(
    postgres,
    inputs({ 'production-url': 'postgresql://a@h/db', 'cleanroom-url': 'postgresql://b@h/postgres' }),
    { PGPASSWORD: 'fromenv' }
  )
  assert.equal(fromEnv.production?.password, 'fromenv')
})

test('bad inputs fail with a one-line message naming the input', () => {
  const base = { 'production-url': 'postgresql://a@h/db', 'cleanroom-url': 'postgresql://b@h/postgres' }
  const cases: [Record<string, string>, RegExp][] = [
    [{ 'cleanroom-url': base['cleanroom-url'] }, /'production-url' is required/],
    [{ ...base, 'production-url': 'not a url' }, /'production-url' is not a valid URI/],
    [{ ...base, 'production-url': 'mysql://h/db' }, /must start with postgresql/],
    [{ ...base, 'cleanroom-url': 'postgresql://h' }, /'cleanroom-url' names no database/],
    [{ ...base, verify: 'everything' }, /'verify' is 'everything': use one of counts, checksums/],
    [{ ...base, sabotage: 'rogue-row, meteor' }, /unknown operator\(s\) 'meteor'/],
    [{ ...base, 'backup-format': 'tar' }, /Input 'backup-format' is 'tar': use one of custom, directory, plain\./],
    [
      { ...base, 'backup-path': '/b/shop.dump', 'backup-dir': '/b' },
      /Inputs 'backup-path' and 'backup-dir' are both set: .* Remove one of them\./
    ],
    [{ ...base, 'signing-key': 'not a key' }, /Input 'signing-key' is not a private key in PEM/],
    [{ ...base, 'verify-key': 'not a key' }, /Input 'verify-key' is not a public key in PEM/]
  ]
  for (const [values, message] of cases) {
    assert.throws(
      () => readSettings(postgres, inputs(values), {}),
      (error: unknown) => error instanceof UserError && message.test(error.message) && !error.message.includes('\n')
    )
  }
})

test('sabotage accepts none, all and lists without repeats', () => {
  assert.deepEqual(parseSabotage('', DRILL_OPERATORS), [])
  assert.deepEqual(parseSabotage('none', DRILL_OPERATORS), [])
  assert.deepEqual(parseSabotage('all', DRILL_OPERATORS), [...DRILL_OPERATORS])
  assert.deepEqual(parseSabotage('rogue-row, Rogue-Row', DRILL_OPERATORS), ['rogue-row'])
})

test('scratch targets keep the server and change only the database', () => {
  const target = withDatabase(
    parseConnectionUrl('cleanroom-url', 'postgresql://u:pw@h:5433/postgres?sslmode=disable'),
    'lazarus_x'
  )
  assert.match(conninfo(target), /^host='h' port='5433' dbname='lazarus_x' user='u' sslmode='disable' /)
  assert.equal(target.password, 'pw')
})

test('reads client versions and knows which psql understands \\restrict', () => {
  assert.deepEqual(parseClientVersion('pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)'), { version: '15.18', major: 15 })
  assert.deepEqual(parseClientVersion('psql (PostgreSQL) 9.6.24'), { version: '9.6', major: 9 })
  assert.equal(parseClientVersion('nonsense'), undefined)
  const psql = (version: string) => ({ path: 'psql', version, major: Number(version.split('.')[0]) })
  assert.equal(psqlUnderstandsRestrict(psql('15.18')), true)
  assert.equal(psqlUnderstandsRestrict(psql('15.13')), false)
  assert.equal(psqlUnderstandsRestrict(psql('13.22')), true)
  assert.equal(psqlUnderstandsRestrict(psql('12.22')), false)
  assert.equal(psqlUnderstandsRestrict(psql('18.0')), true)
})

test('a URI without a host means the default Unix socket, with or without userinfo', () => {
  const socket = parseConnectionUrl('cleanroom-url', 'postgresql://app:p%40ss+1@/shop?sslmode=disable')
  assert.equal(socket.user, 'app')
  assert.equal(socket.password, 'p@ss+1')
  assert.equal(socket.database, 'shop')
  assert.match(socket.host, /^\/(var\/run\/postgresql|tmp)$/)
  assert.doesNotMatch(conninfo(socket), /p%40ss|p@ss|password/)
  assert.match(conninfo(socket), /^host='\/(var\/run\/postgresql|tmp)' port='5432' dbname='shop' user='app' sslmode='disable'/)
  const explicit = parseConnectionUrl('cleanroom-url', 'postgresql://app@/shop?host=/run/pg')
  assert.equal(explicit.host, '/run/pg')
})

test('history-key is read trimmed, and empty means none', () => {
  const base = { 'production-url': 'postgresql://a@h/db', 'cleanroom-url': 'postgresql://b@h/postgres' }
  assert.equal(readSettings(postgres, inputs(base), {}).historyKey, undefined)
  assert.equal(readSettings(postgres, inputs({ ...base, 'history-key': '   ' }), {}).historyKey, undefined)
  assert.equal(readSettings(postgres, inputs({ ...base, 'history-key': ' fleet/billing ' }), {}).historyKey, 'fleet/billing')
})
