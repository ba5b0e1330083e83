import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { after, before, test } from 'node:test'
import { mysql } from '../../../../src/engines/mysql/index.js'
import {
  findClientTools,
  readRemovedLines,
  restoreDumpFile,
  sanitizedConstructs,
  sanitizerProgram,
  streamDumpToRestore,
  type MysqlClientTools,
  type ServerRelease
} from '../../../../src/engines/mysql/tools.js'
import { type MariadbServer } from '../../../support/mariadb.js'
import { clientTarget, openMariadbStreamPair, tempDirs } from '../../../support/mariadb-stream-setup.js'
import { uniqueName } from '../../../support/shared-servers.js'

// What a restored copy holds must never run by itself in the clean room (issue 15): an enabled
// event is restored disabled, even where the clean room's event scheduler is ON, and its status is
// still compared; triggers do not fire during the restore, in mysqldump's order (a positive
// control shows the comparison would see it if they did).

let production: MariadbServer
let cleanroom: MariadbServer
let productionRelease: ServerRelease
let cleanroomRelease: ServerRelease
let tools: MysqlClientTools
let cleanroomCollations: string[]
const dirs = tempDirs('lazarus-mysql-itself-')
const workDir = dirs.make
const target = clientTarget

before(async () => {
  ;({ production, cleanroom, productionRelease, cleanroomRelease, cleanroomCollations } = await openMariadbStreamPair())
  tools = await findClientTools(productionRelease, cleanroomRelease)
})

after(() => dirs.removeAll())

async function scratch(): Promise<string> {
  const name = uniqueName('lazarus_itself')
  await cleanroom.sql(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci`)
  return name
}

async function stream(database: string, into: string, dir = workDir(), keepDumpAt?: string) {
  return streamDumpToRestore({
    tools,
    production: target(production, database, 'production-url'),
    restoreInto: target(cleanroom, into, 'cleanroom-url'),
    sanitizer: sanitizerProgram({ tools, cleanroom: cleanroomRelease, cleanroomCollations, workDir: dir }),
    workDir: dir,
    keepDumpAt,
    onDumpSnapshotStarted: async () => undefined
  })
}

const value = async (server: MariadbServer, sql: string, database?: string) => (await server.sql(sql, database)).split('\n')[1]

/** Sets the clean room's event scheduler for the length of `work`, then puts back what it was. */
async function withEventScheduler<T>(state: 'ON' | 'OFF', work: () => Promise<T>): Promise<T> {
  const was = await value(cleanroom, 'SELECT @@GLOBAL.event_scheduler')
  await cleanroom.sql(`SET GLOBAL event_scheduler = ${state}`)
  try {
    return await work()
  } finally {
    await cleanroom.sql(`SET GLOBAL event_scheduler = ${was === 'DISABLED' ? 'OFF' : was}`)
  }
}

test("enabled events never run in a clean room whose event scheduler is ON, and production's status is still compared", async () => {
  const database = uniqueName('lazarus_events')
  await production.sql(`CREATE DATABASE \`${database}\``)
  // Production's scheduler is left as it is (off on the test server): the events never ran there.
  await production.sql(
    `CREATE TABLE ticks (id INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(20));
     CREATE EVENT every_second ON SCHEDULE EVERY 1 SECOND STARTS CURRENT_TIMESTAMP ON COMPLETION PRESERVE ENABLE
       COMMENT 'ENABLE DO' DO INSERT INTO ticks (what) VALUES ('every second');
     CREATE EVENT \`at once ON COMPLETION PRESERVE ENABLE DO\` ON SCHEDULE AT CURRENT_TIMESTAMP + INTERVAL 1 SECOND
       ON COMPLETION PRESERVE ENABLE DO INSERT INTO ticks (what) VALUES ('at once');
     CREATE EVENT kept_off ON SCHEDULE EVERY 1 SECOND STARTS CURRENT_TIMESTAMP ON COMPLETION PRESERVE DISABLE
       DO INSERT INTO ticks (what) VALUES ('off');`,
    database
  )
  const into = await scratch()
  try {
    await withEventScheduler('ON', async () => {
      const dir = workDir()
      const outcome = await stream(database, into, dir)
      assert.equal(outcome.ok, true, JSON.stringify(outcome))
      // Long enough for the scheduler to run an enabled every-second event twice, and the one-off.
      await new Promise(resolve => setTimeout(resolve, 3000))
      assert.equal(await value(cleanroom, 'SELECT COUNT(*) FROM ticks', into), '0', 'no restored event ran')
      const statuses = await cleanroom.sql(
        `SELECT EVENT_NAME, STATUS FROM information_schema.EVENTS WHERE EVENT_SCHEMA = '${into}' ORDER BY EVENT_NAME`
      )
      assert.match(statuses, /at once ON COMPLETION PRESERVE ENABLE DO\tSLAVESIDE_DISABLED\n/)
      assert.match(statuses, /every_second\tSLAVESIDE_DISABLED\n/)
      assert.match(statuses, /kept_off\tDISABLED\n/)
      assert.deepEqual(
        [...(outcome.restoredDisabled ?? [])].sort((a, b) => (a.name < b.name ? -1 : 1)),
        [
          { kind: 'event', name: '`at once ON COMPLETION PRESERVE ENABLE DO`' },
          { kind: 'event', name: 'every_second' }
        ]
      )
      const sanitized = sanitizedConstructs(readRemovedLines(dir))
      assert.ok(
        sanitized.some(item => item.rule === 'event-status' && item.lines === 2),
        JSON.stringify(sanitized)
      )
      // The schema comparison: production's ENABLED matches the events the sanitizer disabled, and only those.
      const p = await mysql.openRead(mysql.parseUrl('production-url', production.url(database)), 'production')
      const c = await mysql.openRead(
        mysql.withDatabase(mysql.parseUrl('cleanroom-url', cleanroom.url('mysql')), into, database),
        'cleanroom'
      )
      try {
        const [mine, theirs] = [await p.readSchema(), await c.readSchema()]
        assert.deepEqual(mysql.diffSchema(mine, theirs, undefined, outcome.restoredDisabled), [])
        assert.deepEqual(
          mysql.diffSchema(mine, theirs).map(difference => difference.name),
          ['`at once ON COMPLETION PRESERVE ENABLE DO`', 'every_second'],
          'without the record the status differs'
        )
        // A backup that held kept_off enabled (production: DISABLED) still shows, though restored disabled.
        await production.sql('ALTER EVENT kept_off ENABLE', database)
        const wrong = mysql.diffSchema(await p.readSchema(), theirs, undefined, outcome.restoredDisabled)
        assert.deepEqual(
          wrong.map(difference => difference.name),
          ['kept_off']
        )
      } finally {
        await Promise.all([p.close(), c.close()])
      }
    })
  } finally {
    await production.sql(`DROP DATABASE \`${database}\``)
    await cleanroom.sql(`DROP DATABASE IF EXISTS \`${into}\``)
  }
})

test("triggers do not fire during the restore: each table's come after its rows (a dump with them first would show)", async () => {
  const database = uniqueName('lazarus_triggers')
  await production.sql(`CREATE DATABASE \`${database}\``)
  // a_log sorts before the tables whose triggers write to it; b_items' own trigger also changes its rows.
  await production.sql(
    `CREATE TABLE a_log (id INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(40));
     CREATE TABLE b_items (id INT PRIMARY KEY, v INT);
     CREATE TABLE z_more (id INT PRIMARY KEY);
     CREATE TRIGGER b_before BEFORE INSERT ON b_items FOR EACH ROW SET NEW.v = NEW.v + 100;
     CREATE TRIGGER b_after AFTER INSERT ON b_items FOR EACH ROW INSERT INTO a_log (what) VALUES (CONCAT('item ', NEW.id));
     CREATE TRIGGER z_after AFTER INSERT ON z_more FOR EACH ROW INSERT INTO a_log (what) VALUES (CONCAT('more ', NEW.id));
     INSERT INTO b_items VALUES (1, 1), (2, 2);
     INSERT INTO z_more VALUES (1), (2);`,
    database
  )
  const contents = async (server: MariadbServer, db: string) =>
    server.sql(
      `SELECT 'a_log', COUNT(*), COALESCE(SUM(id), 0) FROM a_log UNION ALL SELECT 'b_items', COUNT(*), SUM(v) FROM b_items
       UNION ALL SELECT 'z_more', COUNT(*), SUM(id) FROM z_more`,
      db
    )
  const into = await scratch()
  const reordered = await scratch()
  try {
    const dir = workDir()
    const kept = path.join(dir, 'kept.sql')
    const outcome = await stream(database, into, dir, kept)
    assert.equal(outcome.ok, true, JSON.stringify(outcome))
    const expected = await contents(production, database)
    assert.match(expected, /a_log\t4\t10\n/)
    assert.equal(await contents(cleanroom, into), expected, 'no trigger fired during the restore')
    // The positive control: the same dump with every trigger block moved to the top, before the
    // rows, fires them, and the comparison sees it.
    const dump = fs.readFileSync(kept, 'latin1')
    const triggerBlock = /\nDELIMITER ;;\n(?:(?!\nDELIMITER ;\n)[\s\S])*?TRIGGER[\s\S]*?\nDELIMITER ;\n/g
    const blocks = dump.match(triggerBlock) ?? []
    assert.equal(blocks.length, 3, 'the dump holds the three triggers, a block each')
    // Every table first, then the triggers, then all rows.
    // (The dump takes --skip-add-locks: a table's rows end with its ENABLE KEYS line, not UNLOCK TABLES.)
    const section = /\n--\n-- Dumping data for table `[^`]+`\n--\n[\s\S]*?(?:UNLOCK TABLES;|ENABLE KEYS \*\/;)\n/g
    const withoutTriggers = dump.replace(triggerBlock, '\n')
    const data = [...withoutTriggers.matchAll(section)].map(match => match[0])
    assert.equal(data.length, 3, 'the dump holds the rows of three tables')
    const structure = withoutTriggers.replace(section, '\n')
    const file = path.join(dir, 'triggers-first.sql')
    fs.writeFileSync(
      file,
      structure.replace(/\n-- Dump completed/, `${blocks.join('')}${data.join('')}\n-- Dump completed`),
      'latin1'
    )
    const control = await restoreDumpFile({
      tools,
      file,
      restoreInto: target(cleanroom, reordered, 'cleanroom-url'),
      workDir: dir
    })
    assert.equal(control.ok, true, JSON.stringify(control))
    assert.notEqual(await contents(cleanroom, reordered), expected, 'triggers that fire change the restored rows')
  } finally {
    await production.sql(`DROP DATABASE \`${database}\``)
    await cleanroom.sql(`DROP DATABASE IF EXISTS \`${into}\`; DROP DATABASE IF EXISTS \`${reordered}\``)
  }
})
