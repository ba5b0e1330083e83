import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ENGINE_SCHEMES, engineFor, schemeOf } from '../../../src/engines/index.js'
import { DatabaseSession } from '../../../src/engines/postgres/database.js'
import { MaintenanceSession } from '../../../src/engines/postgres/maintenance.js'
import { UserError } from '../../../src/util/errors.js'

test('a connection URL chooses its engine by its scheme, postgres:// and postgresql:// alike', async () => {
  assert.deepEqual(ENGINE_SCHEMES, ['postgres', 'postgresql', 'mysql', 'mariadb'])
  for (const url of ['postgres://u@db.example:5432/shop', 'postgresql://u@db.example/shop']) {
    const engine = await engineFor('production-url', url)
    assert.equal(engine.name, 'PostgreSQL')
    assert.ok(engine.schemes.includes(schemeOf(url)!))
    const target = engine.parseUrl('production-url', url, 'secret') as { host: string; database: string }
    assert.equal(target.host, 'db.example')
    assert.equal(target.database, 'shop')
    assert.doesNotMatch(engine.describe(target), /secret/)
  }
})

test('mysql:// and mariadb:// choose the one MySQL/MariaDB engine', async () => {
  for (const url of ['mysql://app@db.example:3307/shop', 'mariadb://app@db.example/shop']) {
    const engine = await engineFor('production-url', url)
    assert.equal(engine.name, 'MySQL/MariaDB')
    assert.ok(engine.schemes.includes(schemeOf(url)!))
    const target = engine.parseUrl('production-url', url, 'secret') as { host: string; database: string }
    assert.equal(target.host, 'db.example')
    assert.equal(target.database, 'shop')
    assert.doesNotMatch(engine.describe(target), /secret/)
  }
})

test('a URL no engine serves fails in one line naming the input and the schemes it may use', async () => {
  await assert.rejects(engineFor('cleanroom-url', 'oracle://u@db/x'), (error: unknown) => {
    assert.ok(error instanceof UserError)
    assert.equal(
      error.message,
      "Input 'cleanroom-url' must start with postgres:// or postgresql:// or mysql:// or mariadb:// (got 'oracle://')."
    )
    return true
  })
  // Without a scheme, PostgreSQL's parser says what the text is instead.
  const engine = await engineFor('cleanroom-url', 'host=db dbname=x')
  assert.throws(() => engine.parseUrl('cleanroom-url', 'host=db dbname=x'), /is a key=value connection string: write it as a URI/)
})

test('only the clean room maintenance handle can create, mark or drop a database: a read session has no such method', () => {
  for (const method of ['createScratchDatabase', 'markScratchDatabase', 'dropDatabase', 'canCreateDatabases']) {
    assert.equal(method in DatabaseSession.prototype, false, `DatabaseSession.${method}`)
    assert.equal(typeof (MaintenanceSession.prototype as unknown as Record<string, unknown>)[method], 'function', method)
  }
})

test("a clean room account that cannot create databases is told, in its engine's words, what to grant it", async () => {
  const postgres = await engineFor('cleanroom-url', 'postgres://u@db.example/postgres')
  assert.equal(
    postgres.cannotCreateDatabases('lazarus', 'lazarus@db.example:5432/postgres'),
    `Role 'lazarus' on the clean room (lazarus@db.example:5432/postgres) cannot create databases: ` +
      `run ALTER ROLE "lazarus" CREATEDB there, or use a role that can.`
  )
  const mysql = await engineFor('cleanroom-url', 'mysql://u@db.example/mysql')
  const refusal = mysql.cannotCreateDatabases("'app'@'%'", 'app@db.example:3306/mysql')
  assert.equal(
    refusal,
    "Account 'app'@'%' on the clean room (app@db.example:3306/mysql) cannot create databases: give it the CREATE, DROP, ALTER, " +
      'INDEX, INSERT, CREATE VIEW, CREATE ROUTINE, ALTER ROUTINE, TRIGGER, EVENT and REFERENCES privileges on *.* there ' +
      '(docs/mysql.md), or use an account that has them.'
  )
  assert.equal(
    mysql.cannotCreateDatabases("'app'@'%'", 'app@db.example:3306/mysql', 'it holds them only on shop.*'),
    refusal.replace(/\.$/, '; it holds them only on shop.*.')
  )
})

test('each engine refuses a clean room at production’s address by the URLs alone, before anything connects', async () => {
  for (const [production, same, other] of [
    ['postgresql://u@db.example:5432/shop', 'postgresql://u@DB.example:5432/postgres', 'postgresql://u@db.example:5433/postgres'],
    ['mysql://app@127.0.0.1:3306/shop', 'mysql://app@localhost:3306/mysql', 'mysql://app@127.0.0.1:3307/mysql']
  ]) {
    const engine = await engineFor('production-url', production)
    const target = engine.parseUrl('production-url', production)
    assert.throws(
      () => engine.assertSeparateTargets(target, engine.parseUrl('cleanroom-url', same)),
      (error: unknown) => error instanceof UserError && /same host and port/.test(error.message) && !error.message.includes('\n'),
      same
    )
    assert.doesNotThrow(() => engine.assertSeparateTargets(target, engine.parseUrl('cleanroom-url', other)), other)
  }
})
