import * as io from '@actions/io'
import { streamBuffers } from './stdbuf.js'

/**
 * The only module that knows how sed is run. Sanitizing happens inside the dump-to-restore
 * stream (see pg-tools.ts), so sed runs as a filter there: this gives its argv. It runs in the C
 * locale, where every byte is one character: the dump may be in any server encoding, and the
 * program's lexer must never see a byte sequence a UTF-8 locale would call invalid. Its stdio
 * buffers are large ones (stdbuf.ts): it reads the dump and writes it to psql in large pieces.
 */
export async function sedFilter(programFile: string): Promise<string[]> {
  const env = await io.which('env', true)
  const sed = await io.which('sed', true)
  return [env, 'LC_ALL=C', ...streamBuffers({ input: true, output: true }), sed, '-n', '-E', '-f', programFile]
}
