-- 009_load.pl, predicting clients (-M simple): 5 consecutive rows per
-- statement, whole-row (record) form, logged with the deployed version the
-- statement's snapshot sees.
\set id random(1, 99996)
INSERT INTO preds (form, xid, id, p, v)
SELECT 'record', pg_current_xact_id()::text::bigint, f.id,
       modelmgr.predict('m', f),
       (SELECT m.deployed_version FROM modelmgr.models m WHERE m.name = 'm')
FROM feats f WHERE f.id BETWEEN :id AND :id + 4;
