import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { assertSeparateServers } from '../../../../src/engines/mysql/guards.js'
import { mysql } from '../../../../src/engines/mysql/index.js'
import { MysqlMaintenance } from '../../../../src/engines/mysql/maintenance.js'
import { MysqlSession } from '../../../../src/engines/mysql/database.js'
import { UserError } from '../../../../src/util/errors.js'
import { mariadbCleanroom, mariadbProduction, type MariadbServer } from '../../../support/mariadb.js'
import { uniqueName } from '../../../support/shared-servers.js'

// The clean room's side: the guard that refuses production as the clean room, and the scratch
// databases Lazarus creates, marks, finds and drops there.

let production: MariadbServer
let cleanroom: MariadbServer
const database = uniqueName('mysql_guard')
const limited = uniqueName('lzroom').slice(0, 32)

before(async () => {
  ;[production, cleanroom] = await Promise.all([mariadbProduction(), mariadbCleanroom()])
  await production.sql(`CREATE DATABASE \`${database}\` CHARACTER SET latin1 COLLATE latin1_swedish_ci`)
  await cleanroom.sql(
    `CREATE USER '${limited}'@'127.0.0.1' IDENTIFIED BY 'pw'; GRANT SELECT ON mysql.* TO '${limited}'@'127.0.0.1';`
  )
})

after(async () => {
  await production?.sql(`DROP DATABASE IF EXISTS \`${database}\``)
  await cleanroom?.sql(`DROP USER IF EXISTS '${limited}'@'127.0.0.1'`)
})

test('two servers pass the guard; one server reached twice is refused, by URL or by what it says about itself', async () => {
  const productionTarget = mysql.parseUrl('production-url', production.url(database))
  const cleanroomTarget = mysql.parseUrl('cleanroom-url', cleanroom.url('mysql'))
  const [p, c, again] = [
    await mysql.openRead(productionTarget, 'production'),
    await mysql.openMaintenance(cleanroomTarget),
    await mysql.openRead(mysql.parseUrl('cleanroom-url', production.url(database).replace('127.0.0.1', 'localhost')), 'cleanroom')
  ]
  try {
    await mysql.assertSeparateServers(p, c)
    await assert.rejects(mysql.assertSeparateServers(p, again), (error: unknown) => {
      assert.ok(error instanceof UserError)
      assert.match(
        error.message,
        /^The clean room \(root@localhost:\d+\/.*\) is the production server \(root@127\.0\.0\.1:\d+\/.*\): same host and port\. Point cleanroom-url at a separate, disposable server\.$/
      )
      return true
    })
    // Another name the URL check cannot see through (a DNS alias, a proxy): the servers' own word decides.
    const [facts, sameFacts, otherFacts] = [await p.facts(), await again.facts(), await c.facts()]
    assert.equal(facts.product, 'MariaDB')
    assert.deepEqual(Object.keys(facts.instance), ['hostname', 'port', 'datadir'])
    const alias = { ...productionTarget, host: 'db-alias.internal', port: 3306 }
    assert.throws(
      () => assertSeparateServers(productionTarget, alias, { production: facts, cleanroom: sameFacts }),
      (error: unknown) => {
        assert.ok(error instanceof UserError)
        assert.match(
          error.message,
          /: both report hostname .*, port \d+, datadir .*\. Point cleanroom-url at a separate, disposable server\.$/
        )
        return true
      }
    )
    assert.doesNotThrow(() => assertSeparateServers(productionTarget, alias, { production: facts, cleanroom: otherFacts }))
    // MySQL names each server by its server_uuid.
    const uuid = (id: string) => ({ ...facts, product: 'MySQL', instance: { server_uuid: id } })
    assert.throws(
      () => assertSeparateServers(productionTarget, alias, { production: uuid('a-1'), cleanroom: uuid('a-1') }),
      /both report server_uuid a-1/
    )
    assert.doesNotThrow(() => assertSeparateServers(productionTarget, alias, { production: uuid('a-1'), cleanroom: uuid('b-2') }))
  } finally {
    await Promise.all([p.close(), c.close(), again.close()])
  }
})

test("a scratch database gets production's character set and collation, a mark, and is found and dropped by it", async () => {
  const p = await mysql.openRead(mysql.parseUrl('production-url', production.url(database)), 'production')
  const room = await mysql.openMaintenance(mysql.parseUrl('cleanroom-url', cleanroom.url('mysql')))
  const name = `lazarus_${uniqueName('t').slice(0, 40)}_verify`
  try {
    const defaults = await p.databaseDefaults()
    assert.deepEqual(defaults, { characterSet: 'latin1', collation: 'latin1_swedish_ci' })
    assert.equal((await room.canCreateDatabases()).allowed, true)
    assert.deepEqual(await room.createScratchDatabase(name, defaults), { collationFallback: false })
    assert.equal(await room.databaseExists(name), true)
    assert.equal(await room.scratchMarker(name), undefined)
    await room.markScratchDatabase(name, 'Lazarus scratch database of run t')
    assert.equal(await room.scratchMarker(name), 'Lazarus scratch database of run t')
    const copy = await mysql.openRead(
      mysql.withDatabase(mysql.parseUrl('cleanroom-url', cleanroom.url('mysql')), name, database),
      'cleanroom'
    )
    try {
      assert.deepEqual(await copy.databaseDefaults(), defaults)
    } finally {
      await copy.close()
    }
    // A name taken already is not this run's: nothing is created, and the caller must not drop it.
    await assert.rejects(room.createScratchDatabase(name, defaults), (error: unknown) => {
      assert.ok(error instanceof UserError)
      assert.match(error.message, new RegExp(`already has a database named ${name}, which this run did not create`))
      return true
    })
    assert.equal(await room.scratchMarker(name), 'Lazarus scratch database of run t', 'left as it was')
    await room.dropDatabase(name)
    assert.equal(await room.databaseExists(name), false)
    assert.equal(await room.scratchMarker(name), undefined)
  } finally {
    await room.dropDatabase(name)
    await Promise.all([p.close(), room.close()])
  }
})

test("a collation the clean room lacks falls back to the character set's default, and says so", async () => {
  const room = await MysqlMaintenance.openMaintenance(mysql.parseUrl('cleanroom-url', cleanroom.url('mysql')))
  const name = `lazarus_${uniqueName('c').slice(0, 40)}_verify`
  try {
    // MariaDB before 11.4 has no MySQL 8 _0900_ collations.
    assert.deepEqual(await room.createScratchDatabase(name, { characterSet: 'utf8mb4', collation: 'utf8mb4_0900_ai_ci' }), {
      collationFallback: true
    })
    const [row] = await room.query<{ cs: string }>(
      'SELECT DEFAULT_CHARACTER_SET_NAME AS cs FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?',
      [name]
    )
    assert.equal(row.cs, 'utf8mb4')
    assert.ok((await room.collations()).includes('utf8mb4_general_ci'))
    assert.ok(!(await room.collations()).includes('utf8mb4_0900_ai_ci'))
  } finally {
    await room.dropDatabase(name)
    await room.close()
  }
})

test('where a server has no database comments, the mark is a table named as the database, which no read ever shows', async () => {
  const room = await MysqlMaintenance.openMaintenance(mysql.parseUrl('cleanroom-url', cleanroom.url('mysql')))
  const name = `lazarus_${uniqueName('m').slice(0, 40)}_verify`
  try {
    await room.createScratchDatabase(name, { characterSet: 'utf8mb4', collation: 'utf8mb4_general_ci' })
    // MySQL's way (maintenance.ts markScratchDatabase without database comments), made by hand here on MariaDB.
    await cleanroom.sql(
      `CREATE TABLE \`${name}\`.\`${name}\` (lazarus_scratch_marker INT) COMMENT = 'Lazarus scratch database of run m';
       CREATE TABLE \`${name}\`.t (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY); INSERT INTO \`${name}\`.t VALUES (7);`
    )
    assert.equal(await room.scratchMarker(name), 'Lazarus scratch database of run m')
    const copy = await mysql.openRead(
      mysql.withDatabase(mysql.parseUrl('cleanroom-url', cleanroom.url('mysql')), name, 'shop'),
      'cleanroom'
    )
    try {
      assert.deepEqual(
        (await copy.listTables()).map(table => [table.schema, table.name]),
        [['shop', 't']]
      )
      assert.ok((await copy.readSchema()).every(object => !object.name.includes(name) && !object.definition.includes(name)))
      assert.deepEqual(
        (await copy.readSchema()).filter(object => object.kind === 'table').map(object => object.name),
        ['t']
      )
      assert.deepEqual(
        (await copy.readCounters()).map(counter => counter.name),
        ['t.id']
      )
      assert.deepEqual([...(await copy.primaryKeys()).values()], [['id']])
    } finally {
      await copy.close()
    }
    // Production's sessions hide nothing: there, a table of any name is the user's.
    assert.equal(
      await MysqlSession.open(
        mysql.withDatabase(mysql.parseUrl('production-url', cleanroom.url('mysql')), name),
        'production'
      ).then(async s => {
        try {
          return (await s.listTables()).length
        } finally {
          await s.close()
        }
      }),
      2
    )
  } finally {
    await room.dropDatabase(name)
    await room.close()
  }
})

test('an account without CREATE and DROP is told it cannot create databases', async () => {
  const room = await mysql.openMaintenance(
    mysql.parseUrl('cleanroom-url', cleanroom.url('mysql', { user: limited, password: 'pw' }))
  )
  try {
    assert.deepEqual(await room.canCreateDatabases(), { role: `${limited}@127.0.0.1`, allowed: false })
    await cleanroom.sql(`GRANT CREATE, DROP ON \`lazarus\\_%\`.* TO '${limited}'@'127.0.0.1'`)
    assert.deepEqual(await room.canCreateDatabases(), { role: `${limited}@127.0.0.1`, allowed: true })
  } finally {
    await room.close()
  }
})

test('CREATE and DROP through MariaDB roles count once the role is active: a default role, and the roles it inherits', async () => {
  const user = uniqueName('lzrole').slice(0, 32)
  const [outer, inner] = [uniqueName('lzr_outer').slice(0, 32), uniqueName('lzr_inner').slice(0, 32)]
  // The inner role holds the privileges; the outer one is granted the inner; the user the outer.
  await cleanroom.sql(
    `CREATE USER '${user}'@'127.0.0.1' IDENTIFIED BY 'pw'; GRANT SELECT ON mysql.* TO '${user}'@'127.0.0.1';
     CREATE ROLE ${inner}; CREATE ROLE ${outer};
     GRANT CREATE ON *.* TO ${inner}; GRANT DROP ON \`lazarus\\_%\`.* TO ${inner};
     GRANT ${inner} TO ${outer}; GRANT ${outer} TO '${user}'@'127.0.0.1';`
  )
  const check = async () => {
    const room = await mysql.openMaintenance(mysql.parseUrl('cleanroom-url', cleanroom.url('mysql', { user, password: 'pw' })))
    try {
      return await room.canCreateDatabases()
    } finally {
      await room.close()
    }
  }
  try {
    // Granted, not active: nothing, and the message says how to make the role active.
    const inactive = await check()
    assert.equal(inactive.allowed, false)
    assert.match(
      inactive.hint ?? '',
      new RegExp(
        `role\\(s\\) ${outer} give nothing unless active when it logs in: make them default roles \\(SET DEFAULT ROLE <role> FOR ${user}@127\\.0\\.0\\.1\\)`
      )
    )
    await cleanroom.sql(`SET DEFAULT ROLE ${outer} FOR '${user}'@'127.0.0.1'`)
    assert.deepEqual(await check(), { role: `${user}@127.0.0.1`, allowed: true })
  } finally {
    await cleanroom.sql(`DROP USER IF EXISTS '${user}'@'127.0.0.1'; DROP ROLE IF EXISTS ${outer}; DROP ROLE IF EXISTS ${inner};`)
  }
})

test('bad connections fail in one line that says what to fix', async () => {
  const cases: [string, RegExp][] = [
    [
      cleanroom.url('mysql', { password: 'wrong' }),
      /^Access denied for user 'root' at 127\.0\.0\.1:\d+ \('cleanroom-url'\): check the password \(in 'cleanroom-password' or the URL\)/
    ],
    [
      cleanroom.url('no_such_database_here'),
      /^Database 'no_such_database_here' does not exist at 127\.0\.0\.1:\d+: fix the database name in 'cleanroom-url'\.$/
    ],
    ['mysql://root@127.0.0.1:1/x', /^Connection refused at 127\.0\.0\.1:1 \('cleanroom-url'\): check the host and port/],
    [
      `${cleanroom.url('mysql')}?ssl-mode=required`,
      /^The server at 127\.0\.0\.1:\d+ does not accept TLS connections, but 'cleanroom-url' has ssl-mode=required/
    ]
  ]
  for (const [url, message] of cases) {
    await assert.rejects(mysql.openRead(mysql.parseUrl('cleanroom-url', url), 'cleanroom'), (error: unknown) => {
      assert.ok(error instanceof UserError, String(error))
      assert.doesNotMatch(error.message, /\n/)
      assert.match(error.message, message)
      return true
    })
  }
  // ssl-mode=preferred (the default) falls back to a plain connection on a server without TLS.
  const plain = await mysql.openRead(mysql.parseUrl('cleanroom-url', cleanroom.url('mysql')), 'cleanroom')
  try {
    assert.equal((await plain.facts()).encrypted, false)
  } finally {
    await plain.close()
  }
})
