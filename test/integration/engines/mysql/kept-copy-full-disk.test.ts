import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { after, before, test } from 'node:test'
import { type MariadbServer } from '../../../support/mariadb.js'
import { clientTarget, openMariadbStreamPair, tempDirs } from '../../../support/mariadb-stream-setup.js'
import { uniqueName } from '../../../support/shared-servers.js'
import {
  findClientTools,
  sanitizerProgram,
  streamDumpToRestore,
  type ServerRelease
} from '../../../../src/engines/mysql/tools.js'

// The MySQL stream keeps the sanitized dump for the drill with `tee` (tools.ts STREAM_SCRIPT), which
// goes on feeding the client when it cannot write its file: a runner disk that fills while the copy
// is written is the stream's fault, named as the runner's full disk (as PostgreSQL's stream names
// it), never an ok stream with a truncated copy the drill would then corrupt. A tee that dies of the
// broken pipe when the client stops on the dump is no failure of the copy: that restore is judged.

let production: MariadbServer
let cleanroom: MariadbServer
let productionRelease: ServerRelease
let cleanroomRelease: ServerRelease
let cleanroomCollations: string[]
const dirs = tempDirs('lazarus-mysql-keep-full-')

/** A production database whose dump is several times the small disk below. */
const database = uniqueName('lazarus_keep_full')

before(async () => {
  ;({ production, cleanroom, productionRelease, cleanroomRelease, cleanroomCollations } = await openMariadbStreamPair())
  await production.sql(
    `CREATE DATABASE \`${database}\`; CREATE TABLE \`${database}\`.filler (id int PRIMARY KEY, body text NOT NULL);
     USE \`${database}\`; INSERT INTO filler SELECT seq, MD5(seq) FROM seq_1_to_8000;`
  )
})
after(async () => {
  await production.sql(`DROP DATABASE IF EXISTS \`${database}\``)
  dirs.removeAll()
})

/** Streams production's database into a fresh scratch database (holding a clashing table when asked), keeping the dump at `keepDumpAt`. */
async function streamKeeping(keepDumpAt: string, clash = false) {
  const into = uniqueName('lazarus_scratch')
  await cleanroom.sql(`CREATE DATABASE \`${into}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci`)
  if (clash) await cleanroom.sql('CREATE VIEW filler AS SELECT 1 AS id', into)
  try {
    const tools = await findClientTools(productionRelease, cleanroomRelease)
    const workDir = dirs.make()
    return await streamDumpToRestore({
      tools,
      production: clientTarget(production, database, 'production-url'),
      restoreInto: clientTarget(cleanroom, into, 'cleanroom-url'),
      sanitizer: sanitizerProgram({ tools, cleanroom: cleanroomRelease, cleanroomCollations, workDir }),
      workDir,
      keepDumpAt,
      onDumpSnapshotStarted: async () => undefined
    })
  } finally {
    await cleanroom.sql(`DROP DATABASE \`${into}\``)
  }
}

test("MariaDB: a kept copy of the dump that fills the runner's disk half-way is the stream's fault, not an ok stream", async t => {
  if (process.getuid?.() !== 0) return t.skip('needs root to mount a small tmpfs')
  const mountPoint = fs.mkdtempSync(path.join(os.tmpdir(), 'lazarus-small-disk-'))
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', mountPoint], { encoding: 'utf8' })
  if (mounted.status !== 0) {
    fs.rmSync(mountPoint, { recursive: true, force: true })
    return t.skip(`cannot mount a tmpfs here: ${mounted.stderr.trim()}`)
  }
  t.after(() => {
    spawnSync('umount', [mountPoint])
    fs.rmSync(mountPoint, { recursive: true, force: true })
  })
  const keepDumpAt = path.join(mountPoint, 'backup.sql')
  const outcome = await streamKeeping(keepDumpAt)
  const kept = fs.statSync(keepDumpAt).size
  assert.ok(kept < outcome.dumpBytes, `the copy is whole (${kept} of ${outcome.dumpBytes} bytes): the test's disk is too large`)
  assert.equal(outcome.ok, false, `the stream says ok with a kept copy of ${kept} of ${outcome.dumpBytes} bytes`)
  // The runner's full disk, named as PostgreSQL's stream names it (util/work-files.ts diskFullError), not the backup's.
  assert.equal(outcome.restoreError, undefined)
  assert.match(
    outcome.fault?.message ?? '',
    new RegExp(`^The disk filled up while Lazarus was writing the copy of the dump to ${mountPoint} `)
  )
})

test("MariaDB: a restore that stops on the dump while the copy is kept is the restore's failure, not the copy's", async () => {
  // The scratch database already holds a view of the table's name (the dump's DROP TABLE leaves it): the
  // client stops at its CREATE TABLE, and tee's pipe breaks with the dump still coming.
  const outcome = await streamKeeping(path.join(dirs.make(), 'backup.sql'), true)
  assert.equal(outcome.ok, false)
  assert.equal(outcome.fault, undefined, outcome.fault?.message)
  assert.equal(outcome.stages[0].stage, 'restore', JSON.stringify(outcome.stages))
})
