import { test } from 'node:test'
import assert from 'node:assert/strict'
import { splitViewDefinition } from '../../../../src/engines/postgres/cross-major.js'

// Across majors a view's query is recreated in the clean room; its options and populated state
// are compared as they are, so the split must give back exactly the text around the query.

test('a view definition splits into its options, its query and WITH NO DATA, and nothing is lost', () => {
  const cases = [
    'SELECT t.a\n   FROM s.t;',
    'WITH (check_option=cascaded, security_barrier=true) SELECT a\n   FROM s.t\n  WHERE (a > 0);',
    'SELECT id,\n    email\n   FROM app.customers; WITH NO DATA',
    "WITH (fillfactor=50) SELECT ';' AS x; WITH NO DATA"
  ]
  for (const definition of cases) {
    const parts = splitViewDefinition(definition)
    assert.ok(parts, definition)
    assert.equal(parts.before + parts.query + parts.after, definition)
    assert.match(parts.query, /^SELECT [\s\S]*;$/)
  }
  assert.equal(splitViewDefinition('WITH (check_option=local) SELECT 1;')!.before, 'WITH (check_option=local) ')
  assert.equal(splitViewDefinition('SELECT 1; WITH NO DATA')!.after, ' WITH NO DATA')
  assert.equal(splitViewDefinition('not a view'), undefined, 'without its closing semicolon it is not pg_get_viewdef text')
})
