import { chmodSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { execFileSync } from 'node:child_process'

/** Where the real PostgreSQL client tools live (Debian's, or whatever pg_dump is on PATH). */
export function realClientDir(): string {
  return path.dirname(
    execFileSync('bash', ['-c', 'ls -d /usr/lib/postgresql/*/bin/pg_dump 2>/dev/null | sort -V | tail -1 || command -v pg_dump'])
      .toString()
      .trim()
  )
}

/**
 * A directory for the `postgres-bin-dir` input whose pg_dump runs the real pg_dump and then runs
 * `tamper`, a bash snippet that edits the dump file "$DUMP" in place (when pg_dump writes to
 * stdout, the dump goes through a temporary file first). It stands in for what no
 * test here can run for real: a backup pipeline that damages dumps, or a pg_dump 17 that writes
 * directives PostgreSQL 13 lacks. psql is the real one.
 */
export function tamperedClientDir(tamper: string): string {
  const real = realClientDir()
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lazarus-client-'))
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
  // Lazarus streams pg_dump's stdout into the restore; a dump to --file is tampered in place.
  const script = `#!/usr/bin/env bash
set -euo pipefail
DUMP=""
for arg in "$@"; do case "$arg" in --file=*) DUMP="\${arg#--file=}";; --version|-V) exec "${real}/pg_dump" "$@";; esac; done
if [ -n "$DUMP" ]; then
  "${real}/pg_dump" "$@"
${tamper}
else
  DUMP=$(mktemp)
  trap 'rm -f "$DUMP"' EXIT
  "${real}/pg_dump" "$@" > "$DUMP"
${tamper}
  cat "$DUMP"
fi
`
  writeFileSync(path.join(dir, 'pg_dump'), script)
  chmodSync(path.join(dir, 'pg_dump'), 0o755)
  symlinkSync(path.join(real, 'psql'), path.join(dir, 'psql'))
  symlinkSync(path.join(real, 'pg_restore'), path.join(dir, 'pg_restore'))
  return dir
}
