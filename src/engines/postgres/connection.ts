import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { UserError } from '../../util/errors.js'

/**
 * One server and database, described by Lazarus from the user's URI after vetting every
 * parameter in it. pg_dump, psql and Lazarus's own sessions all connect with this description
 * (never with the raw URI), so they cannot end up in different places: a parameter one of them
 * would honour and another ignore is refused here. The password is kept apart, so that the
 * description is safe to pass on a command line (which @actions/exec echoes) and to show.
 */
export interface ConnectionTarget {
  /** The input this came from, for error messages. */
  inputName: string
  /** A host name, an IP address, or a Unix socket directory (starting with '/'). */
  host: string
  port: number
  database: string
  user: string
  password?: string
  tls: TlsSettings
  /** libpq's `options` as the user gave it (command-line options sent at connection start). */
  options?: string
  applicationName: string
  connectTimeoutSeconds: number
  /** `target_session_attrs`: what the server must be; checked by libpq and by Lazarus's sessions alike. */
  targetSessionAttrs?: TargetSessionAttrs
  /**
   * Other vetted libpq parameters, passed to libpq as given: they tune the connection (TCP
   * keepalives, timeouts, fallbacks) without changing where it goes.
   */
  tuning: Record<string, string>
  /** Every form of the secret that could show up somewhere: register each with setSecret. */
  secrets: string[]
}

export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const
export type SslMode = (typeof SSL_MODES)[number]

const TARGET_SESSION_ATTRS = ['any', 'read-write', 'read-only', 'primary', 'standby', 'prefer-standby'] as const
export type TargetSessionAttrs = (typeof TARGET_SESSION_ATTRS)[number]

/** TLS as libpq means it; files are absolute paths that existed when the input was read. */
export interface TlsSettings {
  mode: SslMode
  /** CA certificate(s) the server's certificate must chain to (verify-ca, verify-full, and require when present). */
  rootCert?: string
  /** Client certificate and its private key, sent when the server asks for one. */
  cert?: string
  key?: string
  /** Certificate revocation list checked against the server's certificate. */
  crl?: string
  minProtocol?: string
  maxProtocol?: string
}

/** What libpq writes when a URI names no host: Debian's libpq looks in /var/run/postgresql. */
const DEFAULT_PORT = 5432
/** How long a client waits for a server to answer before giving up, in seconds, unless connect_timeout says otherwise. */
export const CONNECT_TIMEOUT_SECONDS = 10
/** libpq's default application_name for Lazarus's connections, so a DBA sees who is connected. */
const APPLICATION_NAME = 'lazarus'
const TLS_PROTOCOLS = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3']

type Decision = { accept: true } | { accept: false; why: string }

/**
 * Every libpq connection parameter (PostgreSQL 18's list, plus `ssl`, which libpq's URI parser
 * reads as sslmode=require), and what Lazarus does with it. docs/security.md's table lists the same.
 */
const PARAMETERS: Record<string, Decision> = {
  host: { accept: true },
  port: { accept: true },
  user: { accept: true },
  password: { accept: true },
  sslmode: { accept: true },
  ssl: { accept: true },
  sslrootcert: { accept: true },
  sslcert: { accept: true },
  sslkey: { accept: true },
  sslpassword: {
    accept: false,
    why: 'pg_dump and psql could only get it on their command line, which the log shows; use a key file without a passphrase (mode 0600)'
  },
  sslcrl: { accept: true },
  ssl_min_protocol_version: { accept: true },
  ssl_max_protocol_version: { accept: true },
  sslsni: { accept: true },
  sslcompression: { accept: true },
  options: { accept: true },
  application_name: { accept: true },
  fallback_application_name: { accept: true },
  connect_timeout: { accept: true },
  keepalives: { accept: true },
  keepalives_idle: { accept: true },
  keepalives_interval: { accept: true },
  keepalives_count: { accept: true },
  tcp_user_timeout: { accept: true },
  target_session_attrs: { accept: true },
  gssencmode: { accept: true },
  channel_binding: { accept: true },
  hostaddr: {
    accept: false,
    why:
      'it would make pg_dump and psql connect to that address while the host name is what Lazarus checked; ' +
      'put the address in the host instead (postgresql://user@10.0.0.5:5432/db)'
  },
  dbname: {
    accept: false,
    why: 'it would override the database in the URI path for some programs; name the database in the path only (…:5432/<database>)'
  },
  service: {
    accept: false,
    why: 'a service file can name another host and database than the URI; write the host, port and database into the URI'
  },
  passfile: {
    accept: false,
    why: 'give the password in the URI, in the matching -password input, or in PGPASSWORD (a secret)'
  },
  replication: { accept: false, why: 'Lazarus needs ordinary connections, not replication connections; remove it' },
  requirepeer: {
    accept: false,
    why: "Lazarus's own sessions cannot check a Unix socket's peer; remove it"
  },
  client_encoding: {
    accept: false,
    why: 'Lazarus reads and dumps in the encoding it chooses; remove it'
  },
  krbsrvname: { accept: false, why: 'GSSAPI/Kerberos authentication is not supported; use a password or a client certificate' },
  gsslib: { accept: false, why: 'GSSAPI/Kerberos authentication is not supported; use a password or a client certificate' },
  gssdelegation: {
    accept: false,
    why: 'GSSAPI/Kerberos authentication is not supported; use a password or a client certificate'
  },
  sslcrldir: { accept: false, why: 'give the revocation list as one file with sslcrl instead' },
  sslcertmode: { accept: false, why: 'not every client Lazarus runs (libpq before 16) knows it; remove it' },
  sslnegotiation: { accept: false, why: 'not every client Lazarus runs (libpq before 17) knows it; remove it' },
  require_auth: { accept: false, why: 'not every client Lazarus runs (libpq before 16) knows it; remove it' },
  load_balance_hosts: { accept: false, why: 'Lazarus connects to exactly one host; remove it' },
  sslkeylogfile: { accept: false, why: 'it would write TLS secrets to a file; remove it' },
  oauth_issuer: { accept: false, why: 'OAuth authentication is not supported; use a password or a client certificate' },
  oauth_client_id: { accept: false, why: 'OAuth authentication is not supported; use a password or a client certificate' },
  oauth_client_secret: { accept: false, why: 'OAuth authentication is not supported; use a password or a client certificate' },
  oauth_scope: { accept: false, why: 'OAuth authentication is not supported; use a password or a client certificate' },
  scram_client_key: { accept: false, why: 'give the password instead; remove it' },
  scram_server_key: { accept: false, why: 'give the password instead; remove it' },
  min_protocol_version: { accept: false, why: 'not every client Lazarus runs (libpq before 18) knows it; remove it' },
  max_protocol_version: { accept: false, why: 'not every client Lazarus runs (libpq before 18) knows it; remove it' }
}

/** Parameters passed to libpq as given: each is checked below for a value libpq accepts. */
const TUNING = [
  'fallback_application_name',
  'keepalives',
  'keepalives_idle',
  'keepalives_interval',
  'keepalives_count',
  'tcp_user_timeout',
  'sslsni',
  'sslcompression',
  'gssencmode',
  'channel_binding'
]

/**
 * Parses a libpq URI (postgresql://user:password@host:port/database?param=value&...) exactly as
 * libpq does (percent-decoding every part, `+` staying a plus), vets every parameter, and builds
 * the description every program connects with. A password from the URI wins over
 * `fallbackPassword` (the `*-password` input or PGPASSWORD). Throws a one-line UserError naming
 * the input, the parameter and the fix for anything Lazarus cannot honour alike everywhere.
 */
export function parseConnectionUrl(inputName: string, raw: string, fallbackPassword?: string): ConnectionTarget {
  const text = raw.trim()
  const uri = splitUri(inputName, text)
  const params = new Map<string, string>()
  const fail = (why: string) => new UserError(`Input '${inputName}' ${why}`)
  for (const [key, value] of uri.params) {
    const decision = Object.hasOwn(PARAMETERS, key) ? PARAMETERS[key] : undefined
    if (!decision) {
      throw fail(
        `has parameter '${key}', which libpq does not know: remove it (accepted: ${Object.keys(PARAMETERS)
          .filter(name => PARAMETERS[name].accept)
          .join(', ')}).`
      )
    }
    if (!decision.accept) throw fail(`has parameter '${key}', which Lazarus refuses: ${decision.why}.`)
    if (key === 'ssl') {
      // libpq's URI parser reads ssl=true (JDBC's spelling) as sslmode=require, and nothing else.
      if (value !== 'true') throw fail(`has ssl=${value}: libpq accepts only ssl=true (or use sslmode=...).`)
      params.set('sslmode', 'require')
      continue
    }
    params.set(key, value)
  }

  const host = params.get('host') ?? uri.host
  const portText = params.get('port') ?? uri.port
  if (host.includes(',') || portText.includes(',')) {
    throw fail(
      `names several hosts ('${host}'${portText ? `, ports '${portText}'` : ''}): Lazarus connects to exactly one server, ` +
        `checked before anything is dumped or restored; give one host and port.`
    )
  }
  const port = portText === '' ? DEFAULT_PORT : Number(portText)
  if (!/^\d+$/.test(portText || '0') || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw fail(`has an invalid port '${portText}'.`)
  }
  if (!uri.database || uri.database.includes('/')) {
    throw fail(`names no database: end the URI with /<database>, e.g. postgresql://host:5432/postgres.`)
  }

  const uriPassword = uri.password ?? params.get('password')
  const password = uriPassword || fallbackPassword || undefined
  const user = params.get('user') || uri.user || os.userInfo().username
  const tls = tlsSettings(inputName, params, host === '' || host.startsWith('/'))

  const tuning: Record<string, string> = {}
  for (const key of TUNING) {
    const value = params.get(key)
    if (value === undefined) continue
    checkTuning(inputName, key, value)
    tuning[key] = value
  }

  const secrets = new Set<string>()
  if (uriPassword) {
    secrets.add(text)
    for (const form of uri.passwordForms) secrets.add(form)
  }
  if (password) {
    secrets.add(password)
    secrets.add(encodeURIComponent(password))
  }
  return {
    inputName,
    host: host || defaultSocketDirectory(),
    port,
    database: uri.database,
    user,
    password,
    tls,
    options: params.get('options') || undefined,
    applicationName: params.get('application_name') || APPLICATION_NAME,
    connectTimeoutSeconds: connectTimeout(inputName, params.get('connect_timeout')),
    targetSessionAttrs: oneOf(inputName, 'target_session_attrs', params.get('target_session_attrs'), TARGET_SESSION_ATTRS),
    tuning,
    secrets: [...secrets].filter(secret => secret.length > 0)
  }
}

interface SplitUri {
  user?: string
  password?: string
  /** The password as it appeared in the input (percent-encoded), to mask that form too. */
  passwordForms: string[]
  host: string
  port: string
  database: string
  params: [string, string][]
}

/**
 * libpq's URI grammar (fe-connect.c, conninfo_uri_parse_options): userinfo up to the first '@'
 * before any '/', host specs (IPv6 in brackets) separated by commas, /dbname, then ?key=value&...
 * Every part is percent-decoded; '+' is a plus everywhere.
 */
function splitUri(inputName: string, text: string): SplitUri {
  const invalid = () =>
    new UserError(
      `Input '${inputName}' is not a valid URI: use postgresql://user@host:port/database ` +
        `(percent-encode special characters, or give the password in the matching -password input).`
    )
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(text)
  const prefix = /^postgres(?:ql)?:\/\//.exec(text)
  if (!prefix) {
    if (/^[A-Za-z_]+\s*=/.test(text)) {
      throw new UserError(
        `Input '${inputName}' is a key=value connection string: write it as a URI, postgresql://user@host:port/database?param=value.`
      )
    }
    if (!scheme) throw invalid()
    throw new UserError(`Input '${inputName}' must start with postgresql:// (got '${scheme[1]}://').`)
  }
  const decode = (part: string): string => {
    if (/%(?![0-9A-Fa-f]{2})|%00/.test(part)) throw invalid()
    try {
      return decodeURIComponent(part)
    } catch {
      throw invalid()
    }
  }
  let rest = text.slice(prefix[0].length)
  const passwordForms: string[] = []
  let user: string | undefined
  let password: string | undefined
  const userinfoEnd = rest.search(/[@/]/)
  if (userinfoEnd >= 0 && rest[userinfoEnd] === '@') {
    const userinfo = rest.slice(0, userinfoEnd)
    const colon = userinfo.indexOf(':')
    user = decode(colon >= 0 ? userinfo.slice(0, colon) : userinfo) || undefined
    if (colon >= 0) {
      passwordForms.push(userinfo.slice(colon + 1))
      password = decode(userinfo.slice(colon + 1)) || undefined
    }
    rest = rest.slice(userinfoEnd + 1)
  }
  const hostsEnd = rest.search(/[/?]/)
  const hostspec = hostsEnd >= 0 ? rest.slice(0, hostsEnd) : rest
  rest = hostsEnd >= 0 ? rest.slice(hostsEnd) : ''
  const hosts: string[] = []
  const ports: string[] = []
  for (const spec of hostspec === '' ? [''] : hostspec.split(',')) {
    const match = /^(\[[^\]]*\]|[^[\]:]*)(?::([^:]*))?$/.exec(spec)
    if (!match) throw invalid()
    hosts.push(decode(match[1].replace(/^\[(.*)\]$/, '$1')))
    ports.push(decode(match[2] ?? ''))
  }
  const queryStart = rest.indexOf('?')
  const pathPart = queryStart >= 0 ? rest.slice(0, queryStart) : rest
  const query = queryStart >= 0 ? rest.slice(queryStart + 1) : ''
  const database = decode(pathPart.replace(/^\//, ''))
  const params: [string, string][] = []
  for (const pair of query === '' ? [] : query.split('&')) {
    const equals = pair.indexOf('=')
    if (equals < 0 || pair.indexOf('=', equals + 1) >= 0) {
      throw new UserError(`Input '${inputName}' has a malformed parameter '${pair}': write each as name=value, joined by &.`)
    }
    const key = decode(pair.slice(0, equals))
    if (key === 'password') passwordForms.push(pair.slice(equals + 1))
    params.push([key, decode(pair.slice(equals + 1))])
  }
  return {
    user,
    password,
    passwordForms,
    host: hosts.join(','),
    port: ports.every(port => port === '') ? '' : ports.join(','),
    database,
    params
  }
}

/** The TLS settings, with libpq's defaults under ~/.postgresql made explicit (so every program uses the same files). */
function tlsSettings(inputName: string, params: Map<string, string>, unixSocket: boolean): TlsSettings {
  const mode = oneOf(inputName, 'sslmode', params.get('sslmode'), SSL_MODES) ?? 'prefer'
  const file = (key: string, defaultName: string): string | undefined => {
    const given = params.get(key)
    if (given === undefined || given === '') {
      // libpq reads these files from ~/.postgresql when present and not named otherwise.
      const fallback = path.join(os.homedir(), '.postgresql', defaultName)
      return fs.existsSync(fallback) ? fallback : undefined
    }
    if (key === 'sslrootcert' && given === 'system') {
      throw new UserError(
        `Input '${inputName}' has sslrootcert=system, which not every client Lazarus runs knows: ` +
          `give the CA bundle's path instead (e.g. sslrootcert=/etc/ssl/certs/ca-certificates.crt).`
      )
    }
    const absolute = path.resolve(given)
    if (!fs.existsSync(absolute) || !fs.statSync(absolute).isFile()) {
      throw new UserError(`Input '${inputName}' has ${key}=${given}, which is not a file: fix the path.`)
    }
    return absolute
  }
  const tls: TlsSettings = {
    mode: unixSocket ? 'disable' : mode,
    rootCert: file('sslrootcert', 'root.crt'),
    cert: file('sslcert', 'postgresql.crt'),
    key: file('sslkey', 'postgresql.key'),
    crl: file('sslcrl', 'root.crl'),
    minProtocol: oneOf(inputName, 'ssl_min_protocol_version', params.get('ssl_min_protocol_version'), TLS_PROTOCOLS),
    maxProtocol: oneOf(inputName, 'ssl_max_protocol_version', params.get('ssl_max_protocol_version'), TLS_PROTOCOLS)
  }
  if ((tls.mode === 'verify-ca' || tls.mode === 'verify-full') && !tls.rootCert) {
    throw new UserError(
      `Input '${inputName}' has sslmode=${tls.mode} but no CA certificate to verify the server with: ` +
        `add sslrootcert=<path to the CA certificate> (or put it in ~/.postgresql/root.crt).`
    )
  }
  if (tls.cert && !tls.key) {
    throw new UserError(
      `Input '${inputName}' has a client certificate (${tls.cert}) but no key: add sslkey=<path to its private key>.`
    )
  }
  if (tls.key) checkKeyPermissions(inputName, tls.key)
  return tls
}

/**
 * libpq refuses a private key that others may read (so pg_dump and psql would fail where a Node
 * session would not): the same rule, checked up front with the fix.
 */
function checkKeyPermissions(inputName: string, key: string): void {
  const stats = fs.statSync(key)
  const ownedByRoot = stats.uid === 0
  const tooOpen = ownedByRoot ? (stats.mode & 0o037) !== 0 : (stats.mode & 0o077) !== 0
  if (tooOpen) {
    throw new UserError(
      `Input '${inputName}' has sslkey=${key}, which others may read (mode ${(stats.mode & 0o777).toString(8)}): ` +
        `libpq refuses such a key; run chmod 600 on it.`
    )
  }
}

function oneOf<T extends string>(
  inputName: string,
  key: string,
  value: string | undefined,
  choices: readonly T[]
): T | undefined {
  if (value === undefined || value === '') return undefined
  if (!(choices as readonly string[]).includes(value)) {
    throw new UserError(`Input '${inputName}' has ${key}=${value}: use one of ${choices.join(', ')}.`)
  }
  return value as T
}

function connectTimeout(inputName: string, value: string | undefined): number {
  if (value === undefined || value === '') return CONNECT_TIMEOUT_SECONDS
  if (!/^\d+$/.test(value) || Number(value) < 1) {
    throw new UserError(
      `Input '${inputName}' has connect_timeout=${value}: use a whole number of seconds, at least 1 (Lazarus never waits forever).`
    )
  }
  // libpq waits at least 2 seconds whatever it is told.
  return Math.max(2, Number(value))
}

/** Values libpq itself would reject fail here, with the input named, rather than inside pg_dump. */
function checkTuning(inputName: string, key: string, value: string): void {
  const choices: Record<string, readonly string[]> = {
    gssencmode: ['disable', 'prefer'],
    channel_binding: ['disable', 'prefer'],
    sslsni: ['0', '1'],
    sslcompression: ['0', '1'],
    keepalives: ['0', '1']
  }
  if (key === 'fallback_application_name') return
  if (choices[key]) {
    if (!choices[key].includes(value)) {
      const why =
        key === 'gssencmode' || key === 'channel_binding'
          ? ` (Lazarus's own sessions cannot ${key === 'gssencmode' ? 'use GSSAPI encryption' : 'require channel binding'})`
          : ''
      throw new UserError(`Input '${inputName}' has ${key}=${value}: use one of ${choices[key].join(', ')}${why}.`)
    }
    return
  }
  if (!/^\d+$/.test(value)) throw new UserError(`Input '${inputName}' has ${key}=${value}: use a whole number.`)
}

/**
 * Where libpq looks when a URI names no host: the Unix socket directory it was built with
 * (/var/run/postgresql on Debian and Ubuntu, /tmp elsewhere). Lazarus's own sessions must look there too.
 */
function defaultSocketDirectory(): string {
  return fs.existsSync('/var/run/postgresql') ? '/var/run/postgresql' : '/tmp'
}

/** The same server and database, with another database (used for scratch databases). */
export function withDatabase(target: ConnectionTarget, database: string): ConnectionTarget {
  return { ...target, database }
}

/**
 * The description as a libpq connection string (key='value' ...), for pg_dump's and psql's
 * --dbname: every parameter explicit, the password never in it. `extraOptions` are appended to
 * the user's `options` (later settings win), so a setting Lazarus needs cannot be undone by them.
 */
export function conninfo(target: ConnectionTarget, extraOptions?: string): string {
  const { tls } = target
  const options = [target.options, extraOptions].filter(Boolean).join(' ')
  const pairs: [string, string | number | undefined][] = [
    ['host', target.host],
    ['port', target.port],
    ['dbname', target.database],
    ['user', target.user],
    ['sslmode', tls.mode],
    ['sslrootcert', tls.rootCert],
    ['sslcert', tls.cert],
    ['sslkey', tls.key],
    ['sslcrl', tls.crl],
    ['ssl_min_protocol_version', tls.minProtocol],
    ['ssl_max_protocol_version', tls.maxProtocol],
    ['application_name', target.applicationName],
    ['connect_timeout', target.connectTimeoutSeconds],
    ['options', options || undefined],
    ['target_session_attrs', target.targetSessionAttrs],
    ...Object.entries(target.tuning)
  ]
  return pairs
    .filter((pair): pair is [string, string | number] => pair[1] !== undefined)
    .map(([key, value]) => `${key}=${quoteConninfoValue(String(value))}`)
    .join(' ')
}

/** libpq's quoting: single quotes, with backslash and quote escaped by a backslash. */
function quoteConninfoValue(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
}

/**
 * Environment variables libpq reads as defaults: scrubbed from the environment of pg_dump and
 * psql (and of Lazarus's own process) so that nothing but the description decides where and how
 * they connect. PGPASSWORD is handed on deliberately where needed.
 */
export function isLibpqEnvironmentVariable(name: string): boolean {
  return /^PG[A-Z_]+$/.test(name)
}

/**
 * Removes libpq's environment variables from this process once the inputs are read: `pg` reads
 * some of them (PGOPTIONS, PGSSLNEGOTIATION, PGCLIENT_ENCODING, ...) for whatever the description
 * leaves unset, and pg_dump and psql never see them either.
 */
export function forgetLibpqEnvironment(env: NodeJS.ProcessEnv = process.env): void {
  for (const name of Object.keys(env)) if (isLibpqEnvironmentVariable(name)) delete env[name]
}

/** A URI-free description for logs: user@host:port/database. */
export function describe(target: ConnectionTarget): string {
  return `${target.user ? target.user + '@' : ''}${target.host}:${target.port}/${target.database}`
}
