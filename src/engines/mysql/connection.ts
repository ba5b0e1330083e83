import * as fs from 'node:fs'
import * as path from 'node:path'
import { UserError } from '../../util/errors.js'

/**
 * One MySQL or MariaDB server and database, described by Lazarus from the user's URL after vetting
 * every part of it. The dump and restore programs and Lazarus's own sessions all connect with
 * this description (never with the raw URL), so they cannot end up in different places. The
 * password is kept apart, so that the description is safe to show; programs get it through a
 * 0600 defaults file, never on their command line.
 */
export interface MysqlTarget {
  /** The input this came from, for error messages. */
  inputName: string
  /** As the user wrote it; it does not decide the flavour (the server's VERSION() does). */
  scheme: 'mysql' | 'mariadb'
  /**
   * A host name or an IP address (IPv6 without brackets). Always reached over TCP: the client
   * programs must get `--protocol=TCP`, or they would take `localhost` for the local Unix socket,
   * which may be another server than the one Lazarus's sessions reach.
   */
  host: string
  port: number
  database: string
  /**
   * The database name tables are reported under: production's. A scratch copy of production
   * reports its tables under production's name, so that both sides pair by name.
   */
  reportAs: string
  user: string
  password?: string
  tls: MysqlTls
  connectTimeoutSeconds: number
  /** Every form of the secret that could show up somewhere: register each with setSecret. */
  secrets: string[]
}

/**
 * TLS as the MySQL client programs mean it (`--ssl-mode`): disable, preferred (TLS when the server
 * offers it, without checking the certificate: the clients' default), required (TLS, certificate
 * not checked), verify-ca (the certificate chains to `ca`, or the system's CAs), verify-identity
 * (and names the host).
 */
export const SSL_MODES = ['disable', 'preferred', 'required', 'verify-ca', 'verify-identity'] as const
export type SslMode = (typeof SSL_MODES)[number]

export interface MysqlTls {
  mode: SslMode
  /** Absolute path of the CA certificate file, checked to exist when the input was read. */
  ca?: string
}

export const DEFAULT_PORT = 3306
/** How long a connection attempt waits for the server, in seconds. */
export const CONNECT_TIMEOUT_SECONDS = 10
/** MySQL's limit on a database name, in characters. */
const MAX_NAME_LENGTH = 64

/** The query parameters a URL may carry, and what each means (the README lists the same). */
const PARAMETERS = ['ssl-mode', 'ssl-ca'] as const

/**
 * Parses `mysql://user:password@host:port/database?ssl-mode=...&ssl-ca=...` (or `mariadb://`),
 * percent-decoding each part, and vets it. A password in the URL wins over `fallbackPassword`
 * (the `*-password` input). Throws a one-line UserError naming the input and what to fix.
 */
export function parseMysqlUrl(inputName: string, raw: string, fallbackPassword?: string): MysqlTarget {
  const text = raw.trim()
  const fail = (why: string) => new UserError(`Input '${inputName}' ${why}`)
  const form = 'mysql://user@host:3306/database'
  const prefix = /^(mysql|mariadb):\/\//.exec(text)
  if (!prefix) {
    const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(text)?.[1]
    throw fail(scheme ? `must start with mysql:// or mariadb:// (got '${scheme}://').` : `is not a URL: write it as ${form}.`)
  }
  const decode = (part: string, what: string): string => {
    try {
      if (/%(?![0-9A-Fa-f]{2})/.test(part)) throw new Error('bad escape')
      const decoded = decodeURIComponent(part)
      if (decoded.includes('\u0000')) throw new Error('NUL')
      return decoded
    } catch {
      throw fail(
        `has an invalid ${what}: percent-encode special characters (or give the password in '${inputName.replace(/-url$/, '-password')}').`
      )
    }
  }

  let rest = text.slice(prefix[0].length)
  // The userinfo ends at the last '@' before the path: a password may hold an unencoded '@'.
  const pathStart = rest.search(/[/?#]/)
  if (pathStart >= 0 && rest.indexOf('@', pathStart) >= 0) {
    // A password with an unencoded '/', '?' or '#': say so without echoing any part of it.
    throw fail(
      `has an '@' after the host: percent-encode special characters in the password (or give it in '${inputName.replace(/-url$/, '-password')}').`
    )
  }
  const authority = pathStart >= 0 ? rest.slice(0, pathStart) : rest
  rest = pathStart >= 0 ? rest.slice(pathStart) : ''
  const at = authority.lastIndexOf('@')
  const userinfo = at >= 0 ? authority.slice(0, at) : undefined
  const hostport = at >= 0 ? authority.slice(at + 1) : authority

  let user = ''
  let uriPassword: string | undefined
  const passwordForms: string[] = []
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':')
    user = decode(colon >= 0 ? userinfo.slice(0, colon) : userinfo, 'user name')
    if (colon >= 0) {
      passwordForms.push(userinfo.slice(colon + 1))
      uriPassword = decode(userinfo.slice(colon + 1), 'password') || undefined
    }
  }
  if (!user) throw fail(`names no user: write it as ${form}.`)

  if (hostport.includes(',')) {
    throw fail(`names several hosts ('${hostport}'): Lazarus connects to exactly one server; give one host and port.`)
  }
  const hostMatch = /^(\[[^\]]*\]|[^[\]:]*)(?::(.*))?$/.exec(hostport)
  if (!hostMatch) throw fail(`has an invalid host '${hostport}': write it as ${form} (an IPv6 address in brackets).`)
  const host = decode(hostMatch[1].replace(/^\[(.*)\]$/, '$1'), 'host')
  if (!host) throw fail(`names no host: write it as ${form}.`)
  if (!/^[A-Za-z0-9._:-]+$/.test(host)) throw fail(`has an invalid host '${host}': give a host name or an IP address.`)
  const portText = hostMatch[2]
  const port = portText === undefined || portText === '' ? DEFAULT_PORT : Number(portText)
  if (portText !== undefined && portText !== '' && (!/^\d+$/.test(portText) || port < 1 || port > 65535)) {
    throw fail(`has an invalid port '${portText}': give a number from 1 to 65535.`)
  }

  if (rest.includes('#')) throw fail(`has a fragment ('#...'): remove it (percent-encode a '#' in the password as %23).`)
  const queryStart = rest.indexOf('?')
  const pathPart = queryStart >= 0 ? rest.slice(0, queryStart) : rest
  const query = queryStart >= 0 ? rest.slice(queryStart + 1) : ''
  const database = decode(pathPart.replace(/^\//, ''), 'database name')
  if (!database) throw fail(`names no database: end it with /<database>, e.g. ${form} (one database per run).`)
  if (database.includes('/')) {
    throw fail(`names more than a database ('${database}'): end it with exactly one /<database> (one database per run).`)
  }
  if ([...database].length > MAX_NAME_LENGTH || /\s$/.test(database)) {
    throw fail(`names database '${database}', which MySQL cannot have: at most 64 characters, not ending in a space.`)
  }

  const params = new Map<string, string>()
  for (const pair of query === '' ? [] : query.split('&')) {
    const equals = pair.indexOf('=')
    if (equals < 0) throw fail(`has a malformed parameter '${pair}': write each as name=value, joined by &.`)
    const key = decode(pair.slice(0, equals), 'parameter')
    if (!(PARAMETERS as readonly string[]).includes(key)) {
      throw fail(`has parameter '${key}', which Lazarus does not know: remove it (accepted: ${PARAMETERS.join(', ')}).`)
    }
    if (params.has(key)) throw fail(`has parameter '${key}' twice: give it once.`)
    params.set(key, decode(pair.slice(equals + 1), `value of ${key}`))
  }
  const tls = tlsSettings(inputName, params)

  const password = uriPassword || fallbackPassword || undefined
  const secrets = new Set<string>()
  if (uriPassword) {
    secrets.add(text)
    for (const encoded of passwordForms) secrets.add(encoded)
  }
  if (password) {
    secrets.add(password)
    secrets.add(encodeURIComponent(password))
  }
  return {
    inputName,
    scheme: prefix[1] as MysqlTarget['scheme'],
    host,
    port,
    database,
    reportAs: database,
    user,
    password,
    tls,
    connectTimeoutSeconds: CONNECT_TIMEOUT_SECONDS,
    secrets: [...secrets].filter(secret => secret.length > 0)
  }
}

function tlsSettings(inputName: string, params: Map<string, string>): MysqlTls {
  const fail = (why: string) => new UserError(`Input '${inputName}' ${why}`)
  const modeText = params.get('ssl-mode')?.toLowerCase()
  if (modeText !== undefined && !(SSL_MODES as readonly string[]).includes(modeText)) {
    throw fail(`has ssl-mode=${params.get('ssl-mode')}: use one of ${SSL_MODES.join(', ')}.`)
  }
  const mode = (modeText ?? 'preferred') as SslMode
  const caText = params.get('ssl-ca')
  if (caText === undefined) return { mode }
  if (mode === 'disable') throw fail(`has ssl-ca with ssl-mode=disable: remove one of them.`)
  if (caText === '') throw fail(`has an empty ssl-ca: give the path of the CA certificate file.`)
  const ca = path.resolve(caText)
  let stat: fs.Stats
  try {
    stat = fs.statSync(ca)
  } catch {
    throw fail(`has ssl-ca=${caText}, which does not exist: give the path of the CA certificate file.`)
  }
  if (!stat.isFile()) throw fail(`has ssl-ca=${caText}, which is not a file: give the path of the CA certificate file.`)
  return { mode, ca }
}

/** user@host:port/database for logs and reports: never a password. */
export function describe(target: MysqlTarget): string {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host
  return `${target.user}@${host}:${target.port}/${target.database}`
}

/** The database `database` on the same server, its tables reported under `reportAs` (production's name). */
export function withDatabase(target: MysqlTarget, database: string, reportAs = database): MysqlTarget {
  return { ...target, database, reportAs }
}

/** Every form of the target's secret that could show up somewhere. */
export function secretsOf(target: MysqlTarget): string[] {
  return target.secrets
}
