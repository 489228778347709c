# 007_live_stats.pl: live prediction statistics and training progress in
# shared memory.  With shared_preload_libraries = 'modelmgr':
# modelmgr.prediction_stats counts calls (statements) and rows exactly per
# model and version, serially and with two parallel workers (also when the
# leader does not participate), across sessions, for a failed statement too;
# modelmgr.reset_prediction_stats() works for a superuser, is refused (42501)
# to an ordinary role, and resets only the current database; the table keeps
# the modelmgr.max_tracked most recently called pairs; training_progress
# shows a running training (phase read, rows_read growing) from another
# session and is empty once it finished or was canceled.  Without preload
# both views return one status row (and a NOTICE) and prediction works.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/lib";

use MMTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $stats_off = 'modelmgr is not in shared_preload_libraries: live prediction statistics are off';
my $progress_off = 'modelmgr is not in shared_preload_libraries: training progress is off';

my $node = mm_node('live_stats', "shared_preload_libraries = 'modelmgr'", 'modelmgr.max_tracked = 100');

# par: 1M rows, y = 1 + 2 x1 - 3 x2 + small noise, two parallel workers.
# small: its first 1000 rows, in order of i (a fresh table scans in insert
# order).  big: 4M rows, read twice through big2, so a training over big2
# reads for a few seconds.
$node->safe_psql(
	'postgres', q{
CREATE UNLOGGED TABLE par (i int, x1 float8, x2 float8, y float8);
INSERT INTO par
SELECT i, sin(i * 0.37), cos(i * 0.11),
       1 + 2 * sin(i * 0.37) - 3 * cos(i * 0.11) + 0.01 * ((i::bigint * 7919) % 1000) / 1000.0
FROM generate_series(1, 1000000) AS i;
ALTER TABLE par SET (parallel_workers = 2);
CREATE TABLE small AS SELECT * FROM par WHERE i <= 1000 ORDER BY i;
CREATE UNLOGGED TABLE big AS SELECT x1, x2, y FROM par;
INSERT INTO big SELECT * FROM big;
INSERT INTO big SELECT * FROM big;
CREATE VIEW big2 AS SELECT * FROM big UNION ALL SELECT * FROM big;
VACUUM ANALYZE par;
VACUUM ANALYZE small;
VACUUM ANALYZE big;
CREATE ROLE regress_stats_user LOGIN;
});

my $s = MMTest::Session->new($node, name => 'predictor');
my $parallel_on = "SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; "
  . "SET min_parallel_table_scan_size = 0; SET max_parallel_workers_per_gather = 2";
my $serial_on = "RESET ALL; SET max_parallel_workers_per_gather = 0";
my $predict_par = "SELECT sum(modelmgr.predict('stats_m', ARRAY[x1, x2])) FROM par";

is($s->query_ok('SHOW modelmgr.max_tracked'), '100', 'modelmgr.max_tracked is set from postgresql.conf');

is( $s->query_ok(
		"SELECT version FROM modelmgr.train('stats_m', 'linear_regression', 'small', 'y', "
		  . "ARRAY['x1', 'x2'], deploy => 'always')"),
	'1',
	'stats_m version 1 trained and deployed');
is( $s->query_ok(
		"SELECT version FROM modelmgr.train('stats_m', 'linear_regression', 'small', 'y', "
		  . "ARRAY['x1', 'x2'], params => '{\"l2\": 0.5}', deploy => 'never')"),
	'2',
	'stats_m version 2 trained, not deployed');
is( $s->query_ok(
		"SELECT modelmgr.save('stats_other', modelmgr.linear_fit(y, ARRAY[x1, x2]), ARRAY['x1', 'x2']) FROM small"),
	'1',
	'stats_other version 1 saved');

# version|calls|rows of a model, one line per version
sub stats_of
{
	my ($model) = @_;
	return $s->query_ok("SELECT version, calls, rows FROM modelmgr.prediction_stats "
		  . "WHERE model = '$model' ORDER BY version");
}

# ---------------------------------------------------------------------------
# Serial: calls are statements, rows are predict() calls
# ---------------------------------------------------------------------------
$s->query_ok($serial_on);
$s->query_ok('SELECT modelmgr.reset_prediction_stats()');
is(stats_of('stats_m'), '', 'after a reset there is no row for stats_m');

is($s->query_ok("SELECT count(modelmgr.predict('stats_m', ARRAY[x1, x2])) FROM par"),
	'1000000', 'serial: predicted 1000000 rows');
is(stats_of('stats_m'), '1|1|1000000', 'serial: one statement over 1M rows counts calls 1, rows 1000000');

$s->query_ok("SELECT count(modelmgr.predict('stats_m', ARRAY[x1, x2])) FROM par");
is(stats_of('stats_m'), '1|2|2000000', 'serial: a second statement makes calls 2, rows 2000000');

is( $s->query_ok(
		"SELECT total_time_ms > 0, abs(mean_time_ms - total_time_ms / calls) <= 1e-9 * total_time_ms, "
		  . "max_time_ms <= total_time_ms, max_time_ms >= mean_time_ms * (1 - 1e-9), "
		  . "last_call BETWEEN now() - interval '10 minutes' AND clock_timestamp(), status "
		  . "FROM modelmgr.prediction_stats WHERE model = 'stats_m'"),
	't|t|t|t|t|ok',
	'times: total > 0, mean = total / calls, mean <= max <= total, last_call recent, status ok');

$s->query_ok("SELECT count(modelmgr.predict('stats_m', p)) FROM par p WHERE i <= 500");
is(stats_of('stats_m'), '1|3|2000500', 'predict(name, record) is counted too: calls 3, rows 2000500');

# two models in one statement: each gets one call
$s->query_ok("SELECT count(modelmgr.predict('stats_m', ARRAY[x1, x2])), "
	  . "count(modelmgr.predict('stats_other', ARRAY[x1, x2])) FROM par WHERE i <= 100");
is(stats_of('stats_m'), '1|4|2000600', 'two models in one statement: stats_m calls 4, rows 2000600');
is(stats_of('stats_other'), '1|1|100', 'two models in one statement: stats_other calls 1, rows 100');

# ---------------------------------------------------------------------------
# Parallel: the workers' rows are counted, and the statement is one call
# ---------------------------------------------------------------------------
{
	$s->query_ok($parallel_on);
	$s->query_ok('SELECT modelmgr.reset_prediction_stats()');
	my $plan = $s->query_ok("EXPLAIN (ANALYZE, VERBOSE, COSTS OFF, TIMING OFF, SUMMARY OFF) $predict_par");
	like($plan, qr/Workers Launched: 2/, 'parallel predict: Workers Launched: 2');
	like($plan, qr/Partial Aggregate.*\n.*Output: PARTIAL sum\(modelmgr\.predict/,
		'parallel predict: predict() runs below the Gather, in the workers');
	is(stats_of('stats_m'), '1|1|1000000',
		'parallel (2 workers and the leader): one statement counts calls 1, rows 1000000');

	$s->query_ok('SET parallel_leader_participation = off');
	$plan = $s->query_ok("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) $predict_par");
	like($plan, qr/Workers Launched: 2/, 'parallel predict, leader not participating: Workers Launched: 2');
	is(stats_of('stats_m'), '1|2|2000000',
		'parallel, only the workers predict: calls 2, rows 2000000');

	$s->query_ok('RESET parallel_leader_participation');
	$s->query_ok($predict_par);
	is(stats_of('stats_m'), '1|3|3000000', 'a plain parallel SELECT: calls 3, rows 3000000');
	is( $s->query_ok(
			"SELECT max_time_ms <= total_time_ms AND max_time_ms >= mean_time_ms * (1 - 1e-9) "
			  . "FROM modelmgr.prediction_stats WHERE model = 'stats_m'"),
		't',
		'parallel: a statement\'s time is counted once (mean <= max <= total)');
}

# ---------------------------------------------------------------------------
# Versions, sessions, a failed statement
# ---------------------------------------------------------------------------
{
	$s->query_ok($serial_on);
	$s->query_ok("SELECT modelmgr.deploy('stats_m', 2, 'live stats test')");
	$s->query_ok("SELECT count(modelmgr.predict('stats_m', ARRAY[x1, x2])) FROM par WHERE i <= 1000");
	is(stats_of('stats_m'), "1|3|3000000\n2|1|1000", 'after deploying version 2: version 2 is counted separately');

	my $s2 = MMTest::Session->new($node, name => 'second session');
	$s2->query_ok("SELECT count(modelmgr.predict('stats_m', ARRAY[x1, x2])) FROM small WHERE i <= 10");
	is(stats_of('stats_m'), "1|3|3000000\n2|2|1010", 'another session adds to the same counts');
	$s2->quit;

	# predict() runs before the division: rows i = 1 .. 50 are predicted
	my $r = $s->query("SELECT modelmgr.predict('stats_m', ARRAY[x1, x2]) / (i - 50) FROM small");
	like($r->{err}, qr/ERROR:\s+22012/, 'a statement failing at its 50th row');
	is(stats_of('stats_m'), "1|3|3000000\n2|3|1060", 'the failed statement is counted: calls +1, rows +50');
}

# ---------------------------------------------------------------------------
# Reset: superuser only (not granted to PUBLIC), per database
# ---------------------------------------------------------------------------
{
	my $r = $s->query("SET ROLE regress_stats_user;\nSELECT modelmgr.reset_prediction_stats()");
	like($r->{err}, qr/ERROR:\s+42501: permission denied for function reset_prediction_stats/,
		'an ordinary role may not reset the statistics (42501)');
	is($s->query_ok('SELECT count(*) FROM modelmgr.prediction_stats'),
		'0', 'an ordinary role sees no statistics of a model it may not use');
	$s->query_ok('RESET ROLE');
	$s->query_ok("SELECT modelmgr.grant_use('stats_m', 'regress_stats_user')");
	$s->query_ok('SET ROLE regress_stats_user');
	is($s->query_ok('SELECT count(*) FROM modelmgr.prediction_stats'),
		'2', 'with USE on the model it reads both versions\' statistics');
	$s->query_ok('RESET ROLE');
	$s->query_ok("SELECT modelmgr.revoke_use('stats_m', 'regress_stats_user')");
	is(stats_of('stats_m'), "1|3|3000000\n2|3|1060", 'the refused reset changed nothing');

	$node->safe_psql('postgres', 'CREATE DATABASE stats_other_db');
	$node->safe_psql('stats_other_db', 'CREATE EXTENSION modelmgr');
	is($node->safe_psql('stats_other_db', 'SELECT count(*) FROM modelmgr.prediction_stats'),
		'0', 'another database sees none of these statistics');
	$node->safe_psql('stats_other_db', 'SELECT modelmgr.reset_prediction_stats()');
	is(stats_of('stats_m'), "1|3|3000000\n2|3|1060", 'a reset in another database leaves this one alone');

	$s->query_ok('SELECT modelmgr.reset_prediction_stats()');
	is($s->query_ok('SELECT count(*) FROM modelmgr.prediction_stats'),
		'0', 'a superuser reset empties prediction_stats');
}

# ---------------------------------------------------------------------------
# modelmgr.max_tracked = 100: the least recently called pairs are evicted
# ---------------------------------------------------------------------------
{
	is( $s->query_ok(
			"SELECT count(modelmgr.save(format('evict_%s', lpad(g::text, 3, '0')), m, ARRAY['x1', 'x2'])) "
			  . "FROM (SELECT modelmgr.linear_fit(y, ARRAY[x1, x2]) AS m FROM small) s, "
			  . "generate_series(0, 104) AS g"),
		'105',
		'105 models saved');
	$s->query_ok('SELECT modelmgr.reset_prediction_stats()');
	$s->query_ok(join("\n", map { sprintf("SELECT modelmgr.predict('evict_%03d', ARRAY[1.0, 2.0]);", $_) } 0 .. 104));
	is( $s->query_ok(
			"SELECT count(*), min(model), max(model), sum(calls), sum(rows) FROM modelmgr.prediction_stats"),
		'100|evict_005|evict_104|100|100',
		'105 models predicted in turn: the 100 most recent are kept');
	$s->query_ok("SELECT modelmgr.predict('evict_000', ARRAY[1.0, 2.0])");
	is( $s->query_ok(
			"SELECT count(*), bool_or(model = 'evict_000'), bool_or(model = 'evict_005') FROM modelmgr.prediction_stats"),
		'100|t|f',
		'a new pair evicts the least recently called one');
}

# ---------------------------------------------------------------------------
# training_progress: a running training, seen from another session
# ---------------------------------------------------------------------------
my $trainer = MMTest::Session->new($node, name => 'trainer');
my $tpid = $trainer->pid;

sub train_sql
{
	my ($model) = @_;
	return "SELECT 'RESULT', version FROM modelmgr.train('$model', 'linear_regression', 'big2', 'y', "
	  . "ARRAY['x1', 'x2'], deploy => 'never')";
}

is($s->query_ok('SELECT count(*) FROM modelmgr.training_progress'), '0', 'no training runs: training_progress is empty');
{
	$trainer->start(train_sql('progress_m'));
	ok( $s->wait_for_true(
			"SELECT EXISTS (SELECT FROM modelmgr.training_progress WHERE pid = $tpid "
			  . "AND phase = 'read' AND rows_read > 0)",
			60, $trainer),
		'training_progress shows the running training in phase read with rows read');
	my $first = $s->query_ok("SELECT rows_read FROM modelmgr.training_progress WHERE pid = $tpid");
	is( $s->query_ok(
			"SELECT model, algorithm, status, started_at <= now(), elapsed_seconds >= 0 "
			  . "FROM modelmgr.training_progress WHERE pid = $tpid"),
		'progress_m|linear_regression|ok|t|t',
		'training_progress: model, algorithm, status ok, started_at and elapsed_seconds');
	is($node->safe_psql('stats_other_db', 'SELECT count(*) FROM modelmgr.training_progress'),
		'0', 'another database does not see the training');
	ok( $s->wait_for_true(
			"SELECT coalesce((SELECT rows_read > " . ($first || 0)
			  . " FROM modelmgr.training_progress WHERE pid = $tpid), false)",
			60, $trainer),
		"rows_read grows while the training reads (first seen: $first)");
	my $r = $trainer->finish;
	is($r->{err}, '', 'the training succeeded');
	is($r->{out}, 'RESULT|1', 'the training made version 1 of progress_m');
	is($s->query_ok('SELECT count(*) FROM modelmgr.training_progress'), '0',
		'training_progress is empty after the training finished');
}
{
	$trainer->start(train_sql('progress_cancel'));
	ok( $s->wait_for_true(
			"SELECT EXISTS (SELECT FROM modelmgr.training_progress WHERE pid = $tpid AND model = 'progress_cancel')",
			60, $trainer),
		'training_progress shows the second training');
	is($s->query_ok("SELECT pg_cancel_backend($tpid)"), 't', 'pg_cancel_backend found the trainer');
	my $r = $trainer->finish;
	like($r->{err}, qr/ERROR:\s+57014/, 'the training was canceled (57014)');
	is($s->query_ok('SELECT count(*) FROM modelmgr.training_progress'), '0',
		'training_progress is empty after the training was canceled');

	$trainer->query_ok("SET statement_timeout = '300ms'");
	$r = $trainer->query("BEGIN;\nSAVEPOINT a;\n" . train_sql('progress_timeout'));
	like($r->{err}, qr/ERROR:\s+57014/, 'a training inside a savepoint timed out (57014)');
	is($s->query_ok('SELECT count(*) FROM modelmgr.training_progress'), '0',
		'training_progress is empty while the transaction that ran it is still open (aborted)');
	$trainer->query_ok("ROLLBACK;\nRESET statement_timeout");
}
$trainer->quit;
$s->quit;
$node->stop;

# ---------------------------------------------------------------------------
# Without preload: one status row per view, and everything else works
# ---------------------------------------------------------------------------
{
	my $plain = mm_node('no_preload');

	$plain->safe_psql(
		'postgres', q{
CREATE TABLE small AS
SELECT i, sin(i * 0.37) AS x1, cos(i * 0.11) AS x2,
       1 + 2 * sin(i * 0.37) - 3 * cos(i * 0.11) AS y
FROM generate_series(1, 1000) AS i;
});
	is( $plain->safe_psql('postgres',
			"SELECT version FROM modelmgr.train('np_m', 'linear_regression', 'small', 'y', ARRAY['x1', 'x2'], deploy => 'always')"),
		'1',
		'without preload: train() works');
	is($plain->safe_psql('postgres', "SELECT count(modelmgr.predict('np_m', ARRAY[x1, x2])) FROM small"),
		'1000', 'without preload: predict() works');

	my ($ret, $out, $err) = $plain->psql('postgres',
		'SELECT model IS NULL, version IS NULL, calls IS NULL, rows IS NULL, last_call IS NULL, status '
		  . 'FROM modelmgr.prediction_stats');
	is($ret, 0, 'without preload: prediction_stats can be read');
	is($out, "t|t|t|t|t|$stats_off", 'without preload: prediction_stats is one status row');
	like($err, qr/NOTICE:\s+\Q$stats_off\E/, 'without preload: prediction_stats raises a NOTICE saying so');

	($ret, $out, $err) = $plain->psql('postgres',
		'SELECT pid IS NULL, model IS NULL, phase IS NULL, rows_read IS NULL, status FROM modelmgr.training_progress');
	is($ret, 0, 'without preload: training_progress can be read');
	is($out, "t|t|t|t|$progress_off", 'without preload: training_progress is one status row');
	like($err, qr/NOTICE:\s+\Q$progress_off\E/, 'without preload: training_progress raises a NOTICE saying so');

	($ret, $out, $err) = $plain->psql('postgres', 'SELECT modelmgr.reset_prediction_stats()');
	is($ret, 0, 'without preload: reset_prediction_stats() succeeds (nothing to reset)');

	$plain->stop;
}

done_testing();
