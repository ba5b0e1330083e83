import * as fs from 'node:fs'
import { UserError } from './errors.js'

/**
 * Where one database lives, split so that the password never travels with the URI: the URI is
 * safe to pass on a command line (which @actions/exec echoes) and to show, and the password
 * reaches clients only through their environment or configuration.
 */
export interface ConnectionTarget {
  /** The input this came from, for error messages. */
  inputName: string
  /** libpq URI without any password (neither in userinfo nor as a query parameter). */
  uri: string
  password?: string
  host: string
  port: number
  database: string
  user?: string
  /** Every form of the secret that could show up somewhere: register each with setSecret. */
  secrets: string[]
}

const SCHEMES = new Set(['postgresql:', 'postgres:'])

/**
 * Parses a libpq URI (postgresql://user:password@host:port/database?params). A password from the
 * URI wins over `fallbackPassword` (the `*-password` input or PGPASSWORD).
 */
export function parseConnectionUrl(inputName: string, raw: string, fallbackPassword?: string): ConnectionTarget {
  let url: URL
  try {
    url = new URL(withoutEmptyHostUserinfo(raw.trim()))
  } catch {
    throw new UserError(
      `Input '${inputName}' is not a valid URI: use postgresql://user@host:port/database ` +
        `(percent-encode special characters, or give the password in the matching -password input).`
    )
  }
  if (!SCHEMES.has(url.protocol)) {
    throw new UserError(`Input '${inputName}' must start with postgresql:// (got '${url.protocol}//').`)
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''))
  if (!database || database.includes('/')) {
    throw new UserError(
      `Input '${inputName}' names no database: end the URI with /<database>, e.g. postgresql://host:5432/postgres.`
    )
  }
  const queryHost = url.searchParams.get('host')
  const host = queryHost || decodeURIComponent(url.hostname).replace(/^\[(.+)\]$/, '$1') || defaultSocketDirectory()
  const portText = url.searchParams.get('port') || url.port || '5432'
  const port = Number(portText)
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UserError(`Input '${inputName}' has an invalid port '${portText}'.`)
  }

  const uriPassword = url.password ? decodeURIComponent(url.password) : url.searchParams.get('password') || undefined
  const password = uriPassword || fallbackPassword || undefined
  const user = decodeURIComponent(url.username) || url.searchParams.get('user') || undefined

  const clean = new URL(url.href)
  clean.password = ''
  clean.searchParams.delete('password')

  const secrets = new Set<string>()
  if (uriPassword) secrets.add(raw.trim())
  if (password) {
    secrets.add(password)
    secrets.add(encodeURIComponent(password))
    if (url.password) secrets.add(url.password)
  }
  return {
    inputName,
    uri: clean.href,
    password,
    host,
    port,
    database,
    user,
    secrets: [...secrets].filter(secret => secret.length > 0)
  }
}

/**
 * libpq accepts `postgresql://user:pw@/db` (no host: the default Unix socket), which WHATWG URL
 * parsing rejects; the same URI with the user and password as query parameters means the same.
 */
function withoutEmptyHostUserinfo(raw: string): string {
  const match = /^(postgres(?:ql)?:\/\/)([^@/?#]*)@(\/.*)$/.exec(raw)
  if (!match) return raw
  const [, scheme, userinfo, rest] = match
  const [user, password] = userinfo.split(/:(.*)/s)
  // Userinfo is percent-encoded, where '+' is a plus; in a query it would read as a space.
  const param = (name: string, value?: string) => (value ? `${name}=${value.replace(/\+/g, '%2B')}` : '')
  const params = [param('user', user), param('password', password)].filter(Boolean).join('&')
  if (!params) return `${scheme}${rest}`
  return `${scheme}${rest}${rest.includes('?') ? '&' : '?'}${params}`
}

/**
 * Where libpq looks when a URI names no host: the Unix socket directory it was built with
 * (/var/run/postgresql on Debian and Ubuntu, /tmp elsewhere). Lazarus's own sessions must look there too.
 */
function defaultSocketDirectory(): string {
  return fs.existsSync('/var/run/postgresql') ? '/var/run/postgresql' : '/tmp'
}

/** The same server and database, as another URI (used for scratch databases). */
export function withDatabase(target: ConnectionTarget, database: string): ConnectionTarget {
  const url = new URL(target.uri)
  url.pathname = '/' + encodeURIComponent(database)
  return { ...target, uri: url.href, database }
}

/** A URI-free description for logs: user@host:port/database. */
export function describe(target: ConnectionTarget): string {
  return `${target.user ? target.user + '@' : ''}${target.host}:${target.port}/${target.database}`
}
