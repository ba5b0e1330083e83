-- One line that changes if production changed in any way the e2e workflow cares about:
-- row counts, sequence position, table contents, and the set of databases on the server.
SELECT concat_ws(' ',
    'customers=' || (SELECT count(*) FROM shop.customers),
    'OrderLines=' || (SELECT count(*) FROM shop."OrderLines"),
    'ledger=' || (SELECT count(*) FROM public.ledger),
    'customer_totals=' || (SELECT count(*) FROM shop.customer_totals),
    'invoice_number=' || (SELECT last_value || '/' || is_called FROM shop.invoice_number),
    'content=' || (SELECT md5(string_agg(r, E'\n' ORDER BY r)) FROM (
        SELECT 'c' || c::text AS r FROM shop.customers AS c
        UNION ALL SELECT 'o' || o::text FROM shop."OrderLines" AS o
        UNION ALL SELECT 'l' || l::text FROM public.ledger AS l
    ) AS rows),
    'databases=' || (SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database)
);
