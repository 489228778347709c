-- setup: create the extension once for the whole suite
\set VERBOSITY default
CREATE EXTENSION modelmgr;
SELECT extname, extversion FROM pg_extension WHERE extname = 'modelmgr';
-- every registry table and sequence is dumped with the database
SELECT c.relname
FROM pg_extension e, unnest(e.extconfig) AS cfg(oid)
JOIN pg_class c ON c.oid = cfg.oid
WHERE e.extname = 'modelmgr'
ORDER BY 1;
-- every object of the extension has a comment
SELECT pg_describe_object(d.classid, d.objid, d.objsubid) AS uncommented
FROM pg_depend d
WHERE d.refclassid = 'pg_extension'::regclass
  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'modelmgr')
  AND d.deptype = 'e'
  AND obj_description(d.objid, (SELECT relname FROM pg_class WHERE oid = d.classid)) IS NULL
ORDER BY 1;
-- every column of every view has a comment (BI tools show them)
SELECT c.relname, a.attname AS uncommented_column
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
WHERE c.relnamespace = 'modelmgr'::regnamespace AND c.relkind = 'v'
  AND a.attnum > 0 AND NOT a.attisdropped AND col_description(c.oid, a.attnum) IS NULL
ORDER BY 1, 2;
