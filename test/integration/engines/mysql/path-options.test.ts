import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import { after, before, test } from 'node:test'
import { mysql } from '../../../../src/engines/mysql/index.js'
import {
  findClientTools,
  readRemovedLines,
  sanitizedConstructs,
  sanitizerProgram,
  streamDumpToRestore,
  type MysqlClientTools,
  type ServerRelease
} from '../../../../src/engines/mysql/tools.js'
import { type MariadbServer } from '../../../support/mariadb.js'
import { clientTarget, openMariadbStreamPair, tempDirs } from '../../../support/mariadb-stream-setup.js'
import { uniqueName } from '../../../support/shared-servers.js'

// Table options that name production's files (issue 15): a table and a partitioned table created
// with DATA DIRECTORY / INDEX DIRECTORY on production restore into the clean room's own data
// directory (the sanitizer takes the options out, and says so), never at production's path, and
// the schema comparison shows no difference for it.

let production: MariadbServer
let cleanroom: MariadbServer
let productionRelease: ServerRelease
let cleanroomRelease: ServerRelease
let tools: MysqlClientTools
let cleanroomCollations: string[]
const dirs = tempDirs('lazarus-mysql-paths-')
const workDir = dirs.make
const target = clientTarget

before(async () => {
  ;({ production, cleanroom, productionRelease, cleanroomRelease, cleanroomCollations } = await openMariadbStreamPair())
  tools = await findClientTools(productionRelease, cleanroomRelease)
})

after(() => dirs.removeAll())

/** A directory production's server (the mysql OS user, when the tests run as root) may write. */
function serverWritableDir(): string {
  const dir = workDir()
  fs.chmodSync(dir, 0o755)
  if (process.getuid?.() === 0) {
    const id = (flag: string) => Number(spawnSync('id', [flag, 'mysql'], { encoding: 'utf8' }).stdout.trim())
    fs.chownSync(dir, id('-u'), id('-g'))
  }
  return dir
}

/** Every file under `dir`, relative to it. */
function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort()
}

test("tables created with DATA DIRECTORY and INDEX DIRECTORY restore into the clean room's own data directory, and compare equal", async () => {
  const database = uniqueName('lazarus_paths')
  const elsewhere = serverWritableDir()
  await production.sql(`CREATE DATABASE \`${database}\``)
  const into = uniqueName('lazarus_paths_into')
  await cleanroom.sql(`CREATE DATABASE \`${into}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci`)
  try {
    // The comment holds the same words, in a string: it must stay as it is.
    await production.sql(
      `CREATE TABLE placed (id INT PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB
         COMMENT 'DATA DIRECTORY=''/nowhere''' DATA DIRECTORY='${elsewhere}';
       CREATE TABLE indexed (id INT PRIMARY KEY, v VARCHAR(20)) ENGINE=MyISAM
         DATA DIRECTORY='${elsewhere}' INDEX DIRECTORY='${elsewhere}';
       CREATE TABLE parted (id INT PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB
         PARTITION BY RANGE (id) (
           PARTITION p0 VALUES LESS THAN (10) DATA DIRECTORY='${elsewhere}',
           PARTITION p1 VALUES LESS THAN MAXVALUE);
       INSERT INTO placed VALUES (1, 'a'), (2, 'b');
       INSERT INTO indexed VALUES (1, 'c');
       INSERT INTO parted VALUES (1, 'd'), (20, 'e');`,
      database
    )
    // Production really placed them there (the server honours the options).
    for (const table of ['placed', 'indexed', 'parted']) {
      assert.match(await production.sql(`SHOW CREATE TABLE ${table}`, database), /DATA DIRECTORY/, table)
    }
    const placedBefore = filesUnder(elsewhere)
    assert.ok(
      placedBefore.some(file => file.includes('placed')),
      placedBefore.join(', ')
    )
    assert.ok(
      placedBefore.some(file => file.startsWith('indexed.MY')),
      placedBefore.join(', ')
    )

    const dir = workDir()
    const outcome = await streamDumpToRestore({
      tools,
      production: target(production, database, 'production-url'),
      restoreInto: target(cleanroom, into, 'cleanroom-url'),
      sanitizer: sanitizerProgram({ tools, cleanroom: cleanroomRelease, cleanroomCollations, workDir: dir }),
      workDir: dir,
      onDumpSnapshotStarted: async () => undefined
    })
    assert.equal(outcome.ok, true, JSON.stringify(outcome))
    const sanitized = sanitizedConstructs(readRemovedLines(dir))
    assert.ok(
      sanitized.some(item => item.rule === 'path-option' && item.lines === 3),
      JSON.stringify(sanitized)
    )
    // Nothing of the clean room's at production's path; the restored tables are in its own data directory.
    assert.deepEqual(filesUnder(elsewhere), placedBefore, "the clean room wrote nothing at production's path")
    for (const table of ['placed', 'indexed', 'parted']) {
      const created = await cleanroom.sql(`SHOW CREATE TABLE ${table}`, into)
      assert.doesNotMatch(created.replace(/COMMENT='[^']*(''[^']*)*'/, ''), /DIRECTORY/, created)
    }
    assert.match(await cleanroom.sql('SHOW CREATE TABLE placed', into), /COMMENT='DATA DIRECTORY=''\/nowhere'''/)
    assert.equal(
      await cleanroom.sql(
        'SELECT COUNT(*) FROM placed UNION ALL SELECT COUNT(*) FROM indexed UNION ALL SELECT COUNT(*) FROM parted',
        into
      ),
      'COUNT(*)\n2\n1\n2\n'
    )
    // The schema comparison: no difference for the options (information_schema does not show them).
    const p = await mysql.openRead(mysql.parseUrl('production-url', production.url(database)), 'production')
    const c = await mysql.openRead(
      mysql.withDatabase(mysql.parseUrl('cleanroom-url', cleanroom.url('mysql')), into, database),
      'cleanroom'
    )
    try {
      assert.deepEqual(mysql.diffSchema(await p.readSchema(), await c.readSchema()), [])
    } finally {
      await Promise.all([p.close(), c.close()])
    }
  } finally {
    await production.sql(`DROP DATABASE IF EXISTS \`${database}\``)
    await cleanroom.sql(`DROP DATABASE IF EXISTS \`${into}\``)
  }
})
