import * as io from '@actions/io'

/**
 * The only module that knows how sed is run. Sanitizing happens inside the dump-to-restore
 * stream (see pg-tools.ts), so sed runs as a filter there: this gives its argv. It runs in the C
 * locale, where every byte is one character: the dump may be in any server encoding, and the
 * program's lexer must never see a byte sequence a UTF-8 locale would call invalid.
 */
export async function sedFilter(programFile: string): Promise<string[]> {
  const env = await io.which('env', true)
  const sed = await io.which('sed', true)
  return [env, 'LC_ALL=C', sed, '-n', '-E', '-f', programFile]
}
