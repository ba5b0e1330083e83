import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { compareTables } from '../../../src/verification/compare.js'
import { UserError } from '../../../src/util/errors.js'
import {
  MANIFEST_FILE,
  FIGURE_METHODS,
  assertSignedBy,
  buildManifest,
  canonicalJson,
  checkBackupFiles,
  describeFileProblem,
  formatProblem,
  hashBackup,
  manifestBeside,
  manifestFigures,
  parseManifest,
  readSigningKey,
  readVerifyKey,
  serializeManifest,
  sha256File,
  signManifest,
  type Manifest,
  type ManifestFacts
} from '../../../src/report/manifest.js'
import { LAZARUS_VERSION } from '../../../src/util/version.js'
import { POSTGRES_MANIFEST } from '../../../src/engines/postgres/restore-points.js'

const facts = (extra: Partial<ManifestFacts> = {}): ManifestFacts => ({
  createdAt: new Date('2026-11-30T05:00:00Z'),
  lazarusVersion: LAZARUS_VERSION,
  result: 'verified',
  cleanroomServerVersion: '13.23',
  production: {
    server: 'app@db.internal:5432/shop',
    serverVersion: '13.23',
    serverVersionNum: 130023,
    systemIdentifier: '7000000000000000001',
    startedAt: '2026-11-30 04:00:00+00',
    database: 'shop',
    encoding: 'UTF8',
    collate: 'C',
    ctype: 'C'
  },
  snapshotTakenAt: '2026-11-30T04:59:00.000Z',
  dump: {
    version: '15.14',
    arguments: ['--format=custom', '--compress=1', '--no-owner', '--no-privileges'],
    format: 'custom',
    compression: 'gzip:1',
    ownersAndPrivileges: false
  },
  files: [{ path: 'shop.dump', bytes: 3, sha256: 'a'.repeat(64) }],
  verify: 'checksums',
  tables: [
    {
      schema: 'public',
      name: 'orders',
      kind: 'r',
      populated: true,
      filter: null,
      columns: [
        { name: 'id', hashing: 'int4' },
        { name: 'note', hashing: 'text' }
      ]
    },
    { schema: 'public', name: 'totals', kind: 'm', populated: true, columns: [] }
  ],
  figures: [
    { schema: 'public', name: 'orders', figures: { rows: 2, checksum: '2-abc' } },
    { schema: 'public', name: 'totals', figures: {}, derived: true }
  ],
  schema: [{ kind: 'table', name: 'public.orders', definition: 'id integer, note text' }],
  largeObjects: [{ kind: 'large object', name: '16401', definition: '3 bytes, md5 x' }],
  sequencesBefore: [{ name: 'public.orders_id_seq', lastValue: '2', isCalled: true, increment: '1' }],
  sequencesAfter: [{ name: 'public.orders_id_seq', lastValue: '3', isCalled: true, increment: '1' }],
  checks: {
    definitions: [{ name: 'revenue', sql: 'SELECT sum(total) FROM orders', ordered: false, timeoutSeconds: 300, line: 1 }],
    answers: [{ rows: 1, columns: ['sum numeric'], multisetHash: 'aa', orderedHash: 'bb', sample: ['(1042.50)'] }],
    showValues: false
  },
  ...extra
})

const keys = () => generateKeyPairSync('ed25519')
const pem = (key: { export(options: { type: 'pkcs8' | 'spki'; format: 'pem' }): string | Buffer }, type: 'pkcs8' | 'spki') =>
  String(key.export({ type, format: 'pem' }))

test('the version constant is package.json’s', () => {
  const pkg = JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
  assert.equal(LAZARUS_VERSION, pkg.version)
})

test('a built manifest serializes canonically and parses back to itself', () => {
  const manifest = buildManifest(facts(), POSTGRES_MANIFEST)
  const text = serializeManifest(manifest)
  assert.deepEqual(parseManifest(text, 'm.json', POSTGRES_MANIFEST), manifest)
  // Canonical: the same manifest with its keys in another order gives the same bytes.
  const shuffled = JSON.parse(JSON.stringify(manifest), (_key, value: unknown) =>
    value && typeof value === 'object' && !Array.isArray(value) ? Object.fromEntries(Object.entries(value).reverse()) : value
  ) as Manifest
  assert.equal(serializeManifest(shuffled), text)
  assert.equal(canonicalJson({ b: 1, a: { d: undefined, c: [2, { y: 1, x: 0 }] } }), '{"a":{"c":[2,{"x":0,"y":1}]},"b":1}')
  assert.equal(manifest.production.major, 13)
  assert.equal(manifest.figures.computedOn.major, 13)
  assert.equal(manifest.figures.methods.rowChecksum, FIGURE_METHODS.rowChecksum)
  assert.equal(manifest.figures.pinnedSettings.TimeZone, 'UTC')
  assert.deepEqual(manifest.figures.tables[0].columns, [
    { name: 'id', hashing: 'int4' },
    { name: 'note', hashing: 'text' }
  ])
  assert.equal(manifest.figures.tables[1].derived, true)
})

test('production values of check answers stay out unless show-values allowed them', () => {
  const hidden = buildManifest(facts(), POSTGRES_MANIFEST)
  assert.equal(serializeManifest(hidden).includes('1042'), false)
  assert.equal(hidden.figures.checks?.[0].answer.multisetHash, 'aa')
  assert.match(hidden.figures.checks![0].sqlSha256, /^[0-9a-f]{64}$/)
  const base = facts()
  const shown = buildManifest({ ...base, checks: { ...base.checks, showValues: true } }, POSTGRES_MANIFEST)
  assert.deepEqual(shown.figures.checks?.[0].answer.sample, ['(1042.50)'])
  // Counts only: no checksum method is claimed.
  const counts = buildManifest(
    {
      ...base,
      verify: 'counts',
      figures: [{ ...base.figures[0], figures: { rows: 2 } }, base.figures[1]]
    },
    POSTGRES_MANIFEST
  )
  assert.equal(counts.figures.methods.rowChecksum, null)
  assert.deepEqual(parseManifest(serializeManifest(counts), 'c.json', POSTGRES_MANIFEST), counts)
})

test('the manifest’s figures compare with a restored copy through the existing comparison code', () => {
  const figures = manifestFigures(
    parseManifest(serializeManifest(buildManifest(facts(), POSTGRES_MANIFEST)), 'm.json', POSTGRES_MANIFEST)
  )
  const same = compareTables(figures.figures, [
    { schema: 'public', name: 'orders', figures: { rows: 2, checksum: '2-abc' } },
    { schema: 'public', name: 'totals', figures: {}, derived: true }
  ])
  assert.equal(
    same.every(table => table.match),
    true
  )
  const changed = compareTables(figures.figures, [
    { schema: 'public', name: 'orders', figures: { rows: 2, checksum: '2-abd' } },
    { schema: 'public', name: 'totals', figures: {}, derived: true }
  ])
  assert.equal(changed[0].difference, 'content checksum differs')
  assert.equal(figures.tables[0].columns.length, 2)
  assert.deepEqual(figures.database, { encoding: 'UTF8', collate: 'C', ctype: 'C' })
  assert.equal(figures.sequencesAfter[0].lastValue, '3')
})

test('invalid manifests are refused with one line naming the field', () => {
  const good = JSON.parse(serializeManifest(buildManifest(facts(), POSTGRES_MANIFEST))) as Record<string, any>
  const cases: [string, (m: Record<string, any>) => void, RegExp][] = [
    ['kind', m => (m.kind = 'something'), /not a Lazarus manifest: its field 'kind'/],
    ['newer version', m => (m.version = 2), /has version 2, which this Lazarus \(manifest version 1\) cannot read/],
    ['database', m => delete m.production.database, /field 'production\.database' must be a string \(it is missing\)/],
    ['rows', m => (m.figures.tables[0].figures.rows = '2'), /field 'figures\.tables\[0\]\.figures\.rows' must be a whole number/],
    ['format', m => (m.dump.format = 'tar'), /field 'dump\.format' must be one of custom, directory, plain \(it is "tar"\)/],
    ['sha', m => (m.files[0].sha256 = 'XYZ'), /field 'files\[0\]\.sha256' must be 64 lowercase hex digits/],
    ['path', m => (m.files[0].path = '../etc/passwd'), /field 'files\[0\]\.path' must be a relative path/],
    ['no files', m => (m.files = []), /field 'files' lists no file/],
    ['checksum', m => delete m.figures.tables[0].figures.checksum, /figures\.tables\[0\]\.figures\.checksum' is missing/],
    ['hashing', m => (m.figures.tables[0].columns[0].hashing = 'md5'), /columns\[0\]\.hashing' must be one of/],
    ['sequence', m => (m.figures.sequences.after[0].isCalled = 'yes'), /sequences\.after\[0\]\.isCalled' must be true or false/],
    ['schema', m => (m.figures.schema = {}), /field 'figures\.schema' must be an array \(it is an object\)/],
    ['check', m => (m.figures.checks[0].answer.rows = -1), /checks\[0\]\.answer\.rows' must be a whole number, 0 or more/]
  ]
  for (const [name, edit, message] of cases) {
    const copy = structuredClone(good)
    edit(copy)
    assert.throws(
      () => parseManifest(JSON.stringify(copy), 'backups/lazarus-manifest.json', POSTGRES_MANIFEST),
      (error: Error) => {
        assert.ok(error instanceof UserError, name)
        assert.match(error.message, message, name)
        assert.match(error.message, /backups\/lazarus-manifest\.json/, name)
        assert.equal(error.message.includes('\n'), false, name)
        return true
      },
      name
    )
  }
  assert.throws(
    () => parseManifest('{"kind": "lazarus-manifest", ', 'x.json', POSTGRES_MANIFEST),
    /The manifest x\.json is not valid JSON/
  )
})

test('a signed manifest verifies; unsigned, other-key and tampered manifests are refused', () => {
  const { privateKey, publicKey } = keys()
  const signed = signManifest(buildManifest(facts(), POSTGRES_MANIFEST), readSigningKey(pem(privateKey, 'pkcs8')))
  assert.equal(signed.signature?.algorithm, 'ed25519')
  const reread = parseManifest(serializeManifest(signed), 'm.json', POSTGRES_MANIFEST)
  const verifyKey = readVerifyKey(pem(publicKey, 'spki'))
  assertSignedBy(reread, verifyKey, 'm.json')
  // The private key never enters the manifest.
  const secret = pem(privateKey, 'pkcs8')
  const body = secret.split('\n').filter(line => line && !line.startsWith('-----'))
  for (const line of body) assert.equal(serializeManifest(signed).includes(line), false)

  assert.throws(
    () => assertSignedBy(buildManifest(facts(), POSTGRES_MANIFEST), verifyKey, 'm.json'),
    /m\.json is not signed, but 'verify-key' is set/
  )
  const other = keys()
  assert.throws(() => assertSignedBy(reread, readVerifyKey(pem(other.publicKey, 'spki')), 'm.json'), /signed by another key/)
  const tampered = structuredClone(reread)
  tampered.figures.tables[0].figures.rows = 3
  assert.throws(
    () => assertSignedBy(tampered, verifyKey, 'm.json'),
    /does not match its signature: it was changed after it was signed/
  )
  const forged = structuredClone(reread)
  forged.signature!.value = Buffer.from('x'.repeat(64)).toString('base64')
  assert.throws(() => assertSignedBy(forged, verifyKey, 'm.json'), /does not match its signature/)
  // Re-signing with the right key makes the changed manifest valid again (what a test key does in the acceptance test).
  assertSignedBy(signManifest(tampered, readSigningKey(pem(privateKey, 'pkcs8'))), verifyKey, 'm.json')
})

test('keys: PEM with escaped line breaks is read; wrong kinds of key are one clear line', () => {
  const { privateKey, publicKey } = keys()
  const escaped = pem(privateKey, 'pkcs8').trim().replace(/\n/g, '\\n')
  assert.equal(readSigningKey(escaped).asymmetricKeyType, 'ed25519')
  assert.throws(() => readSigningKey('not a key'), /Input 'signing-key' is not a private key in PEM/)
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 })
  assert.throws(
    () => readSigningKey(pem(rsa.privateKey, 'pkcs8')),
    /Input 'signing-key' is a rsa key: Lazarus signs manifests with Ed25519 only/
  )
  assert.throws(() => readVerifyKey(pem(privateKey, 'pkcs8')), /Input 'verify-key' holds a private key/)
  assert.throws(() => readVerifyKey(pem(rsa.publicKey, 'spki')), /Input 'verify-key' is a rsa key/)
  assert.throws(() => readVerifyKey('garbage'), /Input 'verify-key' is not a public key in PEM/)
  // The error never quotes the key.
  try {
    readSigningKey(pem(rsa.privateKey, 'pkcs8'))
  } catch (error) {
    assert.equal((error as Error).message.includes('PRIVATE KEY-----\n'), false)
  }
  assert.equal(readVerifyKey(pem(publicKey, 'spki')).type, 'public')
})

test('files: sha256 streamed; every file of a directory backup; changes, missing and extra files found', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lazarus-manifest-'))
  try {
    const file = path.join(dir, 'shop.dump')
    fs.writeFileSync(file, 'abc')
    assert.equal(await sha256File(file), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    // Larger than one read, and not a whole number of reads: every piece is hashed, each only once.
    const large = path.join(dir, 'large.bin')
    const bytes = randomBytes(3 * 1024 * 1024 + 12345)
    fs.writeFileSync(large, bytes)
    assert.equal(await sha256File(large), createHash('sha256').update(bytes).digest('hex'))
    fs.writeFileSync(large, '')
    assert.equal(await sha256File(large), createHash('sha256').digest('hex'))
    fs.rmSync(large)
    const single = buildManifest(facts({ files: await hashBackup(file) }), POSTGRES_MANIFEST)
    assert.deepEqual(single.files, [
      { path: 'shop.dump', bytes: 3, sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad' }
    ])
    assert.deepEqual(await checkBackupFiles(single, file), [])
    fs.writeFileSync(file, 'abd')
    const [changed] = await checkBackupFiles(single, file)
    assert.equal(changed.problem, 'sha256')
    assert.match(describeFileProblem(changed), /^shop\.dump: sha256 [0-9a-f]{64}, the manifest says ba7816/)
    fs.writeFileSync(file, 'abcd')
    assert.equal((await checkBackupFiles(single, file))[0].problem, 'size')

    const backup = path.join(dir, 'shop.dir')
    fs.mkdirSync(path.join(backup, 'sub'), { recursive: true })
    fs.writeFileSync(path.join(backup, 'toc.dat'), 'toc')
    fs.writeFileSync(path.join(backup, '3001.dat.gz'), 'data')
    fs.writeFileSync(path.join(backup, 'sub', 'x'), 'x')
    const directory = buildManifest(facts({ files: await hashBackup(backup) }), POSTGRES_MANIFEST)
    assert.deepEqual(
      directory.files.map(entry => entry.path),
      ['3001.dat.gz', 'sub/x', 'toc.dat']
    )
    assert.deepEqual(await checkBackupFiles(directory, backup), [])
    fs.rmSync(path.join(backup, 'toc.dat'))
    fs.writeFileSync(path.join(backup, 'stray.dat'), '')
    assert.deepEqual(
      (await checkBackupFiles(directory, backup)).map(problem => `${problem.path} ${problem.problem}`),
      ['toc.dat missing', 'stray.dat extra']
    )
    assert.equal(manifestBeside(backup), path.join(dir, MANIFEST_FILE))
    assert.equal(manifestBeside(file), path.join(dir, MANIFEST_FILE))
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('the signature covers every member the verifier reads, a `__proto__` key included', () => {
  const { privateKey, publicKey } = keys()
  const signed = signManifest(buildManifest(facts(), POSTGRES_MANIFEST), readSigningKey(pem(privateKey, 'pkcs8')))
  const verifyKey = readVerifyKey(pem(publicKey, 'spki'))
  // JSON.parse makes `__proto__` an own member; an added one must break the signature like any other.
  const text = serializeManifest(signed).replace('"figures": {', '"figures": {\n    "__proto__": {"injected": true},')
  const smuggled = parseManifest(text, 'm.json', POSTGRES_MANIFEST)
  assert.ok(Object.keys(smuggled.figures).includes('__proto__'))
  assert.throws(() => assertSignedBy(smuggled, verifyKey, 'm.json'), /does not match its signature/)
  assert.match(canonicalJson(JSON.parse('{"b":1,"__proto__":{"x":2}}')), /"__proto__":\{"x":2\}/)
})

test('a manifest listing a file twice is refused', () => {
  const twice = buildManifest(facts({ files: [{ path: 'shop.dump', bytes: 3, sha256: 'a'.repeat(64) }] }), POSTGRES_MANIFEST)
  twice.files.push({ ...twice.files[0], sha256: 'b'.repeat(64) })
  assert.throws(
    () => parseManifest(serializeManifest(twice), 'm.json', POSTGRES_MANIFEST),
    /field 'files\[1\]\.path' lists "shop\.dump" a second time/
  )
})

test("files: a backup's files are exactly the regular files listed; links, other files and another shape are found", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lazarus-manifest-'))
  try {
    const backup = path.join(dir, 'shop.dir')
    fs.mkdirSync(backup)
    fs.writeFileSync(path.join(backup, 'toc.dat'), 'toc')
    fs.writeFileSync(path.join(backup, '3001.dat.gz'), 'data')
    const directory = buildManifest(facts({ files: await hashBackup(backup) }), POSTGRES_MANIFEST)
    const problems = async () =>
      (await checkBackupFiles(directory, backup)).map(problem =>
        `${problem.path} ${problem.problem} ${problem.actual ?? ''}`.trim()
      )
    assert.deepEqual(await problems(), [])
    // pg_restore reads 3001.dat before 3001.dat.gz: a link there, to anywhere, is not the backup's.
    const outside = path.join(dir, 'elsewhere.dat')
    fs.writeFileSync(outside, 'forged')
    fs.symlinkSync(outside, path.join(backup, '3001.dat'))
    assert.deepEqual(await problems(), ['3001.dat not a file a symbolic link'])
    assert.match(
      describeFileProblem((await checkBackupFiles(directory, backup))[0]),
      /^3001\.dat: a symbolic link, where the manifest allows only/
    )
    fs.rmSync(path.join(backup, '3001.dat'))
    // A listed file that is a link, even to its own bytes; a link to a directory is not walked into.
    fs.renameSync(path.join(backup, 'toc.dat'), path.join(dir, 'toc.dat'))
    fs.symlinkSync(path.join(dir, 'toc.dat'), path.join(backup, 'toc.dat'))
    fs.symlinkSync(dir, path.join(backup, 'sub'))
    assert.deepEqual(await problems(), ['toc.dat not a file a symbolic link', 'sub not a file a symbolic link'])
    fs.rmSync(path.join(backup, 'toc.dat'))
    fs.rmSync(path.join(backup, 'sub'))
    fs.renameSync(path.join(dir, 'toc.dat'), path.join(backup, 'toc.dat'))
    execFileSync('mkfifo', [path.join(backup, '3002.dat')])
    assert.deepEqual(await problems(), ['3002.dat not a file not a regular file'])
    fs.rmSync(path.join(backup, '3002.dat'))
    assert.deepEqual(await problems(), [])

    // A single file where the manifest lists a directory's files (all intact beside it) is not that backup.
    const single = path.join(backup, 'other.dump')
    fs.writeFileSync(single, 'PGDMP')
    assert.deepEqual(await checkBackupFiles(directory, single), [{ path: 'other.dump', problem: 'files', expected: '2' }])
    assert.match(
      describeFileProblem((await checkBackupFiles(directory, single))[0]),
      /^other\.dump: one file, but the manifest lists 2 \(the files of a directory backup\)$/
    )
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test("a backup's format is the manifest's", () => {
  const custom = buildManifest(facts(), POSTGRES_MANIFEST)
  assert.equal(formatProblem(custom, { path: '/x/shop.dump', format: 'custom', gzip: false }), undefined)
  const problem = formatProblem(custom, { path: '/x/shop.dir', format: 'directory', gzip: false })
  assert.match(describeFileProblem(problem!), /^shop\.dir: a directory archive, but the manifest describes a custom backup$/)
  const plain = buildManifest(facts({ dump: { ...facts().dump, format: 'plain', compression: 'none' } }), POSTGRES_MANIFEST)
  assert.equal(formatProblem(plain, { path: 'shop.sql', format: 'plain', gzip: false }), undefined)
  assert.match(
    describeFileProblem(formatProblem(plain, { path: 'shop.sql.gz', format: 'plain', gzip: true })!),
    /gzip-compressed plain SQL, but the manifest describes a plain backup/
  )
  assert.ok(formatProblem(plain, { path: 'shop.tar', format: 'tar', gzip: false }))
})

test('the manifest keeps its format: a manifest written before restore points went through the engine is rebuilt byte for byte, and its signature verifies', () => {
  // test/fixtures/manifest-v1.json: these facts, signed, as the manifest code wrote them when its
  // PostgreSQL parts were its own (the key's public half beside it).
  const fixture = fs.readFileSync(new URL('../../fixtures/manifest-v1.json', import.meta.url), 'utf8')
  const verifyKey = readVerifyKey(fs.readFileSync(new URL('../../fixtures/manifest-v1.pub', import.meta.url), 'utf8'))
  const old = parseManifest(fixture, 'manifest-v1.json', POSTGRES_MANIFEST)
  assertSignedBy(old, verifyKey, 'manifest-v1.json')
  const { signature: _signature, ...unsigned } = old
  void _signature
  const rebuilt = buildManifest(facts({ lazarusVersion: '0.0.0-fixture' }), POSTGRES_MANIFEST)
  assert.equal(serializeManifest(rebuilt), serializeManifest(unsigned as Manifest))
  assert.equal(old.dump.program, 'pg_dump')
  assert.equal(old.figures.pinnedSettings.TimeZone, 'UTC')
})

test('what only the engine knows comes from its profile: the program, pinned settings, formats, table kinds and hashings', () => {
  const profile = {
    program: 'other_dump',
    formats: ['sql'],
    pinnedSettings: [['time_zone', '+00:00']] as const,
    columnHashings: ['bytes'],
    tableKinds: ['BASE TABLE']
  }
  const manifest = buildManifest(
    facts({
      dump: { ...facts().dump, format: 'sql' },
      tables: [
        { schema: 'shop', name: 'orders', kind: 'BASE TABLE', populated: true, columns: [{ name: 'id', hashing: 'bytes' }] }
      ],
      figures: [{ schema: 'shop', name: 'orders', figures: { rows: 2, checksum: '2-abc' } }]
    }),
    profile
  )
  assert.equal(manifest.dump.program, 'other_dump')
  assert.deepEqual(manifest.figures.pinnedSettings, { time_zone: '+00:00' })
  assert.deepEqual(parseManifest(serializeManifest(manifest), 'o.json', profile), manifest)
  // Each engine's manifest is read against its own profile, one line naming the field.
  assert.throws(
    () => parseManifest(serializeManifest(manifest), 'o.json', POSTGRES_MANIFEST),
    /field 'dump\.program' must be one of pg_dump \(it is "other_dump"\)/
  )
  const postgres = serializeManifest(buildManifest(facts(), POSTGRES_MANIFEST))
  assert.throws(() => parseManifest(postgres, 'p.json', profile), /field 'dump\.program' must be one of other_dump/)
  assert.throws(
    () => parseManifest(postgres, 'p.json', { ...profile, program: 'pg_dump', formats: ['custom'] }),
    /field 'figures\.tables\[0\]\.kind' must be one of BASE TABLE \(it is "r"\)/
  )
})
