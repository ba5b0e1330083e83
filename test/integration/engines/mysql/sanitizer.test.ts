import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { after, before, test } from 'node:test'
import { mysql } from '../../../../src/engines/mysql/index.js'
import type { SeamMaintenance, SeamSession } from '../../../../src/engines/types.js'
import { type MariadbServer } from '../../../support/mariadb.js'
import { openMariadbStreamPair, tempDirs } from '../../../support/mariadb-stream-setup.js'
import { uniqueName } from '../../../support/shared-servers.js'

// MySQL's sanitizer as the run builds it (Engine.sanitizer), over real MariaDB servers: built from
// the clean room's collations and production's session, in a private directory of its own that
// the stream then runs in, and saying which collations it rewrites, which the schema comparison
// must then count as the same (a MySQL 8 production's 0900 collations restored into MariaDB).

let production: MariadbServer
let cleanroom: MariadbServer
let cleanroomCollations: string[]
let prod: SeamSession
let room: SeamMaintenance
const database = uniqueName('lazarus_sanitizer')
const dirs = tempDirs('lazarus-mysql-sanitizer-')

before(async () => {
  ;({ production, cleanroom, cleanroomCollations } = await openMariadbStreamPair())
  await production.sql(`CREATE DATABASE \`${database}\``)
  prod = await mysql.openRead(mysql.parseUrl('production-url', production.url(database)), 'production')
  room = await mysql.openMaintenance(mysql.parseUrl('cleanroom-url', cleanroom.url('mysql')))
})

after(async () => {
  await prod?.close()
  await room?.close()
  await production.sql(`DROP DATABASE IF EXISTS \`${database}\``)
  dirs.removeAll()
})

test("the sanitizer says which of production's collations it rewrites, and the schema comparison counts each pair as the same", async () => {
  const dir = dirs.make()
  const tools = await mysql.findClientTools(await prod.facts(), await room.facts())
  const sanitizer = await mysql.sanitizer.build(room, {
    tools,
    workFile: name => path.join(dir, name),
    production: prod,
    copyFile: path.join(dir, 'backup.sql')
  })
  // MariaDB 10.11 lacks MySQL 8's 0900 collations: each is rewritten to one the clean room knows.
  const rewrite = sanitizer.collationsRewritten?.get('utf8mb4_0900_ai_ci')
  assert.ok(rewrite, JSON.stringify([...(sanitizer.collationsRewritten ?? [])]))
  const known = new Set(cleanroomCollations.flatMap(name => [name, `utf8mb4_${name}`]))
  assert.ok(known.has(rewrite), `${rewrite} is the clean room's`)
  assert.equal(sanitizer.cleanroomMajor, (await room.facts()).major)
  assert.equal(sanitizer.copyFile, path.join(dir, 'backup.sql'))
  assert.match(sanitizer.program, new RegExp(rewrite), 'the program rewrites what it says it rewrites')
  assert.deepEqual(sanitizer.removed(), [], 'nothing ran through it yet')
  // Its files (the marker, the line index, what it removed) are the stream's, in a private directory.
  assert.equal(fs.statSync(path.join(dir, 'stream')).mode & 0o777, 0o700)

  const table = (collation: string) => ({
    kind: 'table',
    name: 't',
    definition: `CREATE TABLE \`t\` (\n  \`a\` varchar(3) COLLATE ${collation} DEFAULT NULL\n)`
  })
  const productionSchema = [table('utf8mb4_0900_ai_ci')]
  const restoredSchema = [table(rewrite)]
  assert.deepEqual(mysql.diffSchema(productionSchema, restoredSchema, sanitizer.collationsRewritten), [])
  assert.equal(mysql.diffSchema(productionSchema, restoredSchema).length, 1, 'without the rewrites, the collations differ')
})
