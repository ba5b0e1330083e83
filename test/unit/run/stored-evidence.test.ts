import { test } from 'node:test'
import assert from 'node:assert/strict'
import { FIGURE_METHODS, type Manifest } from '../../../src/report/manifest.js'
import {
  assertNotManifestProduction,
  functionsAcrossMajors,
  notComparable,
  rolesNamedBy,
  snapshotFromManifest
} from '../../../src/run/stored-evidence.js'
import { postgresRestorePoints } from '../../../src/engines/postgres/restore-points.js'

function manifest(major: number, extra: Partial<Manifest['figures']> = {}): Manifest {
  return {
    production: { encoding: 'UTF8', collate: 'C', ctype: 'C' },
    snapshot: { takenAt: '2026-11-30T02:00:00.000Z' },
    figures: {
      computedOn: { serverVersion: `${major}.1`, serverVersionNum: major * 10000 + 1, major },
      methods: { ...FIGURE_METHODS },
      verify: 'checksums',
      tables: [
        {
          schema: 'public',
          name: 'orders',
          kind: 'r',
          populated: true,
          filter: null,
          columns: [],
          figures: { rows: 3, checksum: 'abc' }
        }
      ],
      schema: [{ kind: 'table', name: 'public.orders', definition: 'x' }],
      privileges: [{ kind: 'owner', name: 'table public.orders', definition: 'app' }],
      largeObjects: [],
      sequences: { before: [], after: [] },
      ...extra
    }
  } as unknown as Manifest
}

test('across PostgreSQL 17 privileges are not comparable; within either side of it they are; never silently', () => {
  assert.deepEqual(notComparable(manifest(13), 13), [])
  assert.deepEqual(
    notComparable(manifest(13), 18).map(item => item.figure),
    ['privileges', 'view definitions']
  )
  assert.deepEqual(
    notComparable(manifest(13), 16).map(item => item.figure),
    ['view definitions']
  )
  assert.match(notComparable(manifest(18), 13)[0].reason, /MAINTAIN.*PostgreSQL 18.*runs 13/)
  // No privileges in the manifest: nothing of them to leave out.
  assert.deepEqual(
    notComparable(manifest(13, { privileges: undefined }), 18).map(item => item.figure),
    ['view definitions']
  )
  // Figures of another method version are named, whatever the majors.
  const older = manifest(13, { methods: { ...FIGURE_METHODS, rowChecksum: FIGURE_METHODS.rowChecksum + 1 } })
  assert.deepEqual(
    notComparable(older, 13).map(item => item.figure),
    ['row checksums']
  )
})

test("the manifest is production's side: its figures, no session, checks matched by name and query", () => {
  const sqlHash = 'b'.repeat(64)
  const withChecks = manifest(13, {
    checks: [{ name: 'paid', ordered: false, sqlSha256: sqlHash, answer: { rows: 1 } }]
  } as unknown as Partial<Manifest['figures']>)
  const { snapshot, checks } = snapshotFromManifest(
    withChecks,
    [{ name: 'paid', sql: 'SELECT 1', ordered: false }] as never,
    [],
    postgresRestorePoints
  )
  assert.equal('exporter' in snapshot, false)
  assert.equal(snapshot.figures[0].figures.checksum, 'abc')
  assert.deepEqual(snapshot.privileges, withChecks.figures.privileges)
  // The query's text changed since the manifest: its answer is not compared.
  assert.deepEqual(checks, [])
  assert.deepEqual(snapshot.checks, [])
  const skipped = snapshotFromManifest(withChecks, [], [{ figure: 'privileges', reason: 'r' }], postgresRestorePoints)
  assert.equal(skipped.snapshot.privileges, undefined)
})

test("a stored backup's scratch database is created like the database its manifest records: encoding, collation, ctype", () => {
  const recorded = { ...manifest(13).production, encoding: 'LATIN1', collate: 'de_DE.ISO-8859-1', ctype: 'en_US.ISO-8859-1' }
  assert.deepEqual(postgresRestorePoints.databaseDefaults(recorded), {
    characterSet: 'LATIN1',
    collation: 'de_DE.ISO-8859-1',
    characterType: 'en_US.ISO-8859-1'
  })
})

test("the roles a manifest's owners and ACLs name", () => {
  assert.deepEqual(
    rolesNamedBy([
      { kind: 'owner', definition: 'app' },
      { kind: 'owner', definition: '"Weird ""role"""' },
      { kind: 'privileges', definition: 'app=arwdDxt/app reader=r/app =r/app "odd one"=U/"Weird ""role"""' },
      { kind: 'default privileges', definition: 'writer=arw/app' },
      { kind: 'privileges', definition: '(none)' },
      { kind: 'table', definition: 'owner=x/y' }
    ]),
    ['Weird "role"', 'app', 'odd one', 'reader', 'writer']
  )
})

test('figures left out drop only their differences: a view on one side only still counts', async () => {
  const { stillCompared } = await import('../../../src/run/stored-pipeline.js')
  const views = [{ figure: 'view definitions', reason: 'r' }]
  const changed = { kind: 'view', name: 'public.v', production: 'SELECT a.x', restored: 'SELECT x' }
  assert.equal(stillCompared(changed, views), false)
  assert.equal(stillCompared({ ...changed, restored: null }, views), true)
  assert.equal(stillCompared({ kind: 'table', name: 't', production: 'a', restored: 'b' }, views), true)
  const privileges = [{ figure: 'privileges', reason: 'r' }]
  assert.equal(stillCompared({ kind: 'privileges', name: 'table t', production: 'a', restored: 'b' }, privileges), false)
  assert.equal(stillCompared({ kind: 'owner', name: 'table t', production: 'a', restored: null }, privileges), false)
  assert.equal(stillCompared({ kind: 'index', name: 'i', production: 'a', restored: 'b' }, privileges), true)
  assert.equal(stillCompared(changed, []), true)
})

test("a clean room that is the manifest's production server is refused: by system identifier, or by start time", () => {
  const evidence = (systemIdentifier?: string) => ({
    source: '/points/lazarus-manifest.json',
    manifest: {
      production: {
        server: 'app@db:5432/shop',
        startedAt: '2026-11-30T01:00:00.123456Z',
        ...(systemIdentifier ? { systemIdentifier } : {})
      }
    } as unknown as Manifest
  })
  const other = { systemIdentifier: '7002', startedAt: '2026-11-30T01:00:00.654321Z' }
  assertNotManifestProduction(evidence('7001'), 'postgres@localhost:5433/postgres', other)
  assertNotManifestProduction(evidence(), 'postgres@localhost:5433/postgres', { startedAt: other.startedAt })
  assert.throws(
    () =>
      assertNotManifestProduction(evidence('7001'), 'postgres@localhost:5433/postgres', { ...other, systemIdentifier: '7001' }),
    /^UserError: The clean room \(postgres@localhost:5433\/postgres\) is the production server the manifest \/points\/lazarus-manifest\.json describes \(app@db:5432\/shop\): both report system identifier 7001\. Point cleanroom-url at a separate, disposable server\.$/
  )
  // A physical copy shares the identifier; a role that may not read it still tells the server by its start.
  assert.throws(
    () => assertNotManifestProduction(evidence(), 'c', { startedAt: '2026-11-30T01:00:00.123456Z' }),
    /both servers started at 2026-11-30T01:00:00\.123456Z/
  )
})

test('across majors a function printed otherwise is named, not judged; one on one side only still counts; within a major all count', () => {
  const printed = {
    kind: 'function',
    name: 'app.touch(integer)',
    production: 'PROCEDURE (a integer)',
    restored: 'PROCEDURE (IN a integer)'
  }
  const gone = { kind: 'function', name: 'app.gone()', production: 'FUNCTION', restored: null }
  const view = { kind: 'view', name: 'app.v', production: 'a', restored: 'b' }
  const across = functionsAcrossMajors([printed, gone, view], 13, 18)
  assert.deepEqual(across.differences, [gone, view])
  assert.equal(across.notCompared?.figure, 'function definitions')
  assert.match(
    across.notCompared!.reason,
    /1 function\(s\) read differently on the clean room's PostgreSQL 18 than in the manifest from PostgreSQL 13, compared by presence only: app\.touch\(integer\)$/
  )
  assert.deepEqual(functionsAcrossMajors([printed, gone], 18, 18), { differences: [printed, gone] })
  assert.deepEqual(functionsAcrossMajors([gone, view], 13, 18), { differences: [gone, view] })
})
