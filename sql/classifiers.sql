-- classifiers: logistic_regression, softmax_regression and linear_svm
-- through train(), against published answers (R's glm) and scikit-learn.
-- Fixtures and references are in test/data/classifiers, made by
-- make_classifier_reference.py there (scikit-learn 1.2); R's answers are
-- quoted below.
\set VERBOSITY default

-- feature columns of a relation: every column but the ones named
CREATE FUNCTION cl_features(rel regclass, VARIADIC exclude text[]) RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT array_agg(attname::text ORDER BY attnum) FROM pg_attribute
    WHERE attrelid = rel AND attnum > 0 AND NOT attisdropped AND attname <> ALL (exclude)
$$;

-- ---------------------------------------------------------------------------
-- 1. R's glm(family = binomial), unpenalized: every printed digit
-- ---------------------------------------------------------------------------
CREATE TABLE cl_mtcars (model text, mpg float8, cyl int, disp float8, hp int, drat float8,
                        wt float8, qsec float8, vs int, am int, gear int, carb int);
\copy cl_mtcars FROM 'test/data/classifiers/mtcars.csv' WITH (FORMAT csv, HEADER)
CREATE TABLE cl_admit (admit int, gre int, gpa float8, rank int);
\copy cl_admit FROM 'test/data/classifiers/binary.csv' WITH (FORMAT csv, HEADER)
-- factor(rank): a text column is one-hot encoded, first level (1) dropped
CREATE VIEW cl_admit_v AS SELECT admit, gre, gpa, rank::text AS rank FROM cl_admit;

-- glm(am ~ hp + wt, binomial, mtcars)
SELECT name, version, algorithm, task, train_rows, test_rows
FROM modelmgr.train('cl_mtcars', 'logistic_regression', 'cl_mtcars', 'am', ARRAY['hp', 'wt'],
                    test_fraction => 0);
-- glm(admit ~ gre + gpa + factor(rank), binomial, binary.csv)
SELECT name, version, algorithm, task, train_rows, test_rows
FROM modelmgr.train('cl_admit', 'logistic_regression', 'cl_admit_v', 'admit',
                    ARRAY['gre', 'gpa', 'rank'], test_fraction => 0);

CREATE TABLE cl_r (model text, feature text, category text, r numeric, digits int);
INSERT INTO cl_r VALUES
('cl_mtcars', '(intercept)', NULL, 18.86630, 5),
('cl_mtcars', 'hp', NULL, 0.03626, 5),
('cl_mtcars', 'wt', NULL, -8.08348, 5),
('cl_admit', '(intercept)', NULL, -3.989979, 6),
('cl_admit', 'gre', NULL, 0.002264, 6),
('cl_admit', 'gpa', NULL, 0.804038, 6),
('cl_admit', 'rank', '2', -0.675443, 6),
('cl_admit', 'rank', '3', -1.340204, 6),
('cl_admit', 'rank', '4', -1.551464, 6);

-- weights() has exactly these rows (binary models: class = second label)
SELECT w.model, w.feature, w.category, w.class, r.r IS NOT NULL AS in_r
FROM (SELECT 'cl_mtcars' AS model, * FROM modelmgr.weights('cl_mtcars')
      UNION ALL SELECT 'cl_admit', * FROM modelmgr.weights('cl_admit')) w
LEFT JOIN cl_r r ON r.model = w.model AND r.feature = w.feature
                AND r.category IS NOT DISTINCT FROM w.category
ORDER BY 1 DESC, 2, 3;

-- the coefficients to R's printed digits, within half a unit of the last one
SELECT r.model, r.feature, r.category, round(w.weight::numeric, r.digits) AS weight, r.r,
       abs(w.weight::numeric - r.r) <= 0.5 * 10::numeric ^ (-r.digits) AS within_half_unit
FROM cl_r r
LEFT JOIN LATERAL modelmgr.weights(r.model) w
       ON w.feature = r.feature AND w.category IS NOT DISTINCT FROM r.category
ORDER BY r.model DESC, r.feature, r.category;

-- residual deviance = 2 * rows * mean log loss: R prints 10.059 and 458.52
SELECT r.name, round(d, r.digits) AS deviance, r.r,
       abs(d - r.r) <= 0.5 * 10::numeric ^ (-r.digits) AS within_half_unit
FROM (VALUES ('cl_mtcars', 10.059, 3), ('cl_admit', 458.52, 2)) r(name, r, digits)
JOIN modelmgr.models m ON m.name = r.name
JOIN modelmgr.model_versions v ON v.model_id = m.id AND v.version = m.deployed_version,
LATERAL (SELECT 2 * (v.metrics #>> '{train,rows}')::numeric
                  * (v.metrics #>> '{train,log_loss}')::numeric AS d) x
ORDER BY r.name DESC;

-- ---------------------------------------------------------------------------
-- 2. scikit-learn's LogisticRegression (newton-cg, converged to ~1e-8
--    relative): every coefficient and intercept within 1e-6 relative,
--    |ours - sklearn| <= 1e-6 * max(|sklearn|, 1e-3)
-- ---------------------------------------------------------------------------
CREATE TABLE cl_bc (mean_radius float8, mean_texture float8, mean_perimeter float8,
    mean_area float8, mean_smoothness float8, mean_compactness float8, mean_concavity float8,
    mean_concave_points float8, mean_symmetry float8, mean_fractal_dimension float8,
    radius_error float8, texture_error float8, perimeter_error float8, area_error float8,
    smoothness_error float8, compactness_error float8, concavity_error float8,
    concave_points_error float8, symmetry_error float8, fractal_dimension_error float8,
    worst_radius float8, worst_texture float8, worst_perimeter float8, worst_area float8,
    worst_smoothness float8, worst_compactness float8, worst_concavity float8,
    worst_concave_points float8, worst_symmetry float8, worst_fractal_dimension float8,
    y int, is_test boolean);
\copy cl_bc FROM 'test/data/classifiers/breast_cancer.csv' WITH (FORMAT csv, HEADER)
CREATE TABLE cl_bc_std (LIKE cl_bc);
ALTER TABLE cl_bc_std DROP COLUMN is_test;
\copy cl_bc_std FROM 'test/data/classifiers/breast_cancer_std.csv' WITH (FORMAT csv, HEADER)
CREATE TABLE cl_iris (sepal_length float8, sepal_width float8, petal_length float8,
                      petal_width float8, species text, is_test boolean);
\copy cl_iris FROM 'test/data/classifiers/iris.csv' WITH (FORMAT csv, HEADER)
CREATE TABLE cl_wine (alcohol float8, malic_acid float8, ash float8, alcalinity_of_ash float8,
    magnesium float8, total_phenols float8, flavanoids float8, nonflavanoid_phenols float8,
    proanthocyanins float8, color_intensity float8, hue float8,
    od280_od315_of_diluted_wines float8, proline float8, class int, is_test boolean);
\copy cl_wine FROM 'test/data/classifiers/wine.csv' WITH (FORMAT csv, HEADER)
CREATE TABLE cl_wine_std (LIKE cl_wine);
ALTER TABLE cl_wine_std DROP COLUMN is_test;
\copy cl_wine_std FROM 'test/data/classifiers/wine_std.csv' WITH (FORMAT csv, HEADER)
CREATE TABLE cl_ref (dataset text, class text, feature text, value float8);
\copy cl_ref FROM 'test/data/classifiers/reference_coefficients.csv' WITH (FORMAT csv, HEADER)
CREATE TABLE cl_ref_svm (dataset text, train_rows int, test_rows int, accuracy float8);
\copy cl_ref_svm FROM 'test/data/classifiers/reference_svm.csv' WITH (FORMAT csv, HEADER)
SELECT (SELECT count(*) FROM cl_bc) AS bc, (SELECT count(*) FROM cl_bc_std) AS bc_std,
       (SELECT count(*) FROM cl_iris) AS iris, (SELECT count(*) FROM cl_wine) AS wine,
       (SELECT count(*) FROM cl_wine_std) AS wine_std, (SELECT count(*) FROM cl_ref) AS ref;

-- LogisticRegression(C = 1) on the standardized breast cancer data
SELECT name, version, algorithm, task, train_rows, test_rows
FROM modelmgr.train('cl_bc_l2', 'logistic_regression', 'cl_bc_std', 'y',
                    cl_features('cl_bc_std', 'y'), '{"l2": 1}', test_fraction => 0);
-- LogisticRegression(multi_class = 'multinomial', C = 1) on iris
SELECT name, version, algorithm, task, train_rows, test_rows
FROM modelmgr.train('cl_iris_softmax', 'softmax_regression', 'cl_iris', 'species',
                    cl_features('cl_iris', 'species', 'is_test'), '{"l2": 1}', test_fraction => 0);
-- LogisticRegression(multi_class = 'multinomial', C = 0.5) on standardized wine
SELECT name, version, algorithm, task, train_rows, test_rows
FROM modelmgr.train('cl_wine_softmax', 'softmax_regression', 'cl_wine_std', 'class',
                    cl_features('cl_wine_std', 'class'), '{"l2": 2}', test_fraction => 0);

SELECT d.dataset, modelmgr.classes('cl_' || d.dataset) AS classes
FROM (VALUES ('bc_l2'), ('iris_softmax'), ('wine_softmax')) d(dataset) ORDER BY 1;

-- every reference value has a weight (and no weight is left over)
SELECT r.dataset, count(*) AS reference_values, count(w.weight) AS matched,
       (SELECT count(*) FROM modelmgr.weights('cl_' || r.dataset)) AS weights_rows,
       round(max(abs(w.weight - r.value) / greatest(abs(r.value), 1e-3))::numeric, 6) AS max_rel_diff,
       bool_and(abs(w.weight - r.value) <= 1e-6 * greatest(abs(r.value), 1e-3)) AS within_1e_6
FROM cl_ref r
LEFT JOIN LATERAL modelmgr.weights('cl_' || r.dataset) w
       ON w.feature = r.feature AND w.class = r.class AND w.category IS NULL
GROUP BY r.dataset ORDER BY 1;

-- softmax: the intercepts sum to zero, and so do the coefficients over classes
SELECT d.dataset, bool_and(abs(s) < 1e-9) AS sums_to_zero
FROM (VALUES ('iris_softmax'), ('wine_softmax')) d(dataset),
     LATERAL (SELECT feature, sum(weight) AS s FROM modelmgr.weights('cl_' || d.dataset)
              GROUP BY feature) w
GROUP BY 1 ORDER BY 1;

-- ---------------------------------------------------------------------------
-- 3. linear_svm against Pipeline(StandardScaler(), LinearSVC(C = 1)): held-out
--    accuracy on the script's fixed split at most one point below
-- ---------------------------------------------------------------------------
CREATE VIEW cl_bc_train AS SELECT * FROM cl_bc WHERE NOT is_test;
CREATE VIEW cl_bc_test AS SELECT * FROM cl_bc WHERE is_test;
CREATE VIEW cl_wine_train AS SELECT * FROM cl_wine WHERE NOT is_test;
CREATE VIEW cl_wine_test AS SELECT * FROM cl_wine WHERE is_test;

SELECT name, version, algorithm, task, train_rows, test_rows
FROM modelmgr.train('cl_bc_svm', 'linear_svm', 'cl_bc_train', 'y',
                    cl_features('cl_bc', 'y', 'is_test'), test_fraction => 0);
SELECT name, version, algorithm, task, train_rows, test_rows
FROM modelmgr.train('cl_wine_svm', 'linear_svm', 'cl_wine_train', 'class',
                    cl_features('cl_wine', 'class', 'is_test'), test_fraction => 0);

SELECT r.dataset, r.train_rows, r.test_rows, (e->>'rows')::int AS evaluated_rows,
       round((e->>'accuracy')::numeric, 4) AS accuracy, round(r.accuracy::numeric, 4) AS sklearn,
       (e->>'accuracy')::float8 >= r.accuracy - 0.01 AS within_one_point
FROM cl_ref_svm r
JOIN (VALUES ('breast_cancer', 'cl_bc_svm', 'cl_bc_test'),
             ('wine', 'cl_wine_svm', 'cl_wine_test')) m(dataset, model, test_view)
  ON m.dataset = r.dataset,
LATERAL modelmgr.evaluate(m.model, m.test_view::regclass) e
ORDER BY 1;

SELECT modelmgr.drop_model(name) FROM modelmgr.models WHERE name LIKE 'cl\_%' ORDER BY name;
DROP VIEW cl_admit_v, cl_bc_train, cl_bc_test, cl_wine_train, cl_wine_test;
DROP TABLE cl_mtcars, cl_admit, cl_r, cl_bc, cl_bc_std, cl_iris, cl_wine, cl_wine_std,
           cl_ref, cl_ref_svm;
DROP FUNCTION cl_features(regclass, text[]);
