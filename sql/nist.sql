-- nist: NIST StRD linear least-squares accuracy, end to end through SQL.
-- The eleven problems are fixtures made by test/data/make_nist_fixtures.py
-- from NIST's .dat files: y and raw columns are NIST's data strings, and the
-- polynomial columns xk are x^k computed exactly from the data string and
-- rounded once to float64 (so the test does not depend on the server's libm,
-- and the design is as close to NIST's exact data as float64 allows).
-- Accuracy is the LRE, the number of correct significant digits:
-- -log10(|estimate - certified| / |certified|), capped at 15; the minimum over
-- all coefficients (intercept included) must reach a bound per problem.
\set VERBOSITY default

-- ---------------------------------------------------------------------------
-- fixtures, loaded client-side
-- ---------------------------------------------------------------------------
CREATE TABLE nist_certified (problem text, term text, value numeric);
\copy nist_certified FROM 'test/data/nist/certified.csv' (FORMAT csv, HEADER)
CREATE TABLE nist_norris (y float8, x1 float8);
\copy nist_norris FROM 'test/data/nist/Norris.csv' (FORMAT csv, HEADER)
CREATE TABLE nist_pontius (y float8, x1 float8, x2 float8);
\copy nist_pontius FROM 'test/data/nist/Pontius.csv' (FORMAT csv, HEADER)
CREATE TABLE nist_noint1 (y float8, x1 float8);
\copy nist_noint1 FROM 'test/data/nist/NoInt1.csv' (FORMAT csv, HEADER)
CREATE TABLE nist_noint2 (y float8, x1 float8);
\copy nist_noint2 FROM 'test/data/nist/NoInt2.csv' (FORMAT csv, HEADER)
CREATE TABLE nist_filip (y float8, x1 float8, x2 float8, x3 float8, x4 float8,
    x5 float8, x6 float8, x7 float8, x8 float8, x9 float8, x10 float8);
\copy nist_filip FROM 'test/data/nist/Filip.csv' (FORMAT csv, HEADER)
CREATE TABLE nist_longley (y float8, x1 float8, x2 float8, x3 float8, x4 float8,
    x5 float8, x6 float8);
\copy nist_longley FROM 'test/data/nist/Longley.csv' (FORMAT csv, HEADER)
CREATE TABLE nist_wampler1 (y float8, x1 float8, x2 float8, x3 float8, x4 float8, x5 float8);
\copy nist_wampler1 FROM 'test/data/nist/Wampler1.csv' (FORMAT csv, HEADER)
CREATE TABLE nist_wampler2 (LIKE nist_wampler1);
\copy nist_wampler2 FROM 'test/data/nist/Wampler2.csv' (FORMAT csv, HEADER)
CREATE TABLE nist_wampler3 (LIKE nist_wampler1);
\copy nist_wampler3 FROM 'test/data/nist/Wampler3.csv' (FORMAT csv, HEADER)
CREATE TABLE nist_wampler4 (LIKE nist_wampler1);
\copy nist_wampler4 FROM 'test/data/nist/Wampler4.csv' (FORMAT csv, HEADER)
CREATE TABLE nist_wampler5 (LIKE nist_wampler1);
\copy nist_wampler5 FROM 'test/data/nist/Wampler5.csv' (FORMAT csv, HEADER)

-- The problems, in NIST's order of difficulty, with the required minimum LRE.
-- Longley 12, Filip 7 and Wampler1-4 8 are the design's targets (DESIGN.md,
-- "Linear training"); Wampler5 (NIST's hardest, y of size 1e7 around a
-- quintic) is not a design target: it gets a floor of 6 to catch regressions
-- (it reaches about 7.4 digits; the others' margins are about 1 digit or more,
-- Filip's 0.85: it reaches about 7.85).
CREATE TABLE nist_problems (ord int, problem text, features text[], fit_intercept boolean, bound numeric);
INSERT INTO nist_problems VALUES
    (1, 'Norris',   '{x1}', true, 11),
    (2, 'Pontius',  '{x1,x2}', true, 11),
    (3, 'NoInt1',   '{x1}', false, 11),
    (4, 'NoInt2',   '{x1}', false, 11),
    (5, 'Filip',    '{x1,x2,x3,x4,x5,x6,x7,x8,x9,x10}', true, 7),
    (6, 'Longley',  '{x1,x2,x3,x4,x5,x6}', true, 12),
    (7, 'Wampler1', '{x1,x2,x3,x4,x5}', true, 8),
    (8, 'Wampler2', '{x1,x2,x3,x4,x5}', true, 8),
    (9, 'Wampler3', '{x1,x2,x3,x4,x5}', true, 8),
    (10, 'Wampler4', '{x1,x2,x3,x4,x5}', true, 8),
    (11, 'Wampler5', '{x1,x2,x3,x4,x5}', true, 6);

-- every fixture is complete: NIST's row counts, and one certified value per
-- coefficient (B0 only for models with an intercept)
SELECT p.problem,
       (SELECT count(*) FROM nist_certified c WHERE c.problem = p.problem) AS certified,
       cardinality(p.features) + p.fit_intercept::int AS coefficients
FROM nist_problems p ORDER BY p.ord;
SELECT 'Norris' AS problem, count(*) FROM nist_norris UNION ALL
SELECT 'Pontius', count(*) FROM nist_pontius UNION ALL
SELECT 'NoInt1', count(*) FROM nist_noint1 UNION ALL
SELECT 'NoInt2', count(*) FROM nist_noint2 UNION ALL
SELECT 'Filip', count(*) FROM nist_filip UNION ALL
SELECT 'Longley', count(*) FROM nist_longley UNION ALL
SELECT 'Wampler1', count(*) FROM nist_wampler1 UNION ALL
SELECT 'Wampler2', count(*) FROM nist_wampler2 UNION ALL
SELECT 'Wampler3', count(*) FROM nist_wampler3 UNION ALL
SELECT 'Wampler4', count(*) FROM nist_wampler4 UNION ALL
SELECT 'Wampler5', count(*) FROM nist_wampler5;

-- LRE of one estimate: correct significant digits, capped at 15 (no
-- certified coefficient is zero)
CREATE FUNCTION nist_lre(est numeric, cert numeric) RETURNS numeric
LANGUAGE sql IMMUTABLE STRICT
AS $$ SELECT CASE WHEN est = cert THEN 15
                  ELSE least(15, -log(abs(est - cert) / abs(cert))) END $$;

-- Minimum LRE over the certified coefficients of a described model whose
-- features are named x1..xp: B0 is the intercept, Bk the coefficient of xk.
-- NULL if any certified coefficient has no estimate.
CREATE FUNCTION nist_min_lre(p text, d jsonb) RETURNS numeric
LANGUAGE sql STABLE
AS $$
    SELECT CASE WHEN bool_and(e.est IS NOT NULL) THEN min(nist_lre(e.est, e.cert)) END
    FROM (SELECT c.value AS cert,
                 (CASE c.term WHEN 'B0' THEN d -> 'intercept'
                  ELSE d -> 'coefficients' -> ('x' || substr(c.term, 2)) END)::numeric AS est
          FROM nist_certified c WHERE c.problem = p) e
$$;

-- ---------------------------------------------------------------------------
-- modelmgr.linear_fit, the aggregate
-- ---------------------------------------------------------------------------
CREATE TABLE nist_data (problem text, y float8, x float8[]);
INSERT INTO nist_data SELECT 'Norris', y, ARRAY[x1] FROM nist_norris;
INSERT INTO nist_data SELECT 'Pontius', y, ARRAY[x1, x2] FROM nist_pontius;
INSERT INTO nist_data SELECT 'NoInt1', y, ARRAY[x1] FROM nist_noint1;
INSERT INTO nist_data SELECT 'NoInt2', y, ARRAY[x1] FROM nist_noint2;
INSERT INTO nist_data SELECT 'Filip', y, ARRAY[x1, x2, x3, x4, x5, x6, x7, x8, x9, x10] FROM nist_filip;
INSERT INTO nist_data SELECT 'Longley', y, ARRAY[x1, x2, x3, x4, x5, x6] FROM nist_longley;
INSERT INTO nist_data SELECT 'Wampler1', y, ARRAY[x1, x2, x3, x4, x5] FROM nist_wampler1;
INSERT INTO nist_data SELECT 'Wampler2', y, ARRAY[x1, x2, x3, x4, x5] FROM nist_wampler2;
INSERT INTO nist_data SELECT 'Wampler3', y, ARRAY[x1, x2, x3, x4, x5] FROM nist_wampler3;
INSERT INTO nist_data SELECT 'Wampler4', y, ARRAY[x1, x2, x3, x4, x5] FROM nist_wampler4;
INSERT INTO nist_data SELECT 'Wampler5', y, ARRAY[x1, x2, x3, x4, x5] FROM nist_wampler5;

-- one aggregate call per problem; NoInt1/NoInt2 go through the origin
CREATE TABLE nist_fit AS
SELECT d.problem,
       modelmgr.describe(modelmgr.linear_fit(d.y, d.x,
           jsonb_build_object('fit_intercept', p.fit_intercept))) AS m
FROM nist_data d JOIN nist_problems p USING (problem)
GROUP BY d.problem;

SELECT p.problem,
       (f.m -> 'attributes' ->> 'train_rows')::int AS rows,
       (f.m -> 'attributes' ->> 'fit_intercept')::int AS fit_intercept,
       f.m ->> 'intercept' = '0' AS intercept_is_zero,
       p.bound,
       nist_min_lre(p.problem, f.m) >= p.bound AS lre_ok
FROM nist_problems p LEFT JOIN nist_fit f USING (problem)
ORDER BY p.ord;

-- ---------------------------------------------------------------------------
-- modelmgr.train on each table (test_fraction 0: every row trains), same
-- bounds: training reads the table through its own path into the same core
-- ---------------------------------------------------------------------------
SELECT p.problem, t.version, t.train_rows, t.test_rows, t.deployed
FROM nist_problems p,
     LATERAL modelmgr.train(
         name => 'nist_' || lower(p.problem),
         algorithm => 'linear_regression',
         relation => ('nist_' || lower(p.problem))::regclass,
         target => 'y',
         features => p.features,
         params => jsonb_build_object('fit_intercept', p.fit_intercept),
         test_fraction => 0,
         deploy => 'never') t
ORDER BY p.ord;

SELECT p.problem,
       nist_min_lre(p.problem, modelmgr.describe(modelmgr.load('nist_' || lower(p.problem), 1))) >= p.bound AS lre_ok
FROM nist_problems p
ORDER BY p.ord;

-- train and the aggregate agree on Longley (one core), to 1e-9 relative
SELECT bool_and(abs(a.value::numeric - t.value::numeric) <= 1e-9 * abs(t.value::numeric))
           AND count(*) = 6 AS same_coefficients
FROM jsonb_each((SELECT m -> 'coefficients' FROM nist_fit WHERE problem = 'Longley')) a
JOIN jsonb_each(modelmgr.describe(modelmgr.load('nist_longley', 1)) -> 'coefficients') t USING (key);

-- ---------------------------------------------------------------------------
-- clean up
-- ---------------------------------------------------------------------------
SELECT modelmgr.drop_model(m.name)
FROM nist_problems p JOIN modelmgr.models m ON m.name = 'nist_' || lower(p.problem)
ORDER BY p.ord;
DROP TABLE nist_fit, nist_data, nist_problems, nist_certified, nist_norris, nist_pontius,
    nist_noint1, nist_noint2, nist_filip, nist_longley, nist_wampler1, nist_wampler2,
    nist_wampler3, nist_wampler4, nist_wampler5;
DROP FUNCTION nist_min_lre(text, jsonb), nist_lre(numeric, numeric);
