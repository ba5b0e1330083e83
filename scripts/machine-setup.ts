/**
 * What `npm test` and `npm run demo` do before anything else: ask scripts/setup-machine.sh what
 * this machine lacks (its --check), then set it up with that same script when running as root,
 * or stop with the one command to run when not (installing packages needs root).
 *
 * The script is the one place that knows what a machine needs (`.ci/run` runs it too); this
 * module only decides what to do about its answer.
 */
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const SETUP_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'setup-machine.sh')

/** One thing the machine lacks, as the script names it: `apt:<package>`, `user:<name>`, `traverse:<dir>`. */
export interface Need {
  id: string
  /** What setting it up means, in the script's words. */
  what: string
}

/**
 * What the command is about to do: the tests need everything, the demo only the client tools
 * (and `demo-mariadb`, `npm run demo -- --engine mariadb`, only MariaDB's server and client).
 */
export type Purpose = 'test' | 'demo' | 'demo-mariadb'

export type SetupPlan =
  { action: 'none' } | { action: 'run'; argv: string[]; needs: Need[] } | { action: 'stop'; message: string }

/** The script's --check output: one "<need>\t<what>" line per missing thing. */
export function parseNeeds(output: string): Need[] {
  return output
    .split('\n')
    .filter(line => line.trim() !== '')
    .map(line => {
      const tab = line.indexOf('\t')
      if (tab <= 0)
        throw new Error(`setup-machine.sh --check printed a line that is not "<need><TAB><what>": ${JSON.stringify(line)}`)
      return { id: line.slice(0, tab), what: line.slice(tab + 1) }
    })
}

/**
 * Whether `purpose` needs it. The demo starts no PgBouncer and makes no certificates, so a
 * machine without them still runs it; what lets the servers run as root it needs like the tests.
 */
export function neededFor(need: Need, purpose: Purpose): boolean {
  if (purpose === 'test') return true
  if (purpose === 'demo-mariadb') return need.id === 'apt:mariadb-server' || need.id === 'apt:mariadb-client'
  return need.id === 'apt:postgresql-client' || !need.id.startsWith('apt:')
}

/** How a need reads in a one-line message: the package, the user or the directory. */
export function needName(need: Need): string {
  const [kind, ...rest] = need.id.split(':')
  const name = rest.join(':')
  if (kind === 'user') return `the ${name} OS user`
  if (kind === 'traverse') return `a reachable ${name}`
  return name
}

/**
 * What to do about what the machine lacks. As root, run the setup script (with --for-root: the
 * tests then run the servers as the postgres user, who must reach the checkout). As anyone else,
 * stop with one line naming what is missing and the one command that sets it up.
 */
export function planSetup(
  missing: Need[],
  opts: { purpose: Purpose; root: boolean; command: string; script?: string }
): SetupPlan {
  const needs = missing.filter(need => neededFor(need, opts.purpose))
  if (needs.length === 0) return { action: 'none' }
  const script = opts.script ?? SETUP_SCRIPT
  if (opts.root) return { action: 'run', argv: [script, '--for-root'], needs }
  return {
    action: 'stop',
    message:
      `this machine lacks ${needs.map(needName).join(', ')}: ` +
      `run \`sudo bash ${shellQuote(script)}\` once, then \`${opts.command}\` again.`
  }
}

/** Thrown with a one-line message when the machine cannot be made ready. */
export class MachineSetupError extends Error {}

export interface EnsureOptions {
  purpose: Purpose
  /** The command to tell the user to run again, e.g. `npm test`. */
  command: string
  root?: boolean
  /** The script's environment (tests point LAZARUS_SETUP_ROOT at a fake machine). */
  env?: NodeJS.ProcessEnv
  /** Hand --dry-run to the script: it prints what it would do and does nothing. */
  dryRun?: boolean
  /** Where the script's own output goes when it runs ('inherit' for a person to read). */
  output?: 'inherit' | 'pipe'
}

/**
 * Makes the machine ready for `purpose` or throws a MachineSetupError saying what to do.
 * Returns what the setup script printed when it ran (empty when nothing was missing).
 */
export function ensureMachine(opts: EnsureOptions): string {
  const root = opts.root ?? process.getuid?.() === 0
  const env = opts.env ?? process.env
  const check = (): Need[] => {
    const r = spawnSync('bash', [SETUP_SCRIPT, '--check', ...(root ? ['--for-root'] : [])], { env, encoding: 'utf8' })
    if (r.status !== 0) {
      throw new MachineSetupError(
        `${SETUP_SCRIPT} --check failed (${r.error?.message ?? `exit ${r.status}`}): ${r.stderr.trim()}`
      )
    }
    return parseNeeds(r.stdout)
  }

  const plan = planSetup(check(), { purpose: opts.purpose, root, command: opts.command })
  if (plan.action === 'none') return ''
  if (plan.action === 'stop') throw new MachineSetupError(plan.message)

  const argv = opts.dryRun ? [...plan.argv, '--dry-run'] : plan.argv
  const r = spawnSync('bash', argv, { env, encoding: 'utf8', stdio: ['ignore', opts.output ?? 'pipe', opts.output ?? 'pipe'] })
  if (r.status !== 0) {
    const said = (r.stderr ?? '').trim().split('\n').pop() ?? ''
    throw new MachineSetupError(`${SETUP_SCRIPT} failed (${r.error?.message ?? `exit ${r.status}`})${said ? `: ${said}` : ''}`)
  }
  if (opts.dryRun) return r.stdout ?? ''
  const left = planSetup(check(), { purpose: opts.purpose, root, command: opts.command })
  if (left.action === 'run') {
    throw new MachineSetupError(`${SETUP_SCRIPT} ran, but this machine still lacks ${left.needs.map(needName).join(', ')}`)
  }
  return r.stdout ?? ''
}

function shellQuote(text: string): string {
  return /^[\w./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`
}
