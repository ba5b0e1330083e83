import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { SeamSession } from '../../../src/engines/types.js'
import { readProductionSide } from '../../../src/run/pipeline.js'
import { beginProductionSnapshot, type BegunSnapshot } from '../../../src/run/snapshot-stream.js'
import { UserError } from '../../../src/util/errors.js'
import { createMariadbDatabase, mariadbInputs, MYSQL_SHOP_SQL } from '../../support/engines.js'
import { mariadbProduction } from '../../support/mariadb.js'
import { productionCluster, uniqueName } from '../../support/shared-servers.js'
import { createShop } from '../../support/shop.js'
import { inRun } from '../../support/in-run.js'

// One beginning of production's snapshot for every engine (run/snapshot-stream.ts): the
// figure sessions join the first session's snapshot, so that a write after it is seen by none
// of them; an empty database is one clear line; and where the engine takes a lock (MariaDB's
// brief global read lock) a failure releases it before the error goes on.

interface EngineCase {
  name: 'PostgreSQL' | 'MariaDB'
  /** Inputs for a run from a fresh shop with a table late_writes (its key a counter), and a write to that table. */
  shop(): Promise<{ inputs: Record<string, string>; addRow(): Promise<unknown> }>
  /** Inputs for a run from a fresh database without a table. */
  empty(): Promise<{ inputs: Record<string, string>; database: string }>
}

const CASES: EngineCase[] = [
  {
    name: 'PostgreSQL',
    async shop() {
      const shop = await createShop('begin_snapshot', 'CREATE TABLE public.late_writes (id serial PRIMARY KEY);')
      return {
        inputs: shop.inputs({ jobs: '4', sabotage: 'drop-row' }),
        addRow: () => shop.production.query('INSERT INTO public.late_writes DEFAULT VALUES', shop.database)
      }
    },
    async empty() {
      const shop = await createShop('begin_snapshot_base')
      const production = await productionCluster()
      const database = uniqueName('begin_snapshot_empty')
      await production.createDatabase(database)
      return { inputs: { ...shop.inputs(), 'production-url': production.url(database, { password: null }) }, database }
    }
  },
  {
    name: 'MariaDB',
    async shop() {
      const { server, database } = await createMariadbDatabase(
        'begin_snapshot',
        `${MYSQL_SHOP_SQL}\nCREATE TABLE late_writes (id INT AUTO_INCREMENT PRIMARY KEY) ENGINE=InnoDB;`
      )
      return {
        inputs: await mariadbInputs(database, { jobs: '4', sabotage: 'drop-row' }),
        addRow: () => server.sql('INSERT INTO late_writes () VALUES ()', database)
      }
    },
    async empty() {
      const server = await mariadbProduction()
      const database = uniqueName('begin_snapshot_empty')
      await server.sql(`CREATE DATABASE \`${database}\``)
      return { inputs: await mariadbInputs(database), database }
    }
  }
]

/** Rows of `table` as `session` sees it. */
async function rows(session: SeamSession, table: BegunSnapshot['tables'][number], inTransaction: boolean): Promise<number> {
  const [figures] = await session.tablesFigures([table], false, inTransaction)
  return figures.rows ?? -1
}

for (const engine of CASES) {
  test(`${engine.name}: every figure session joins production's snapshot, which no later write reaches`, async () => {
    const shop = await engine.shop()
    await inRun(shop.inputs, async context => {
      const production = context.production!
      // A write between the first session's snapshot and the others' joining it: a session that took
      // a snapshot of its own there would see it. (MariaDB's lock holds every writer meanwhile.)
      let writes = 0
      if (engine.name === 'PostgreSQL') {
        const begin = production.beginSnapshot.bind(production)
        production.beginSnapshot = async () => {
          const id = await begin()
          await shop.addRow()
          writes++
          return id
        }
      }
      const begun = await beginProductionSnapshot(context, production)
      const lateWrites = begun.tables.find(table => table.name === 'late_writes')
      assert.ok(lateWrites, 'the tables are listed inside the snapshot')
      // jobs 4: the dump takes one connection, production's first session and two more read figures.
      assert.equal(context.productionSessions.length, 3)
      assert.ok(Array.isArray(begun.countersBefore) && begun.countersBefore.length > 0, 'the counters are read first')
      const lock = await production.releaseSnapshotLock()
      assert.equal(typeof lock, engine.name === 'MariaDB' ? 'number' : 'undefined', "only MariaDB's snapshot takes a lock")
      const before = await rows(production, lateWrites, true)
      await shop.addRow()
      writes++
      const fresh = await context.open(context.settings.production, 'production')
      assert.equal(await rows(fresh, lateWrites, false), before + writes, 'the writes landed')
      for (const session of context.productionSessions) {
        assert.equal(await rows(session, lateWrites, true), before, 'a session in the snapshot does not see the later write')
      }
    })
  })

  test(`${engine.name}: a production database without tables stops the run in one line, its snapshot's lock released`, async () => {
    const { inputs, database } = await engine.empty()
    await inRun(inputs, async context => {
      const production = context.production!
      await assert.rejects(
        beginProductionSnapshot(context, production),
        (error: unknown) =>
          error instanceof UserError &&
          error.message ===
            `Production database '${database}' has no tables, so there is nothing to verify: ` +
              "check that 'production-url' names the right database."
      )
      // Released on the way out: nothing is left to release, and production's writers go on.
      assert.equal(await production.releaseSnapshotLock(), undefined)
    })
  })

  test(`${engine.name}: production's side is read inside the snapshot, and only once the dump has read production`, async () => {
    const shop = await engine.shop()
    await inRun(shop.inputs, async context => {
      const begun = await beginProductionSnapshot(context, context.production!)
      await context.production!.releaseSnapshotLock()
      await shop.addRow()
      const side = await readProductionSide(context, {
        tables: begun.tables,
        countersBefore: begun.countersBefore,
        dumped: Promise.resolve(true)
      })
      const late = side.figures.find(entry => entry.name === 'late_writes')
      assert.equal(late?.figures.rows, 0, "the figures are the snapshot's: the later write is not in them")
      assert.equal(side.figures.length, begun.tables.length, 'every table is read')
      assert.ok(
        side.schema.some(object => object.name.includes('late_writes')),
        "the schema is production's"
      )
      assert.equal(side.sequencesBefore, begun.countersBefore)
      // Counters are not transactional: read again once the dump is over, they hold the later write.
      const counter = (values: typeof side.sequencesAfter) => values.find(value => value.name.includes('late_writes'))
      assert.notDeepEqual(
        counter(side.sequencesAfter),
        counter(begun.countersBefore),
        'the counters are read again once the dump is over'
      )
      assert.ok(counter(side.sequencesAfter), JSON.stringify(side.sequencesAfter))
      assert.ok(side.drillCatalog, "the drill's catalog is read when a drill runs")
      assert.deepEqual(side.checks, [])
      await assert.rejects(
        readProductionSide(context, {
          tables: begun.tables,
          countersBefore: begun.countersBefore,
          dumped: Promise.resolve(false)
        }),
        /The dump did not finish: production's figures were not read/
      )
    })
  })
}
