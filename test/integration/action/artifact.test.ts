import { after, afterEach, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { inflateRawSync } from 'node:zlib'
import { defaultArtifactName, jobRunId, uploadArtifacts } from '../../../src/action/artifact.js'
import { actionsCacheHistoryStore, databaseId, historyRun, trackRun } from '../../../src/report/history.js'
import { parseManifest } from '../../../src/report/manifest.js'
import type { Report } from '../../../src/report/report.js'
import { capturingStdout } from '../../support/capture-stdout.js'
import { runAction } from '../../support/run-action.js'
import { createShop } from '../../support/shop.js'
import { POSTGRES_MANIFEST } from '../../../src/engines/postgres/restore-points.js'

// The real @actions/artifact client (Twirp calls through @actions/http-client, the zip through
// archiver, the upload through @azure/storage-blob), with only the network faked: a local server
// that speaks just enough of the results service's ArtifactService and of Azure block blobs.
// The run history's Actions cache lives behind the same results service, so its round trip
// through the real @actions/cache client (tar, zstd, CacheService) is exercised here too.

const TWIRP = '/twirp/github.actions.results.api.v1.'
const RUN_ID = 'b6b5a3de-1d0e-4a0c-8f0b-1c2d3e4f5a6b'
const JOB_ID = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0'

interface FakeArtifact {
  create: Record<string, unknown>
  finalize?: Record<string, unknown>
  blob?: Buffer
  contentType?: string
}

interface FakeCacheEntry {
  key: string
  version: string
  finalized: boolean
}

interface FakeBlob {
  blocks: Map<string, Buffer>
  data?: Buffer
  contentType?: string
}

/**
 * The fake results service (ACTIONS_RESULTS_URL): the ArtifactService and the CacheService, and
 * the Azure block-blob endpoint their signed URLs point to. It records what it received.
 */
class FakeResultsService {
  readonly artifacts = new Map<string, FakeArtifact>()
  /** Cache entries in the order they were created: the newest last. */
  readonly caches: FakeCacheEntry[] = []
  readonly requests: string[] = []
  readonly blobs = new Map<string, FakeBlob>()
  authorization = new Set<string>()
  failCreate = false
  private server = http.createServer((request, response) => void this.handle(request, response))
  url = ''

  async start(): Promise<void> {
    await new Promise<void>(resolve => this.server.listen(0, '127.0.0.1', resolve))
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections()
    await new Promise(resolve => this.server.close(resolve))
  }

  reset(): void {
    this.artifacts.clear()
    this.caches.length = 0
    this.blobs.clear()
    this.requests.length = 0
    this.authorization.clear()
    this.failCreate = false
  }

  private async handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const chunk of request) chunks.push(chunk as Buffer)
    const body = Buffer.concat(chunks)
    const url = new URL(request.url ?? '/', this.url)
    this.requests.push(
      `${request.method} ${url.pathname}${url.searchParams.get('comp') ? `?comp=${url.searchParams.get('comp')}` : ''}`
    )
    if (request.method === 'POST' && url.pathname.startsWith(TWIRP)) {
      this.authorization.add(request.headers.authorization ?? '')
      const [service, method] = url.pathname.slice(TWIRP.length).split('/')
      const reply = (status: number, json: unknown): void => {
        response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json))
      }
      const payload = JSON.parse(body.toString('utf8')) as Record<string, unknown>
      return service === 'ArtifactService'
        ? this.artifactService(method, payload, reply)
        : this.cacheService(method, payload, reply)
    }
    if (url.pathname.startsWith('/devstoreaccount1/')) return this.blob(url, request, body, response)
    response.writeHead(404).end()
  }

  private signedUrl(container: string, name: string): string {
    return `${this.url}/devstoreaccount1/${container}/${encodeURIComponent(name)}?sig=fake-signature&se=2099-01-01`
  }

  private blobAt(container: string, name: string): FakeBlob | undefined {
    return this.blobs.get(`/devstoreaccount1/${container}/${encodeURIComponent(name)}`)
  }

  private artifactService(method: string, body: Record<string, unknown>, reply: (status: number, json: unknown) => void): void {
    const name = String(body.name)
    if (method === 'CreateArtifact') {
      if (this.failCreate) return reply(400, { code: 'invalid_argument', msg: 'artifact name already taken' })
      this.artifacts.set(name, { create: body })
      this.blobs.set(new URL(this.signedUrl('artifacts', `${name}.zip`)).pathname, { blocks: new Map() })
      return reply(200, { ok: true, signed_upload_url: this.signedUrl('artifacts', `${name}.zip`) })
    }
    if (method === 'FinalizeArtifact') {
      const artifact = this.artifacts.get(name)
      const blob = this.blobAt('artifacts', `${name}.zip`)
      if (!artifact || !blob?.data) return reply(404, { code: 'not_found', msg: 'no upload for this artifact' })
      Object.assign(artifact, { finalize: body, blob: blob.data, contentType: blob.contentType })
      return reply(200, { ok: true, artifact_id: String(1000 + this.artifacts.size) })
    }
    reply(404, { code: 'bad_route', msg: method })
  }

  /** Keys are immutable; a restore takes the exact key, else the newest entry matching a restore-key prefix. */
  private cacheService(method: string, body: Record<string, unknown>, reply: (status: number, json: unknown) => void): void {
    const key = String(body.key)
    const version = String(body.version)
    if (method === 'CreateCacheEntry') {
      if (this.caches.some(entry => entry.key === key && entry.version === version))
        return reply(200, { ok: false, message: 'entry exists' })
      this.caches.push({ key, version, finalized: false })
      this.blobs.set(new URL(this.signedUrl('caches', key)).pathname, { blocks: new Map() })
      return reply(200, { ok: true, signed_upload_url: this.signedUrl('caches', key) })
    }
    if (method === 'FinalizeCacheEntryUpload') {
      const entry = this.caches.find(candidate => candidate.key === key && candidate.version === version)
      if (!entry || !this.blobAt('caches', key)?.data) return reply(200, { ok: false, message: 'nothing uploaded' })
      entry.finalized = true
      return reply(200, { ok: true, entry_id: String(this.caches.indexOf(entry) + 1) })
    }
    if (method === 'GetCacheEntryDownloadURL') {
      const usable = this.caches.filter(entry => entry.finalized && entry.version === version).reverse()
      const restoreKeys = (body.restore_keys as string[] | undefined) ?? []
      const hit =
        usable.find(entry => entry.key === key) ??
        restoreKeys.map(prefix => usable.find(entry => entry.key.startsWith(prefix))).find(Boolean)
      if (!hit) return reply(200, { ok: false })
      return reply(200, { ok: true, signed_download_url: this.signedUrl('caches', hit.key), matched_key: hit.key })
    }
    reply(404, { code: 'bad_route', msg: method })
  }

  /** Azure Put Block, Put Block List and Put Blob (what the clients upload with), and Get Blob. */
  private blob(url: URL, request: http.IncomingMessage, body: Buffer, response: http.ServerResponse): void {
    const blob = this.blobs.get(url.pathname)
    if (!blob || url.searchParams.get('sig') !== 'fake-signature') return void response.writeHead(403).end()
    if (request.method === 'GET') {
      if (!blob.data) return void response.writeHead(404).end()
      return void response
        .writeHead(200, { 'content-length': blob.data.length, 'content-type': 'application/octet-stream' })
        .end(blob.data)
    }
    if (request.method !== 'PUT') return void response.writeHead(405).end()
    const comp = url.searchParams.get('comp')
    if (comp === 'block') {
      blob.blocks.set(url.searchParams.get('blockid') ?? '', body)
    } else if (comp === 'blocklist') {
      const ids = [...body.toString('utf8').matchAll(/<(?:Latest|Committed|Uncommitted)>([^<]*)<\//g)].map(match => match[1])
      blob.data = Buffer.concat(ids.map(id => blob.blocks.get(id) ?? Buffer.alloc(0)))
      blob.contentType = String(request.headers['x-ms-blob-content-type'] ?? '')
    } else {
      blob.data = body
      blob.contentType = String(request.headers['x-ms-blob-content-type'] ?? '')
    }
    response
      .writeHead(201, { etag: '"0x1"', 'last-modified': new Date().toUTCString(), 'x-ms-request-server-encrypted': 'true' })
      .end()
  }
}

/** The files in a zip, read from its central directory (archiver streams, so local headers lack sizes). */
function unzip(zip: Buffer): Map<string, Buffer> {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]))
  assert.ok(end >= 0, 'a zip has an end-of-central-directory record')
  const entries = zip.readUInt16LE(end + 10)
  let offset = zip.readUInt32LE(end + 16)
  const files = new Map<string, Buffer>()
  for (let index = 0; index < entries; index++) {
    assert.equal(zip.readUInt32LE(offset), 0x02014b50, 'central directory entry')
    const method = zip.readUInt16LE(offset + 10)
    const compressedSize = zip.readUInt32LE(offset + 20)
    const nameLength = zip.readUInt16LE(offset + 28)
    const extraLength = zip.readUInt16LE(offset + 30)
    const commentLength = zip.readUInt16LE(offset + 32)
    const localHeader = zip.readUInt32LE(offset + 42)
    const name = zip.toString('utf8', offset + 46, offset + 46 + nameLength)
    const dataStart = localHeader + 30 + zip.readUInt16LE(localHeader + 26) + zip.readUInt16LE(localHeader + 28)
    const data = zip.subarray(dataStart, dataStart + compressedSize)
    files.set(name, method === 8 ? inflateRawSync(data) : Buffer.from(data))
    offset += 46 + nameLength + extraLength + commentLength
  }
  return files
}

function runtimeToken(runId = RUN_ID, jobId = JOB_ID): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ scp: `Actions.GenericRead:0 Actions.Results:${runId}:${jobId}`, exp: 4102444800 })}.c2lnbmF0dXJl`
}

const service = new FakeResultsService()
const savedEnv = { ...process.env }
let reportDir: string

before(async () => {
  await service.start()
  reportDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lazarus-artifact-test-'))
  fs.writeFileSync(
    path.join(reportDir, 'report.json'),
    JSON.stringify({ result: 'verified', tables: [{ name: 'orders' }] }) + '\n'
  )
  fs.writeFileSync(path.join(reportDir, 'summary.html'), '<h2>✅ Lazarus: verified</h2>\n')
})

afterEach(() => {
  service.reset()
  for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key]
  Object.assign(process.env, savedEnv)
})

after(async () => {
  await service.stop()
  fs.rmSync(reportDir, { recursive: true, force: true })
})

/** The environment a workflow step sees, pointing at the fake service. */
function insideActions(): void {
  for (const key of ['GITHUB_RETENTION_DAYS', 'GITHUB_SERVER_URL', 'ACTIONS_ARTIFACT_UPLOAD_CONCURRENCY']) delete process.env[key]
  process.env.ACTIONS_RUNTIME_TOKEN = runtimeToken()
  process.env.ACTIONS_RESULTS_URL = `${service.url}/`
}

function reportUpload(extra: { dumpPath?: string; retentionDays?: number } = {}) {
  return {
    name: 'lazarus-verify-shop-0123abcd',
    reportDir,
    reportFiles: [path.join(reportDir, 'report.json'), path.join(reportDir, 'summary.html')],
    ...extra
  }
}

test('the report goes up as one zip artifact with its name and retention', async () => {
  insideActions()
  const before = Date.now()
  const outcome = await uploadArtifacts(reportUpload({ retentionDays: 7 }))
  assert.deepEqual(
    outcome.uploaded.map(artifact => artifact.name),
    ['lazarus-verify-shop-0123abcd']
  )
  assert.equal(outcome.uploaded[0].id, 1001, 'the id FinalizeArtifact returned')

  const artifact = service.artifacts.get('lazarus-verify-shop-0123abcd')
  assert.ok(artifact, `CreateArtifact received the name; requests: ${service.requests.join(', ')}`)
  assert.deepEqual([...service.authorization], [`Bearer ${runtimeToken()}`])
  assert.equal(artifact.create.workflow_run_backend_id, RUN_ID)
  assert.equal(artifact.create.workflow_job_run_backend_id, JOB_ID)
  const expiresAt = Date.parse(String(artifact.create.expires_at))
  const week = 7 * 24 * 3600 * 1000
  assert.ok(
    expiresAt >= before + week - 2 * 3600 * 1000 && expiresAt <= Date.now() + week + 2 * 3600 * 1000,
    `expires_at ${artifact.create.expires_at}`
  )

  assert.ok(artifact.blob && artifact.blob.length > 0, 'the blob was uploaded')
  assert.equal(artifact.contentType, 'application/zip')
  const files = unzip(artifact.blob)
  assert.deepEqual([...files.keys()].sort(), ['report.json', 'summary.html'])
  assert.deepEqual(JSON.parse(files.get('report.json')!.toString('utf8')), { result: 'verified', tables: [{ name: 'orders' }] })
  assert.match(files.get('summary.html')!.toString('utf8'), /Lazarus: verified/)

  assert.equal(artifact.finalize?.size, String(artifact.blob.length))
  assert.equal(artifact.finalize?.hash, `sha256:${createHash('sha256').update(artifact.blob).digest('hex')}`)
  assert.ok(!service.artifacts.has('lazarus-verify-shop-0123abcd-dump'), 'no dump unless asked')
})

test('without a retention the repository default applies; the dump goes up only when asked, with a warning', async () => {
  insideActions()
  const dumpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lazarus-artifact-dump-'))
  try {
    const dumpPath = path.join(dumpDir, 'backup.sql')
    fs.writeFileSync(dumpPath, 'COPY public.orders (id) FROM stdin;\n1\n\\.\n')
    const { value: outcome, output } = await capturingStdout(() => uploadArtifacts(reportUpload({ dumpPath })))
    assert.deepEqual(
      outcome.uploaded.map(artifact => artifact.name),
      ['lazarus-verify-shop-0123abcd', 'lazarus-verify-shop-0123abcd-dump']
    )
    assert.match(
      output,
      /::warning title=Lazarus%3A production data uploaded::Uploading the dump as artifact lazarus-verify-shop-0123abcd-dump: it holds production data/
    )
    const report = service.artifacts.get('lazarus-verify-shop-0123abcd')!
    assert.equal(report.create.expires_at, undefined)
    const dump = unzip(service.artifacts.get('lazarus-verify-shop-0123abcd-dump')!.blob!)
    assert.deepEqual([...dump.keys()], ['backup.sql'])
    assert.match(dump.get('backup.sql')!.toString('utf8'), /^COPY public\.orders/)
  } finally {
    fs.rmSync(dumpDir, { recursive: true, force: true })
  }
})

test('a refused upload is a warning, never an error', async () => {
  insideActions()
  service.failCreate = true
  const { value: outcome, output } = await capturingStdout(() => uploadArtifacts(reportUpload()))
  assert.deepEqual(outcome.uploaded, [])
  assert.match(output, /::warning::Could not upload the report as an artifact: .*artifact name already taken/)
})

test('outside Actions the upload is skipped with one notice and no request', async () => {
  delete process.env.ACTIONS_RUNTIME_TOKEN
  process.env.ACTIONS_RESULTS_URL = `${service.url}/`
  const { value: outcome, output } = await capturingStdout(() =>
    uploadArtifacts(reportUpload({ dumpPath: path.join(reportDir, 'report.json') }))
  )
  assert.equal(outcome.skipped, 'no Actions runtime token')
  assert.equal(output.match(/^::notice::/gm)?.length, 1, output)
  assert.match(output, /Not running inside GitHub Actions: report kept at .*report\.json, not uploaded as an artifact\./)
  assert.deepEqual(service.requests, [])
})

test('the default name is the same for one step of one job run, and differs across steps, matrix legs and databases', () => {
  const databases = (database: string, host = 'db.internal') => ({
    production: { host, port: 5432, database },
    cleanroom: { host: 'localhost', port: 5433 }
  })
  const env = {
    ACTIONS_RUNTIME_TOKEN: runtimeToken(),
    GITHUB_JOB: 'verify',
    GITHUB_ACTION: '__owner_lazarus',
    RUNNER_NAME: 'GitHub Actions 3'
  }
  const name = defaultArtifactName(env, databases('shop'))
  assert.match(name, /^lazarus-verify-shop-[0-9a-f]{8}$/)
  assert.equal(defaultArtifactName({ ...env }, databases('shop')), name, 'deterministic')
  const others = [
    defaultArtifactName({ ...env, ACTIONS_RUNTIME_TOKEN: runtimeToken(RUN_ID, 'another-matrix-leg') }, databases('shop')),
    defaultArtifactName({ ...env, GITHUB_ACTION: '__owner_lazarus_2' }, databases('shop')),
    defaultArtifactName(env, databases('billing')),
    defaultArtifactName(env, databases('shop', 'replica.internal'))
  ]
  assert.equal(new Set([name, ...others]).size, 5, others.join(', '))
  assert.equal(jobRunId(runtimeToken()), JOB_ID)
  assert.equal(jobRunId('not-a-jwt'), undefined)

  const odd = defaultArtifactName({}, databases('a/b: "c" ü'))
  assert.match(odd, /^lazarus-job-a-b---c--_-[0-9a-f]{8}$/)
})

test('the run history round-trips through the Actions cache, each run saving a new entry the next one restores', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lazarus-cache-test-'))
  try {
    insideActions()
    const runnerTemp = path.join(root, 'temp')
    fs.mkdirSync(runnerTemp)
    fs.mkdirSync(path.join(root, 'workspace'))
    Object.assign(process.env, {
      ACTIONS_CACHE_SERVICE_V2: 'true',
      GITHUB_WORKSPACE: path.join(root, 'workspace'),
      RUNNER_TEMP: runnerTemp
    })
    const id = databaseId({ host: 'db.internal', port: 5432, database: 'shop' })
    const run = async (runId: string, restore: number) => {
      process.env.GITHUB_RUN_ID = runId
      const store = await actionsCacheHistoryStore(id, runnerTemp)
      assert.ok(store, 'inside Actions with a cache service there is a store')
      const report = {
        result: 'verified',
        tables: [],
        timings: { restore, total: restore + 2 },
        dumpBytes: 1000,
        startedAt: `2026-04-0${runId}T03:00:00Z`
      } as unknown as Report
      return capturingStdout(() => trackRun(store, historyRun(report), id))
    }

    const first = await run('1', 10)
    assert.deepEqual(
      first.value.history?.runs.map(entry => entry.restoreSeconds),
      [10]
    )
    assert.doesNotMatch(first.output, /::(warning|error|notice)::/, first.output)
    const second = await run('2', 11)
    assert.deepEqual(
      second.value.history?.runs.map(entry => entry.restoreSeconds),
      [10, 11],
      second.output
    )
    const third = await run('3', 12)
    assert.deepEqual(
      third.value.history?.runs.map(entry => entry.restoreSeconds),
      [10, 11, 12],
      'the newest entry was restored'
    )

    assert.equal(service.caches.length, 3, 'one immutable entry per run')
    for (const [index, entry] of service.caches.entries()) {
      assert.match(entry.key, new RegExp(`^lazarus-history-${id}-${index + 1}-1-[0-9a-z]+$`))
      assert.equal(entry.finalized, true)
    }
    assert.equal(new Set(service.caches.map(entry => entry.version)).size, 1, 'every run computes the same cache version')
    assert.match(third.output, new RegExp(`Cache hit for restore-key: lazarus-history-${id}-2-1-`))
  } finally {
    fs.rmSync(root, { recursive: true, force: true })
  }
})

test('the bundled action loads its artifact and cache clients when it needs them: report uploaded, history saved', async () => {
  // dist/ keeps those clients in chunks of their own, read only inside Actions: this runs them as users do.
  const { inputs } = await createShop('artifact')
  const run = await runAction(inputs(), {
    env: {
      ACTIONS_RUNTIME_TOKEN: runtimeToken(),
      ACTIONS_RESULTS_URL: `${service.url}/`,
      ACTIONS_CACHE_SERVICE_V2: 'true',
      GITHUB_RUN_ID: '41',
      GITHUB_RUN_ATTEMPT: '1'
    }
  })
  assert.equal(run.exitCode, 0, run.stdout + run.stderr)
  assert.equal(run.outputs.result, 'verified')
  assert.equal(service.artifacts.size, 1, run.stdout)
  const [[name, artifact]] = [...service.artifacts]
  assert.match(run.stdout, new RegExp(`Uploaded report as artifact ${name} `))
  const files = unzip(artifact.blob!)
  assert.deepEqual([...files.keys()].sort(), ['report.json', 'summary.html'])
  assert.equal(service.caches.length, 1, 'the run history was saved to the cache')
  assert.equal(service.caches[0].finalized, true)
})

test('matrix legs at one production address keep their artifacts and, with history-key, their histories apart', async () => {
  // Two legs of one matrix job, in one workflow run (each leg has its own job run id in its token),
  // reach production at the same host:port/database, as legs with service containers or tunnels do.
  const { inputs, production, database } = await createShop('legs')
  const leg = (jobRun: string, key: string) =>
    runAction(inputs({ 'history-key': key }), {
      env: {
        ACTIONS_RUNTIME_TOKEN: runtimeToken(RUN_ID, jobRun),
        ACTIONS_RESULTS_URL: `${service.url}/`,
        ACTIONS_CACHE_SERVICE_V2: 'true',
        GITHUB_JOB: 'verify',
        GITHUB_RUN_ID: '42',
        GITHUB_RUN_ATTEMPT: '1'
      }
    })
  const first = await leg('leg-one', 'billing')
  const second = await leg('leg-two', 'orders')
  for (const run of [first, second]) assert.equal(run.exitCode, 0, run.stdout + run.stderr)

  const names = [...service.artifacts.keys()]
  assert.equal(new Set(names).size, 2, `one artifact per leg: ${names.join(', ')}`)
  const prefixes = service.caches.map(entry => entry.key.replace(/-42-1-[0-9a-z]+$/, ''))
  const address = { host: production.host, port: production.port, database }
  assert.deepEqual(prefixes, [
    `lazarus-history-${databaseId(address, 'billing')}`,
    `lazarus-history-${databaseId(address, 'orders')}`
  ])
  assert.match(
    second.stdout,
    /No earlier runs of this database on record/,
    "the second leg did not restore the first leg's history"
  )
})

test('upload-dump uploads the restore point: the backup that was verified and its manifest, and keeps nothing', async () => {
  const { inputs } = await createShop('artifact_keep')
  for (const format of ['custom', 'directory'] as const) {
    service.reset()
    const run = await runAction(inputs({ 'upload-dump': 'true', 'backup-format': format }), {
      env: { ACTIONS_RUNTIME_TOKEN: runtimeToken(), ACTIONS_RESULTS_URL: `${service.url}/`, ACTIONS_CACHE_SERVICE_V2: 'true' }
    })
    assert.equal(run.exitCode, 0, run.stdout + run.stderr)
    assert.match(
      run.stdout,
      /::warning title=Lazarus%3A production data uploaded::Uploading the dump as artifact .*-dump: it holds production data/
    )
    const [name] = [...service.artifacts.keys()].filter(key => key.endsWith('-dump'))
    assert.ok(name, `a dump artifact was uploaded: ${[...service.artifacts.keys()].join(', ')}`)
    const files = unzip(service.artifacts.get(name)!.blob!)
    const manifest = parseManifest(
      files.get('lazarus-manifest.json')!.toString('utf8'),
      'the uploaded manifest',
      POSTGRES_MANIFEST
    )
    assert.equal(manifest.dump.format, format)
    assert.equal(manifest.verdict.result, 'verified')
    // Every file of the backup is in the artifact, as the manifest lists it, byte for byte.
    const prefix = [...files.keys()].find(file => file !== 'lazarus-manifest.json')!.split('/')[0]
    for (const file of manifest.files) {
      const content = files.get(format === 'directory' ? `${prefix}/${file.path}` : file.path)
      assert.ok(content, `${file.path} is in the artifact: ${[...files.keys()].join(', ')}`)
      assert.equal(createHash('sha256').update(content).digest('hex'), file.sha256, file.path)
    }
    assert.equal(files.size, manifest.files.length + 1)
    // Without backup-dir nothing outlives the run, and the outputs say nothing was kept.
    assert.equal(run.outputs['backup-path'], '')
    assert.deepEqual(
      fs
        .readdirSync(run.runnerTemp)
        .filter(entry => entry.startsWith('lazarus-') && fs.existsSync(path.join(run.runnerTemp, entry, 'work'))),
      []
    )
  }
})
