import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { displayName } from '../../src/util/table-name.js'
import { verifyBackup } from '../../src/run/pipeline.js'
import { resolveClientTools } from '../../src/engines/postgres/pg-tools.js'
import type { Report } from '../../src/report/report.js'
import { readSettings } from '../../src/run/settings.js'
import { postgres } from '../../src/engines/postgres/index.js'
import { Workspace } from '../../src/run/workspace.js'
import { installFixtureExtension } from '../support/fixture-extension.js'
import { cleanroomCluster, productionCluster, uniqueName } from '../support/shared-servers.js'
import { tamperedClientDir } from '../support/tampered-client.js'
import { CASES, batches, dataCases, privilegeCases, privilegesSql, type Edit, type SuiteCase } from './corruption-cases.js'
import { emptyReport } from '../support/empty-report.js'

// The corruption suite: one production database with one of everything (fixtures/everything.sql),
// dumped by the real pg_dump, damaged by a wrapper (one case, one damage), restored by the real psql
// and verified by the pipeline in-process. Every damage must be caught and named in the report;
// every control (no change, or a change of form only) must say `verified`.

const here = path.dirname(fileURLToPath(import.meta.url))
const EDITOR = path.join(here, '..', 'support', 'dump-editor.mjs')
/** Cases checked in one run at most (see batches); LAZARUS_SUITE_ALONE=1 runs each alone. */
const BATCH = 20

installFixtureExtension()
const production = await productionCluster()
const cleanroom = await cleanroomCluster()
const database = uniqueName('everything')
await production.createDatabase(database, readFileSync(path.join(here, '..', 'fixtures', 'everything.sql'), 'utf8'))
// Owners and privileges under the default restore-role: a small database of their own, and roles
// of the suite's own (roles are global to the shared servers).
const roles = { app: uniqueName('suite_app'), reader: uniqueName('suite_reader'), writer: uniqueName('suite_writer') }
for (const role of Object.values(roles)) await production.query(`CREATE ROLE ${role} NOLOGIN`)
const privilegesDatabase = uniqueName('suite_privileges')
await production.createDatabase(privilegesDatabase, privilegesSql(roles))
after(async () => {
  await production.query(`DROP DATABASE IF EXISTS ${privilegesDatabase} WITH (FORCE)`).catch(() => undefined)
  for (const role of Object.values(roles)) await production.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined)
})
const pristine = await pgDump()
if (process.env.LAZARUS_SUITE_DUMP) writeFileSync(process.env.LAZARUS_SUITE_DUMP, pristine)
const only = process.env.LAZARUS_SUITE_ONLY
const cases: SuiteCase[] = [...CASES, ...dataCases(pristine), ...privilegeCases(roles)].filter(
  c => !only || new RegExp(only).test(c.name)
)
const scratch = mkdtempSync(path.join(os.tmpdir(), 'lazarus-suite-'))
process.once('exit', () => rmSync(scratch, { recursive: true, force: true }))

async function pgDump(): Promise<string> {
  const tools = await resolveClientTools(13)
  const { stdout } = await promisify(execFile)(
    tools.pgDump.path,
    ['--format=plain', '--no-owner', '--no-privileges', `--dbname=${production.url(database, { password: null })}`],
    { env: { ...process.env, PGPASSWORD: production.password }, maxBuffer: 64 * 1024 * 1024 }
  )
  return stdout
}

/**
 * Runs the pipeline as the action would, with pg_dump wrapped to apply `edits`, on the case's
 * fixture: everything.sql as a superuser restores it, or the privileges database under the default.
 */
async function verifyWith(edits: Edit[], label: string, fixture: SuiteCase['fixture'] = 'everything'): Promise<Report> {
  const privileges = fixture === 'privileges'
  const target = privileges ? privilegesDatabase : database
  const editsFile = path.join(scratch, `${label.replace(/[^a-z0-9]+/gi, '_')}.json`)
  writeFileSync(editsFile, JSON.stringify(edits))
  const inputs: Record<string, string> = {
    'production-url': production.url(target),
    'cleanroom-url': cleanroom.url('postgres'),
    'postgres-bin-dir': tamperedClientDir(`"${process.execPath}" "${EDITOR}" "$DUMP" "${editsFile}"`),
    verify: 'checksums',
    jobs: '2',
    // everything.sql holds what only a superuser can restore; the privileges database takes the default.
    'restore-role': privileges ? 'unprivileged' : 'superuser'
  }
  const settings = readSettings(postgres, name => inputs[name] ?? '', { RUNNER_TEMP: scratch })
  const report: Report = emptyReport(target, settings.verify)
  const workspace = new Workspace(scratch)
  try {
    await verifyBackup(settings, workspace, report)
  } catch (error) {
    report.result = 'error'
    report.error = error instanceof Error ? error.message : String(error)
  } finally {
    workspace.removeWorkFiles()
    rmSync(workspace.reportDir, { recursive: true, force: true })
  }
  return report
}

/** What the report names as different: tables with their differing rows, and schema objects. */
export function findings(report: Report): string[] {
  const tables = report.tables
    .filter(table => !table.match)
    .map(table => {
      const rows = table.differences?.keys.map(row => `${row.change} ${row.key}`).join('; ') ?? ''
      return `table ${displayName(table)}: ${table.difference}${rows ? ` (${rows})` : ''}`
    })
  const schema = (report.schema ?? []).map(difference => `${difference.kind} ${difference.name}`)
  return [...tables, ...schema]
}

interface Outcome {
  case: SuiteCase
  ok: boolean
  detail: string
}

/** Verifies one run's corruptions together, and judges each on its own finding. */
async function judge(run: SuiteCase[]): Promise<Outcome[]> {
  const started = performance.now()
  const label = run.map(suiteCase => suiteCase.name).join(' + ')
  let report = await verifyWith(
    run.flatMap(suiteCase => suiteCase.edits),
    run[0].name,
    run[0].fixture
  )
  // A server that did not answer in time (a loaded machine) is no verdict: that run is tried again.
  for (let retry = 0; retry < 3 && report.result === 'error' && /^No answer from/.test(report.error ?? ''); retry++) {
    await new Promise(resolve => setTimeout(resolve, 5_000))
    report = await verifyWith(
      run.flatMap(suiteCase => suiteCase.edits),
      run[0].name,
      run[0].fixture
    )
  }
  const found = findings(report)
  const detail = `${report.result}${report.error ? ` (${report.error})` : ''}: ${found.join(' | ') || 'nothing named'}`
  if (process.env.LAZARUS_SUITE_TIMINGS) {
    process.stderr.write(`${label}: ${((performance.now() - started) / 1000).toFixed(2)} s ${detail}\n`)
  }
  return run.map(suiteCase => {
    if (suiteCase.control) return { case: suiteCase, ok: report.result === 'verified', detail }
    const named = found.some(finding => suiteCase.names!.test(finding))
    return { case: suiteCase, ok: report.result === 'mismatch' && named, detail }
  })
}

test(`the corruption suite: every damage caught and named, every control verified`, { timeout: 15 * 60_000 }, async () => {
  assert.equal(new Set(cases.map(c => c.name)).size, cases.length, 'two cases share a name')
  const outcomes: Outcome[] = []
  // The pipeline logs through @actions/core to stdout: silenced, the runner's own (binary) output passes.
  const write = process.stdout.write.bind(process.stdout)
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) =>
    typeof chunk === 'string' ? true : write(chunk, ...rest)) as typeof process.stdout.write
  try {
    // One run at a time: each is a pg_dump, a psql and checksum sessions, which already keep two cores busy.
    for (const run of batches(cases, BATCH, process.env.LAZARUS_SUITE_ALONE === '1')) outcomes.push(...(await judge(run)))
  } finally {
    process.stdout.write = write
  }
  const corruptions = outcomes.filter(outcome => !outcome.case.control)
  const caught = corruptions.filter(outcome => outcome.ok).length
  const falseAlarms = outcomes.filter(outcome => outcome.case.control && !outcome.ok).length
  console.log(`corruption suite: caught ${caught} of ${corruptions.length}, false alarms ${falseAlarms}`)
  const failures = outcomes.filter(outcome => !outcome.ok)
  assert.deepEqual(
    failures.map(outcome => `${outcome.case.control ? 'control' : 'missed'} ${outcome.case.name}: ${outcome.detail}`),
    []
  )
  assert.ok(corruptions.length >= 100, `only ${corruptions.length} corruptions`)
})
