// Edits a plain dump in place, for the corruption suite's tampered pg_dump (tampered-client.ts):
//   node dump-editor.mjs DUMP EDITS.json
// EDITS.json is a list of edits, applied in order, each to the first line it fits:
//   { "line": "exact line", "with": ["lines", "in its place"] }   (an empty list deletes it)
//   { "find": "part of a line", "replace": "what takes its place" }
//   { "after": "exact line", "insert": ["lines"] }
// An edit that fits no line fails the dump (exit 3), so a case that no longer applies is loud,
// unless it says "optional": true (a line only some dumps have, such as OWNER TO).
// The whole dump is read at once: test dumps are small.
import { readFileSync, writeFileSync } from 'node:fs'

const [dump, editsFile] = process.argv.slice(2)
const lines = readFileSync(dump, 'utf8').split('\n')
for (const edit of JSON.parse(readFileSync(editsFile, 'utf8'))) {
  let index
  if (edit.find !== undefined) index = lines.findIndex(line => line.includes(edit.find))
  else index = lines.indexOf(edit.line ?? edit.after)
  if (index < 0 && edit.optional) continue
  if (index < 0) {
    process.stderr.write(`dump-editor: no line fits ${JSON.stringify(edit)}\n`)
    process.exit(3)
  }
  if (edit.find !== undefined) lines[index] = lines[index].replace(edit.find, () => edit.replace)
  else if (edit.with !== undefined) lines.splice(index, 1, ...edit.with)
  else lines.splice(index + 1, 0, ...edit.insert)
}
writeFileSync(dump, lines.join('\n'))
