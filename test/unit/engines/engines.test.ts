import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ENGINE_SCHEMES, engineFor, runsOverSeam, schemeOf } from '../../../src/engines/index.js'
import { DatabaseSession } from '../../../src/engines/postgres/database.js'
import { MaintenanceSession } from '../../../src/engines/postgres/maintenance.js'
import { UserError } from '../../../src/util/errors.js'

test('a connection URL chooses its engine by its scheme, postgres:// and postgresql:// alike', async () => {
  assert.deepEqual(ENGINE_SCHEMES, ['postgres', 'postgresql', 'mysql', 'mariadb'])
  for (const url of ['postgres://u@db.example:5432/shop', 'postgresql://u@db.example/shop']) {
    const engine = await engineFor('production-url', url)
    assert.equal(engine.name, 'PostgreSQL')
    assert.equal(runsOverSeam(engine), false)
    assert.ok(engine.schemes.includes(schemeOf(url)!))
    const target = engine.parseUrl('production-url', url, 'secret') as { host: string; database: string }
    assert.equal(target.host, 'db.example')
    assert.equal(target.database, 'shop')
    assert.doesNotMatch(engine.describe(target), /secret/)
  }
})

test('mysql:// and mariadb:// choose the one MySQL/MariaDB engine, which runs over the seam', async () => {
  for (const url of ['mysql://app@db.example:3307/shop', 'mariadb://app@db.example/shop']) {
    const engine = await engineFor('production-url', url)
    assert.equal(engine.name, 'MySQL/MariaDB')
    assert.ok(runsOverSeam(engine))
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
