import assert from 'node:assert/strict'
import { test } from 'node:test'
import { engineFor } from '../../../src/engines/index.js'
import type { Engine } from '../../../src/engines/types.js'
import { readRunSettings, readSettings } from '../../../src/run/settings.js'
import { UserError } from '../../../src/util/errors.js'

const inputs = (values: Record<string, string>) => (name: string) => values[name] ?? ''
const mysqlUrls = {
  'production-url': 'mysql://reader@db.internal:3306/shop',
  'production-password': 'pr0d s3cret',
  'cleanroom-url': 'mariadb://root:cl%40an@127.0.0.1:3307/mysql'
}

/** Asserts a UserError of one line matching `message`. */
function oneLine(message: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof UserError, `not a UserError: ${String(error)}`)
    assert.match(error.message, message)
    assert.doesNotMatch(error.message, /\n/)
    return true
  }
}

test('mysql:// and mariadb:// URLs choose the MySQL/MariaDB engine, which parses both', async () => {
  const settings = await readRunSettings(inputs(mysqlUrls), { RUNNER_TEMP: '/tmp/r' })
  assert.equal(settings.engine.name, 'MySQL/MariaDB')
  assert.equal(settings.engine.schemes.includes('mysql'), true)
  assert.equal(settings.engine.describe(settings.production), 'reader@db.internal:3306/shop')
  assert.equal(settings.engine.describe(settings.cleanroom), 'root@127.0.0.1:3307/mysql')
  assert.deepEqual(settings.productionAddress, { host: 'db.internal', port: 3306, database: 'shop' })
  // Every password form is masked: as given in the input, and as the URL spells and decodes it.
  for (const secret of ['pr0d s3cret', 'cl@an']) assert.ok(settings.secrets.includes(secret), secret)
  assert.equal(settings.verify, 'checksums')
  assert.equal(settings.jobs, 2)
  assert.equal(settings.runnerTemp, '/tmp/r')
  assert.equal(settings.binDir, undefined)
  const withBin = await readRunSettings(inputs({ ...mysqlUrls, 'mysql-bin-dir': ' /opt/mysql/bin ', jobs: '4' }), {})
  assert.equal(withBin.binDir, '/opt/mysql/bin')
  assert.equal(withBin.jobs, 4)
})

test("postgresql:// URLs choose PostgreSQL's engine and its settings, and refuse mysql-bin-dir", async () => {
  const pg = { 'production-url': 'postgresql://a@h/db', 'cleanroom-url': 'postgresql://b@h2/postgres' }
  const chosen = await readRunSettings(inputs(pg), {})
  assert.equal(chosen.engine.name, 'PostgreSQL')
  assert.equal(chosen.productionAddress?.database, 'db')
  await assert.rejects(
    readRunSettings(inputs({ ...pg, 'mysql-bin-dir': '/usr/bin' }), {}),
    oneLine(/^Input 'mysql-bin-dir' is for mysql:\/\/ and mariadb:\/\/ URLs; .*set 'postgres-bin-dir'/)
  )
})

test('production and the clean room of different engines fail in one line naming both inputs', async () => {
  for (const [production, cleanroom] of [
    ['postgresql://a@h/db', 'mysql://root@h2/mysql'],
    ['mariadb://a@h/db', 'postgres://b@h2/postgres']
  ]) {
    await assert.rejects(
      readRunSettings(inputs({ 'production-url': production, 'cleanroom-url': cleanroom }), {}),
      oneLine(/^Inputs 'production-url' \(.+\) and 'cleanroom-url' \(.+\) name different engines: /)
    )
  }
  // mysql:// and mariadb:// are one engine: the server, not the scheme, tells the flavour.
  const mixedSchemes = await readRunSettings(
    inputs({ 'production-url': 'mariadb://a@h/db', 'cleanroom-url': 'mysql://b@h2/mysql' }),
    {}
  )
  assert.equal(mixedSchemes.engine.name, 'MySQL/MariaDB')
})

test('inputs a MySQL run cannot honour fail in one line naming the input; their defaults pass', async () => {
  const refused: [string, string, RegExp][] = [
    ['postgres-bin-dir', '/usr/lib/postgresql/15/bin', /set 'mysql-bin-dir'/],
    ['backup-path', 'shop.sql', /stored backup/],
    ['manifest-path', 'm.json', /stored backup/],
    ['backup-dir', '/backups', /restore points/],
    ['backup-compression', 'gzip:1', /restore points/],
    ['signing-key', 'pem', /manifests/],
    ['verify-key', 'pem', /manifests/],
    ['upload-dump', 'true', /uploading/],
    ['amcheck', 'true', /amcheck/],
    ['checks', 'checks.sql', /checks files/]
  ]
  for (const [input, value, fix] of refused) {
    await assert.rejects(
      readRunSettings(inputs({ ...mysqlUrls, [input]: value }), {}),
      oneLine(new RegExp(`^Input '${input}' does not apply to MySQL/MariaDB: .*${fix.source}`)),
      input
    )
  }
  // action.yml's defaults, which every run gets, are no choice of the user's.
  const defaults = {
    'upload-dump': 'false',
    amcheck: 'false',
    'restore-role': 'unprivileged',
    'backup-format': 'custom',
    'backup-compression': ''
  }
  assert.equal((await readRunSettings(inputs({ ...mysqlUrls, ...defaults }), {})).engine.name, 'MySQL/MariaDB')
})

test('bad values and URLs of a MySQL run fail in one line naming the input', async () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ ...mysqlUrls, 'production-url': '' }, /^Input 'production-url' is required: set it to a mysql:\/\/ URL\.$/],
    [{ ...mysqlUrls, 'cleanroom-url': 'mysql://root@h2' }, /^Input 'cleanroom-url' /],
    [{ ...mysqlUrls, 'production-url': 'mysql://a@h/db?sslmode=require' }, /^Input 'production-url' /],
    [{ ...mysqlUrls, verify: 'everything' }, /^Input 'verify' is 'everything': use one of counts, checksums\.$/],
    [{ ...mysqlUrls, jobs: '0' }, /^Input 'jobs' is '0': use a whole number from 1 to 64\.$/],
    [{ ...mysqlUrls, 'lock-timeout-seconds': 'soon' }, /^Input 'lock-timeout-seconds' is 'soon'/]
  ]
  for (const [values, message] of cases) await assert.rejects(readRunSettings(inputs(values), {}), oneLine(message))
})

test("sabotage names the engine's own operators: all means all of them, another engine's operator is refused", async () => {
  const real = (await engineFor('production-url', mysqlUrls['production-url'])) as Engine
  const engine: Engine = { ...real, drillOperators: ['drop-row', 'mutate-cell', 'reset-auto-increment'] }
  const read = (sabotage: string) => readSettings(engine, inputs({ ...mysqlUrls, sabotage }), {}).sabotage
  assert.deepEqual(read('all'), ['drop-row', 'mutate-cell', 'reset-auto-increment'])
  assert.deepEqual(read('none'), [])
  assert.deepEqual(read('Reset-Auto-Increment, drop-row, drop-row'), ['reset-auto-increment', 'drop-row'])
  assert.throws(
    () => read('drop-row, sequence-reset'),
    oneLine(
      /^Input 'sabotage' has unknown operator\(s\) 'sequence-reset': use none, all, or a comma-separated list of drop-row, mutate-cell, reset-auto-increment\.$/
    )
  )
})

test("what only some engines take is read through the engine's capabilities: without one, the input is refused", async () => {
  const pg = { 'production-url': 'postgresql://a@h/db', 'cleanroom-url': 'postgresql://b@h2/postgres' }
  const postgres = (await engineFor('production-url', pg['production-url'])) as Engine
  const lacking = (capability: keyof Engine, values: Record<string, string>) => () =>
    readSettings({ ...postgres, [capability]: undefined } as Engine, inputs({ ...pg, ...values }), {})
  assert.throws(lacking('amcheck', { amcheck: 'true' }), oneLine(/^Input 'amcheck' does not apply to PostgreSQL: amcheck is/))
  assert.throws(lacking('userChecks', { checks: 'checks.sql' }), oneLine(/^Input 'checks' does not apply to PostgreSQL: /))
  for (const [input, value] of Object.entries({
    'backup-dir': '/b',
    'backup-path': 'shop.dump',
    'upload-dump': 'true',
    'signing-key': 'pem'
  })) {
    assert.throws(
      lacking('restorePoints', { [input]: value }),
      oneLine(new RegExp(`^Input '${input}' does not apply to PostgreSQL: `))
    )
  }
  // With them, the same inputs are read in the engine's own terms: its formats, compressions, modes.
  const read = readSettings(
    postgres,
    inputs({ ...pg, 'backup-dir': '/b', 'backup-format': 'Plain', 'restore-role': 'superuser' }),
    {}
  )
  assert.equal(read.backupFormat, 'plain')
  assert.deepEqual(read.backupCompression, { method: 'none' })
  assert.equal(read.restoreRole, 'superuser')
  assert.throws(
    () => readSettings(postgres, inputs({ ...pg, 'restore-role': 'root' }), {}),
    oneLine(/^Input 'restore-role' is 'root': use one of unprivileged, superuser\.$/)
  )
  // An engine without roles or restore points has no restore-role or backup-format to read: their defaults pass.
  const mysql = await readRunSettings(inputs({ ...mysqlUrls, 'restore-role': 'superuser', 'backup-format': 'tar' }), {})
  assert.equal(mysql.restoreRole, undefined)
  assert.equal(mysql.backupFormat, undefined)
  assert.equal(mysql.backupCompression, undefined)
})

test("a password from the client's environment (PGPASSWORD) is PostgreSQL's alone; addresses name the history as each engine did", async () => {
  const env = { PGPASSWORD: 'fromenv' }
  const pg = await readRunSettings(
    inputs({ 'production-url': 'postgresql://a@h/db', 'cleanroom-url': 'postgresql://b@h2/postgres' }),
    env
  )
  assert.ok(pg.secrets.includes('fromenv'))
  // PostgreSQL's own target: libpq's default port filled in.
  assert.deepEqual(pg.productionAddress, { host: 'h', port: 5432, database: 'db' })
  assert.deepEqual(pg.cleanroomAddress, { host: 'h2', port: 5432, database: 'postgres' })
  const mysql = await readRunSettings(
    inputs({ ...mysqlUrls, 'production-password': '', 'cleanroom-url': 'mariadb://root@h2/mysql' }),
    env
  )
  assert.deepEqual(mysql.secrets, [])
  // MySQL's as written: the port 0 when left to the default.
  assert.deepEqual(mysql.cleanroomAddress, { host: 'h2', port: 0, database: 'mysql' })
  // A stored backup verified from its manifest has no production, and no address for it.
  const stored = await readRunSettings(
    inputs({ 'cleanroom-url': 'postgresql://b@h2/postgres', 'backup-path': '/b/shop.dump' }),
    {}
  )
  assert.equal(stored.production, undefined)
  assert.equal(stored.productionAddress, undefined)
})
