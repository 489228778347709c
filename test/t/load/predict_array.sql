-- 009_load.pl, predicting clients (-M prepared): one prediction per
-- transaction, float8[] form.  The same statement reads the deployed version
-- from the registry, so both see one snapshot: the test later checks that p
-- is exactly what version v predicts for this row.
\set id random(1, 100000)
INSERT INTO preds (form, xid, id, p, v)
SELECT 'array', pg_current_xact_id()::text::bigint, f.id,
       modelmgr.predict('m', ARRAY[f.a, f.b, f.c]),
       (SELECT m.deployed_version FROM modelmgr.models m WHERE m.name = 'm')
FROM feats f WHERE f.id = :id;
