import assert from 'node:assert/strict'
import { test } from 'node:test'
import { normalOptions } from '../../../../src/engines/mysql/schema-queries.js'

// The schema comparison and the sanitizer's path-option rule (issue 15): where production keeps a
// table's files (MariaDB's CREATE_OPTIONS lists DATA/INDEX DIRECTORY) is not compared, since the
// clean room keeps them in its own data directory; every other option still is.

test("CREATE_OPTIONS: production's DATA/INDEX DIRECTORY are not compared; the other options are", () => {
  assert.equal(
    normalOptions("DATA DIRECTORY='/srv/a b/' max_rows=10 INDEX DIRECTORY='/srv/i/' partitioned"),
    'max_rows=10 partitioned'
  )
  assert.equal(normalOptions("DATA DIRECTORY='/srv/a/'"), null)
  assert.equal(normalOptions("data directory='/srv/a/' INDEX DIRECTORY='/srv/i/'"), null)
  assert.notEqual(normalOptions("DATA DIRECTORY='/srv/a/' max_rows=10"), normalOptions('max_rows=20'))
  assert.notEqual(normalOptions("DATA DIRECTORY='/srv/a/' row_format=COMPRESSED"), normalOptions(null))
  // Not an option of its own: a word that merely ends in DATA stays.
  assert.equal(normalOptions("METADATA DIRECTORY='/x'"), "DIRECTORY='/x' METADATA")
})
