# 004_dump_restore.pl: pg_dump -Fc and pg_restore into a fresh database keep
# the whole registry.
#
# The source database holds five models with a history: train, retrain,
# save from linear_fit, import of an exported version, versions dropped (one
# in the middle, one the newest, so numbering has gaps), deploys and
# rollbacks, a model owned by a non-superuser role, grants and a revoke, and
# a dropped model (so the id sequences are ahead of max(id)).  A user table
# holds modelmgr.model values too.  After `pg_dump -Fc` and `pg_restore`
# into a database made with createdb:
#   - models, model_versions (every column, artifact bytes and checksums),
#     deployments and model_grants are identical, row by row;
#   - both sequences continue where they were: a new version gets the next
#     number (never a dropped one), a new model and a new deployment get ids
#     that follow the source's, never reused ones;
#   - predictions over a feature table are bit-identical (float8 text with
#     extra_float_digits = 3) for every model by name, every version through
#     load(), and the model values stored in a user table;
#   - grants still work (and a role without one is refused), the model owner
#     keeps its rights, and the DROP EXTENSION guard still refuses.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/lib";

use IPC::Run;
use MMTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = mm_node('dump_restore');
my $src = 'postgres';
my $dst = 'restored';

# ---------------------------------------------------------------------------
# Source database: data and a model history.
# ---------------------------------------------------------------------------
$node->safe_psql(
	$src, q{
CREATE ROLE regress_owner LOGIN;
CREATE ROLE regress_reader LOGIN;
CREATE ROLE regress_other LOGIN;
CREATE ROLE regress_nobody LOGIN;
-- y = 1 + 2 x1 - 3 x2 + 0.5 x3 + deterministic noise; 3000 rows
CREATE TABLE houses (id int PRIMARY KEY, x1 float8, x2 float8, x3 float8, y float8);
INSERT INTO houses
SELECT i, x1, x2, x3, 1 + 2 * x1 - 3 * x2 + 0.5 * x3 + e
FROM (SELECT i, sin(i * 0.37) AS x1, cos(i * 0.11) AS x2, ((i * 7919) % 1000)::float8 / 1000 AS x3,
             0.1 * (((i::bigint * 2654435761) % 1000003)::float8 / 1000003 - 0.5) AS e
      FROM generate_series(1, 3000) AS i) s;
CREATE VIEW houses_xy AS SELECT id, x1, x2, y FROM houses;
GRANT SELECT ON houses, houses_xy TO regress_owner, regress_reader, regress_nobody;
});

my $history = q{
-- model "price": train, retrain, trainings with other params, deploys and
-- rollbacks; version 2 (middle) and 6 (newest) are dropped below
SELECT version FROM modelmgr.train('price', 'linear_regression', 'houses', 'y', ARRAY['x1', 'x2', 'x3']);
UPDATE houses SET y = y + 0.05 * sin(id) WHERE id % 7 = 0;
SELECT version FROM modelmgr.retrain('price');
SELECT version FROM modelmgr.train('price', 'linear_regression', 'houses', 'y', ARRAY['x1', 'x2', 'x3'],
                                   params => '{"l2": 5}', deploy => 'never');
SELECT version FROM modelmgr.train('price', 'linear_regression', 'houses', 'y', ARRAY['x1', 'x2', 'x3'],
                                   test_fraction => 0.3, seed => 7, deploy => 'always');
UPDATE houses SET y = y - 0.03 * cos(id) WHERE id % 5 = 0;
SELECT version FROM modelmgr.retrain('price', deploy => 'always');
SELECT version FROM modelmgr.train('price', 'linear_regression', 'houses', 'y', ARRAY['x1', 'x2', 'x3'],
                                   params => '{"l2": 50}', deploy => 'never');
SELECT modelmgr.deploy('price', 3, 'try the ridge fit');
SELECT modelmgr.rollback('price', 'ridge fit was worse');
SELECT modelmgr.deploy('price', 1);
SELECT modelmgr.deploy('price', 5, 'latest retrain');
SELECT modelmgr.drop_version('price', 2);
SELECT modelmgr.drop_version('price', 6);

-- model "fitted": versions saved from the linear_fit aggregate
SELECT modelmgr.save('fitted', m, ARRAY['x1', 'x2', 'x3'])
FROM (SELECT modelmgr.linear_fit(y, ARRAY[x1, x2, x3]) AS m FROM houses) s;
SELECT modelmgr.save('fitted', m, ARRAY['x1', 'x2', 'x3'])
FROM (SELECT modelmgr.linear_fit(y, ARRAY[x1, x2, x3], '{"l2": 1.0}') AS m FROM houses WHERE id % 2 = 0) s;
SELECT modelmgr.save('fitted', m, ARRAY['x1', 'x2', 'x3'])
FROM (SELECT modelmgr.linear_fit(y, ARRAY[x1, x2, x3], '{"fit_intercept": false}') AS m FROM houses) s;
SELECT modelmgr.deploy('fitted', 2);
SELECT modelmgr.rollback('fitted');
SELECT modelmgr.drop_version('fitted', 3);

-- model "xy": two features, trained on a view
SELECT version FROM modelmgr.train('xy', 'linear_regression', 'houses_xy', 'y', ARRAY['x1', 'x2']);
SELECT version FROM modelmgr.train('xy', 'linear_regression', 'houses_xy', 'y', ARRAY['x1', 'x2'],
                                   params => '{"fit_intercept": false}', deploy => 'never');

-- model "imported": versions imported from exports of other models
SELECT modelmgr.import('imported', modelmgr.export('price', 4));
SELECT modelmgr.import('imported', modelmgr.export('fitted', 2));

-- grants
SELECT modelmgr.grant_use('price', 'regress_reader');
SELECT modelmgr.grant_use('fitted', 'regress_reader');
SELECT modelmgr.grant_use('fitted', 'regress_other');
SELECT modelmgr.revoke_use('fitted', 'regress_other');
SELECT modelmgr.grant_use('xy', 'public');

-- model "owned": owned by a non-superuser role
SET ROLE regress_owner;
SELECT version FROM modelmgr.train('owned', 'linear_regression', 'houses', 'y', ARRAY['x1', 'x2', 'x3']);
SELECT version FROM modelmgr.train('owned', 'linear_regression', 'houses', 'y', ARRAY['x1', 'x3'],
                                   deploy => 'never');
SELECT modelmgr.deploy('owned', 2, 'fewer features');
SELECT modelmgr.grant_use('owned', 'regress_reader');
RESET ROLE;

-- a model that is dropped: the id sequences move past it
SELECT version FROM modelmgr.train('gone', 'linear_regression', 'houses', 'y', ARRAY['x1', 'x2', 'x3']);
SELECT version FROM modelmgr.train('gone', 'linear_regression', 'houses', 'y', ARRAY['x1', 'x2'], deploy => 'always');
SELECT modelmgr.drop_model('gone');

-- model values in a user table: dumped through the type's text I/O
CREATE TABLE kept_models AS
SELECT m.name, v.version, modelmgr.load(m.name, v.version) AS model
FROM modelmgr.models m JOIN modelmgr.model_versions v ON v.model_id = m.id;
};
{
	my ($ret, $out, $err) = $node->psql($src, "SET client_min_messages = warning;\n$history",
		on_error_stop => 1);
	is($ret, 0, 'source: the model history was built without error') or diag($err);
}

is( $node->safe_psql(
		$src, q{
SELECT string_agg(m.name || ':' || v.versions || ':' || coalesce(m.deployed_version::text, '-')
                  || ':' || m.last_version, ' ' ORDER BY m.name)
FROM modelmgr.models m,
     LATERAL (SELECT string_agg(version::text, ',' ORDER BY version) AS versions
              FROM modelmgr.model_versions WHERE model_id = m.id) v}),
	'fitted:1,2:1:3 imported:1,2:1:2 owned:1,2:2:2 price:1,3,4,5:5:6 xy:1,2:1:2',
	'source: models with the expected versions (gaps), deployed and last versions');
is( $node->safe_psql(
		$src, q{
SELECT string_agg(operation, ',' ORDER BY operation)
FROM (SELECT DISTINCT operation FROM modelmgr.model_versions) s}),
	'import,retrain,save,train',
	'source: versions made by train, retrain, save and import');

# ---------------------------------------------------------------------------
# What is compared between the two databases.
# ---------------------------------------------------------------------------
my %table_sql = (
	models => 'SELECT m::text FROM modelmgr.models m ORDER BY id',
	model_versions => 'SELECT v::text FROM modelmgr.model_versions v ORDER BY model_id, version',
	deployments => 'SELECT d::text FROM modelmgr.deployments d ORDER BY id',
	model_grants => 'SELECT g::text FROM modelmgr.model_grants g ORDER BY model_id, grantee',
	# artifact bytes and checksums on their own, so a difference is named
	artifacts => q{SELECT model_id || ' ' || version || ' ' || md5(artifact) || ' ' || checksum
                          || ' ' || size_bytes || ' ' || length(artifact)
                   FROM modelmgr.model_versions ORDER BY model_id, version},
	sequences => q{SELECT 'models_id_seq ' || last_value || ' ' || is_called FROM modelmgr.models_id_seq
                   UNION ALL
                   SELECT 'deployments_id_seq ' || last_value || ' ' || is_called FROM modelmgr.deployments_id_seq},
	kept_models => 'SELECT name || v || md5(model::text) FROM (SELECT name, version AS v, model FROM kept_models) k ORDER BY name, v',
);

# Predictions, as float8 text that round-trips exactly.
my $digits = 'SET extra_float_digits = 3;';
my %predict_sql = (
	by_name_record => qq{$digits
SELECT m.name, h.id, modelmgr.predict(m.name, h)
FROM modelmgr.models m CROSS JOIN houses h ORDER BY m.name, h.id},
	by_name_array => qq{$digits
SELECT m.name, h.id, modelmgr.predict(m.name, ARRAY[h.x1, h.x2, h.x3])
FROM modelmgr.models m CROSS JOIN houses h
WHERE m.name IN ('price', 'fitted', 'imported') ORDER BY m.name, h.id},
	every_version => qq{$digits
SELECT m.name, v.version, h.id, modelmgr.predict(l.model, h)
FROM modelmgr.models m JOIN modelmgr.model_versions v ON v.model_id = m.id
     CROSS JOIN LATERAL (SELECT modelmgr.load(m.name, v.version) AS model OFFSET 0) l
     CROSS JOIN houses h
ORDER BY m.name, v.version, h.id},
	kept_models => qq{$digits
SELECT k.name, k.version, h.id, modelmgr.predict(k.model, h)
FROM kept_models k CROSS JOIN houses h ORDER BY k.name, k.version, h.id},
);

sub snapshot
{
	my ($db) = @_;
	my %snap;

	$snap{$_} = $node->safe_psql($db, $table_sql{$_}) for keys %table_sql;
	$snap{"predict_$_"} = $node->safe_psql($db, $predict_sql{$_}) for keys %predict_sql;
	return \%snap;
}

my $before = snapshot($src);
{
	my @n = map { scalar(split /\n/, $before->{$_}) } qw(models model_versions deployments model_grants);
	note "source rows: models $n[0], model_versions $n[1], deployments $n[2], model_grants $n[3]";
	is($n[0], 5, 'source: 5 models');
	cmp_ok($n[2], '>=', 15, 'source: a deployment history of 15 or more rows');
	is($n[3], 4, 'source: 4 grants (one of the five was revoked)');
	is(scalar(split /\n/, $before->{predict_by_name_record}), 5 * 3000, 'source: one prediction per model and row');
	unlike($before->{predict_every_version}, qr/\|\s*$/m, 'source: every version predicts every row (no NULL)');
}

# ---------------------------------------------------------------------------
# pg_dump -Fc, createdb, pg_restore
# ---------------------------------------------------------------------------
my $dump = $node->basedir . '/src.dump';
{
	my ($stdout, $stderr);
	my $ok = $node->run_log([ 'pg_dump', '-Fc', '-d', $src, '-f', $dump ]);
	ok($ok, 'pg_dump -Fc succeeded');
	$node->command_ok([ 'createdb', $dst ], 'createdb of a fresh database');
	IPC::Run::run([ 'pg_restore', '-h', $node->host, '-p', $node->port, '-d', $dst, $dump ],
		'>', \$stdout, '2>', \$stderr);
	is($? >> 8, 0, 'pg_restore exited with status 0');
	is($stderr, '', 'pg_restore printed no error or warning');
}
is($node->safe_psql($dst, "SELECT extversion FROM pg_extension WHERE extname = 'modelmgr'"),
	'0.2.0', 'restored: CREATE EXTENSION modelmgr ran (version 0.2.0)');

my $after = snapshot($dst);
for my $k (qw(models model_versions deployments model_grants artifacts sequences kept_models))
{
	mm_lines_are($after->{$k}, $before->{$k}, "restored: $k identical to the source");
}
for my $k (sort keys %predict_sql)
{
	mm_lines_are($after->{"predict_$k"}, $before->{"predict_$k"},
		"restored: predictions ($k) bit-identical to the source");
}
is( $node->safe_psql(
		$dst, q{
SELECT count(*) FROM modelmgr.model_versions
WHERE modelmgr.describe(artifact::modelmgr.model)->>'checksum' IS DISTINCT FROM checksum}),
	'0',
	'restored: every artifact validates and its checksum matches the checksum column');

# ---------------------------------------------------------------------------
# Sequences continue: no version number, model id or deployment id is reused.
# ---------------------------------------------------------------------------
{
	my ($models_last, $deploy_last) = map { (split / /)[1] } split /\n/, $before->{sequences};
	my $max_deploy = $node->safe_psql($src, 'SELECT max(id) FROM modelmgr.deployments');
	cmp_ok($models_last, '>', $node->safe_psql($src, 'SELECT max(id) FROM modelmgr.models'),
		'source: models_id_seq is past max(id) (a model was dropped)');

	# first of all, so that nothing else has taken an id yet
	$node->safe_psql($dst, q{SET client_min_messages = warning;
SELECT version FROM modelmgr.train('fresh', 'linear_regression', 'houses', 'y', ARRAY['x1', 'x2'])});
	is($node->safe_psql($dst, "SELECT id FROM modelmgr.models WHERE name = 'fresh'"),
		$models_last + 1, "restored: a new model gets id " . ($models_last + 1) . ", after the source's last id");
	is( $node->safe_psql(
			$dst, q{SELECT d.id FROM modelmgr.deployments d JOIN modelmgr.models m ON m.id = d.model_id
                    WHERE m.name = 'fresh'}),
		$deploy_last + 1,
		"restored: its first deployment gets id " . ($deploy_last + 1) . ", after the source's last id");
	cmp_ok($deploy_last, '>', $max_deploy, "source: deployments_id_seq was past max(id) ($max_deploy)");

	is( $node->safe_psql(
			$dst, q{SET client_min_messages = warning;
SELECT version FROM modelmgr.train('price', 'linear_regression', 'houses', 'y', ARRAY['x1', 'x2', 'x3'], deploy => 'never')}),
		'7',
		'restored: the next version of price is 7 (6 was dropped, never reused)');
	is($node->safe_psql($dst, "SELECT modelmgr.save('fitted', modelmgr.load('fitted', 1))"),
		'4', 'restored: the next version of fitted is 4 (3 was dropped)');
	is($node->safe_psql($dst, "SELECT modelmgr.import('xy', modelmgr.export('xy', 2))"),
		'3', 'restored: import numbers the next version of xy 3');
	is( $node->safe_psql(
			$dst, q{SET client_min_messages = warning;
SELECT version FROM modelmgr.retrain('owned', deploy => 'always')}),
		'3',
		'restored: retrain numbers the next version of owned 3');

	is( $node->safe_psql(
			$dst, q{
SELECT count(*) FROM modelmgr.models m
WHERE m.last_version IS DISTINCT FROM (SELECT max(version) FROM modelmgr.model_versions v WHERE v.model_id = m.id)
  AND m.name IN ('fitted', 'xy', 'owned', 'fresh')}),
		'0',
		'restored: last_version follows the new versions');
}

# ---------------------------------------------------------------------------
# Grants and ownership still work in the restored database.
# ---------------------------------------------------------------------------
like(
	$node->safe_psql(
		$dst, q{SET ROLE regress_reader;
SELECT modelmgr.predict('price', ARRAY[0.1, 0.2, 0.3]::float8[]), modelmgr.predict('fitted', ARRAY[0.1, 0.2, 0.3]::float8[]),
       modelmgr.predict('owned', ARRAY[0.1, 0.3]::float8[])}),
	qr/^-?[\d.e-]+\|-?[\d.e-]+\|-?[\d.e-]+$/,
	'restored: the grantee predicts with price, fitted and owned');
like($node->safe_psql($dst, "SET ROLE regress_nobody; SELECT modelmgr.predict('xy', ARRAY[0.1, 0.2]::float8[])"),
	qr/^-?[\d.e-]+$/, 'restored: the PUBLIC grant of xy still works');
{
	my ($ret, $out, $err) = $node->psql($dst,
		"\\set VERBOSITY verbose\nSET ROLE regress_nobody;\nSELECT modelmgr.predict('price', ARRAY[0.1, 0.2, 0.3]::float8[])");
	like($err, qr/ERROR:\s+42501: permission denied for model "price"/,
		'restored: a role without a grant is refused (42501)');
	($ret, $out, $err) = $node->psql($dst,
		"\\set VERBOSITY verbose\nSET ROLE regress_other;\nSELECT modelmgr.predict('fitted', ARRAY[0.1, 0.2, 0.3]::float8[])");
	like($err, qr/ERROR:\s+42501: permission denied for model "fitted"/,
		'restored: the revoked grant stays revoked (42501)');
	($ret, $out, $err) = $node->psql($dst,
		"\\set VERBOSITY verbose\nSET ROLE regress_reader;\nSELECT modelmgr.deploy('owned', 1)");
	like($err, qr/ERROR:\s+42501: permission denied to deploy model "owned"/,
		'restored: a grantee may not deploy');
}
is($node->safe_psql($dst, "SET ROLE regress_owner; SELECT modelmgr.deploy('owned', 1, 'after restore')"),
	'1', 'restored: the non-superuser owner still deploys its model');

# The deployment history replays the same: rollback picks the same version
# in both databases (each in a transaction that is rolled back).
is($node->safe_psql($dst, "BEGIN; SELECT modelmgr.rollback('price'); ROLLBACK;"),
	$node->safe_psql($src, "BEGIN; SELECT modelmgr.rollback('price'); ROLLBACK;"),
	'restored: rollback of price picks the same version as in the source');

# The restored database's new versions predict, and the old ones are intact.
mm_lines_are(
	$node->safe_psql(
		$dst,
		"$digits SELECT m.name, v.version, h.id, modelmgr.predict(modelmgr.load(m.name, v.version), h) "
		  . "FROM modelmgr.models m JOIN modelmgr.model_versions v ON v.model_id = m.id CROSS JOIN houses h "
		  . "WHERE (m.name, v.version) IN (SELECT name, version FROM kept_models) ORDER BY 1, 2, 3"),
	$before->{predict_every_version},
	'restored: after new versions were added the old ones still predict identically');

# ---------------------------------------------------------------------------
# The DROP EXTENSION guard still refuses in the restored database.
# ---------------------------------------------------------------------------
{
	my ($ret, $out, $err) = $node->psql($dst, "\\set VERBOSITY verbose\nDROP EXTENSION modelmgr");
	isnt($ret, 0, 'restored: DROP EXTENSION modelmgr fails');
	like($err, qr/ERROR:\s+2BP01: cannot drop extension modelmgr: 6 models would be deleted/,
		'restored: the guard names the 6 models (2BP01)');
	($ret, $out, $err) = $node->psql($dst, "\\set VERBOSITY verbose\nDROP SCHEMA modelmgr CASCADE");
	like($err, qr/ERROR:\s+2BP01: cannot drop extension modelmgr/,
		'restored: DROP SCHEMA modelmgr CASCADE is refused too');
	is($node->safe_psql($dst, "SELECT count(*) FROM pg_extension WHERE extname = 'modelmgr'"),
		'1', 'restored: the extension is still there');
	is($node->safe_psql($dst, 'SELECT count(*) FROM modelmgr.models'), '6', 'restored: and its models too');
	# kept_models has a column of type modelmgr.model, which DROP EXTENSION
	# (without CASCADE) rightly refuses to take along
	($ret, $out, $err) =
	  $node->psql($dst, "DROP TABLE kept_models;\nSET modelmgr.allow_drop = on;\nDROP EXTENSION modelmgr");
	is($ret, 0, 'restored: with modelmgr.allow_drop = on the extension can be dropped') or diag($err);
}
is($node->safe_psql($src, 'SELECT count(*) FROM modelmgr.models'), '5',
	'source: untouched by everything done in the restored database');

mm_no_crash($node);
$node->stop;
done_testing();
