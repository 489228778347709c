-- 009_load.pl, the retraining client: change a few targets, then (70%)
-- retrain with deploy => 'always', (15%) retrain with deploy => 'auto' (may
-- keep the champion), (10%) deploy an older version, (5%) roll back.  Each
-- retrain logs what it returned in table retrains.
\set id random(1, 99951)
\set r random(1, 20)
UPDATE feats SET y = y + 0.5 WHERE id BETWEEN :id AND :id + 49;
\if :r <= 14
INSERT INTO retrains (version, champion, deployed, policy)
SELECT version, champion_version, deployed, 'always' FROM modelmgr.retrain('m', deploy => 'always');
\elif :r <= 17
INSERT INTO retrains (version, champion, deployed, policy)
SELECT version, champion_version, deployed, 'auto' FROM modelmgr.retrain('m');
\elif :r <= 19
SELECT modelmgr.deploy('m', (SELECT greatest(1, m.last_version - 3) FROM modelmgr.models m WHERE m.name = 'm'),
                       'load test: an older version');
\else
SELECT modelmgr.rollback('m', 'load test');
\endif
