import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { verifyBackup } from '../../../src/run/pipeline.js'
import type { Report } from '../../../src/report/report.js'
import { readSettings } from '../../../src/run/settings.js'
import { parseConnectionUrl } from '../../../src/engines/postgres/connection.js'
import { DatabaseSession } from '../../../src/engines/postgres/database.js'
import { postgres } from '../../../src/engines/postgres/index.js'
import { resolveClientTools } from '../../../src/engines/postgres/pg-tools.js'
import { runDrill } from '../../../src/run/drill-copies.js'
import { RunContext } from '../../../src/run/run-context.js'
import { Workspace } from '../../../src/run/workspace.js'
import { tableKey } from '../../../src/util/table-name.js'
import { createShop } from '../../support/shop.js'
import { emptyReport } from '../../support/empty-report.js'
import { capturingStdout } from '../../support/capture-stdout.js'

// The drill's change-owner on a production whose tables all have one owner and that names no
// other role: the copy's table is given to a role of the drill's own (the plan's extraRole),
// which the clean room does not have. run/drill-copies.ts adds it to the run's roles before the
// copy's restore, so the copy restores and only the owners comparison can catch it; without that
// the copy's ALTER TABLE ... OWNER TO fails and the drill reads as a restore failure. The role is
// the run's, and goes with the run's other roles.

test("change-owner gives a table to the drill's own role, created for the copy's restore and dropped afterwards", async t => {
  const shop = await createShop('drill_owner')
  const inputs = shop.inputs({ sabotage: 'change-owner' })
  const runnerTemp = mkdtempSync(path.join(os.tmpdir(), 'lazarus-drill-owner-'))
  t.after(() => rmSync(runnerTemp, { recursive: true, force: true }))
  const settings = readSettings(postgres, name => inputs[name] ?? '', { RUNNER_TEMP: runnerTemp })
  const report: Report = emptyReport(shop.database, settings.verify)
  const { output } = await capturingStdout(() => verifyBackup(settings, new Workspace(runnerTemp), report))
  assert.equal(report.result, 'verified', `${report.error ?? ''}\n${output.slice(-4000)}`)
  const [drill] = report.sabotage
  assert.equal(drill?.operator, 'change-owner')
  assert.equal(drill.applied, true, drill.evidence)
  // The new owner is the drill's role: no other role was there to take the table.
  const drillRole = /owner changed from .* to "?(lazarus_drill_\d{14}_[0-9a-f]{6})"?/.exec(drill.evidence)?.[1]
  assert.ok(drillRole, `the drill's own role took the table: ${drill.evidence}`)
  // Caught by the owners comparison: the copy restored (not a restore failure, not missed).
  assert.equal(drill.detected, true, drill.evidence)
  assert.equal(drill.detectedBy, 'privileges', drill.evidence)
  assert.match(drill.evidence, new RegExp(`owner of table .*: production .* restored ${drillRole}`))
  const left = await shop.cleanroom.query<{ rolname: string }>(
    `SELECT rolname FROM pg_catalog.pg_roles WHERE rolname = '${drillRole}'`
  )
  assert.deepEqual(left, [], "the drill's role is dropped with the run's roles")
})

/**
 * A production of one table drop-row can aim at (the only one counted with rows), its dump kept
 * apart from the run's workspace, the drill's catalog read, and a run context over `runnerTemp`.
 */
async function drillOnItsOwn(t: { after(fn: () => unknown): void }, runnerTemp: string) {
  // A dump several times the small disk of the full-disk test.
  const shop = await createShop(
    'drill_copy',
    `CREATE TABLE public.filler (id integer PRIMARY KEY, body text NOT NULL);
     INSERT INTO public.filler SELECT g, md5(g::text) FROM generate_series(1, 8000) g;`
  )
  const dumpDir = mkdtempSync(path.join(os.tmpdir(), 'lazarus-drill-dump-'))
  t.after(() => rmSync(dumpDir, { recursive: true, force: true }))
  // The kept dump lies elsewhere, as if the disk had room for it but not for a second copy.
  const dumpFile = path.join(dumpDir, 'backup.sql')
  execFileSync('pg_dump', ['--no-owner', '--no-privileges', '-f', dumpFile, shop.production.url(shop.database)])
  const productionTarget = parseConnectionUrl('production-url', shop.production.url(shop.database))
  const session = await DatabaseSession.open(productionTarget, 'production')
  const rowCounts = new Map([[tableKey({ schema: 'public', name: 'filler' }), 8000]])
  const drillCatalog = await postgres.readDrillCatalog(session, rowCounts).finally(() => session.close())
  const inputs = shop.inputs({ sabotage: 'drop-row' })
  const settings = readSettings(postgres, name => inputs[name] ?? '', { RUNNER_TEMP: runnerTemp })
  const workspace = new Workspace(runnerTemp)
  const run = new RunContext(postgres, settings, workspace, emptyReport(shop.database, settings.verify))
  /** runDrill('drop-row') on the dump, in the run, which must reject as `rejects` says; the log. */
  const drill = async (rejects: (error: Error) => boolean) =>
    capturingStdout(() =>
      run.run(async () => {
        await assert.rejects(
          runDrill('drop-row', dumpFile, {
            run,
            tools: await resolveClientTools(13),
            settings,
            snapshot: { drillCatalog },
            defaults: { characterSet: 'UTF8', collation: 'C' },
            verify: () => assert.fail('a copy that was never written whole is never verified')
          }),
          rejects
        )
      })
    )
  return { workspace, drill }
}

// A drill's copy is rewritten by drill/rewrite.ts into the run's work directory before anything
// restores it. When that write fails half-way (the runner's disk fills up with the copy), the run
// fails saying so, naming the directory and what to do, not as a backup that does not restore, and
// the partial copy is removed at once (runDrill's own cleanup), leaving the disk as it found it.
test("a drill copy whose rewrite fills the disk half-way fails as the runner's full disk and leaves no partial copy", async t => {
  if (process.getuid?.() !== 0) return t.skip('needs root to mount a small tmpfs as RUNNER_TEMP')
  const mountPoint = mkdtempSync(path.join(os.tmpdir(), 'lazarus-small-disk-'))
  t.after(() => {
    spawnSync('umount', [mountPoint])
    rmSync(mountPoint, { recursive: true, force: true })
  })
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', mountPoint], { encoding: 'utf8' })
  if (mounted.status !== 0) return t.skip(`cannot mount a tmpfs here: ${mounted.stderr.trim()}`)
  const { workspace, drill } = await drillOnItsOwn(t, mountPoint)
  const { output } = await drill((error: Error) => {
    assert.equal(error.name, 'UserError', 'one clear line, no stack')
    assert.match(
      error.message,
      new RegExp(
        `^The disk filled up while Lazarus was writing a sabotaged copy of the dump to ${workspace.workDir} ` +
          '\\(No space left on device; .+ free of 64\\.0 KiB\\)\\. With sabotage or upload-dump, '
      )
    )
    return true
  })
  assert.deepEqual(readdirSync(workspace.workDir), [], `the partial copy is removed\n${output.slice(-2000)}`)
})

// Any failure half-way through the rewrite (here the rewriter's own) ends the drill with it, and
// the partial copy goes all the same: no root or small disk needed to see it.
test('a drill copy whose rewriter fails half-way fails the run with its error and leaves no partial copy', async t => {
  const runnerTemp = mkdtempSync(path.join(os.tmpdir(), 'lazarus-drill-rewriter-'))
  t.after(() => rmSync(runnerTemp, { recursive: true, force: true }))
  const planDrill = postgres.planDrill
  t.after(() => {
    postgres.planDrill = planDrill
  })
  postgres.planDrill = (operator, catalog) => {
    const plan = planDrill(operator, catalog)
    if (!('rewriter' in plan)) return plan
    let lines = 0
    return {
      ...plan,
      rewriter: {
        push(line: string) {
          if (++lines > 100) throw new Error('the rewriter broke at line 101')
          return plan.rewriter.push(line)
        },
        result: () => plan.rewriter.result()
      }
    }
  }
  const { workspace, drill } = await drillOnItsOwn(t, runnerTemp)
  const { output } = await drill((error: Error) => /the rewriter broke at line 101/.test(error.message))
  assert.deepEqual(readdirSync(workspace.workDir), [], `the partial copy is removed\n${output.slice(-2000)}`)
})
