# 010_crash.pl: an immediate shutdown (pg_ctl -m immediate, every backend
# killed without a checkpoint, crash recovery at the next start) while models
# are being trained.
#
# A committed history first: model a (train, train with deploy => never,
# retrain, deploy of an older version, rollback, a version trained and
# dropped, a USE grant, a monitor() run) and model b (linear_fit + save,
# then a train).  We record the whole registry (every row of every table in
# schema modelmgr, artifacts as md5), every version's predictions over 2000
# rows through load() (float8 text, extra_float_digits = 3), the deployed
# predictions, and md5 of every export().
#
# Crash 1: two trainings are in the middle of reading 9M rows (seen in
#   modelmgr.training_progress): a new version of a and a new model fresh.
# Crash 2: four trainings are inside the final registry write, held there
#   by a session that locks modelmgr.deployments (SHARE) and b's model row
#   (FOR UPDATE): a new version of a and a new model fresh2 have already
#   numbered and inserted their version (they hold RowExclusiveLock on
#   model_versions) and wait to insert their deployments row; a train of b
#   waits for b's row lock; a retrain of a waits for a's row lock.
#
# After each restart (recovery seen in the log): the registry equals the
# recorded state row for row (no partial version, no new model row,
# last_version unchanged), it is internally consistent, every committed
# version predicts bit-identically as before, exports are byte-identical.
# The sequences behind models.id and deployments.id may have advanced (a
# crash may skip sequence values; that is allowed) but never go backwards.
# Finally new trainings get the next version number (never a reused or a
# dropped one), new ids do not collide, and amcheck finds the registry's
# heap and indexes intact.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/lib";

use IPC::Run;
use MMTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $t_start = time;
my $node = mm_node('crash', "shared_preload_libraries = 'modelmgr'");
my @x = map { "x$_" } 1 .. 8;
my $features = mm_sql_list(@x);
my $xarray = 'ARRAY[' . join(', ', map { "s.$_" } @x) . ']';

# big: 3M rows x 8 features, read three times through big3 (unlogged: it is empty
# after the crash, which is fine, nothing committed depends on it).  mid:
# 20k logged rows for the committed versions; sample: its first 2000 rows.
$node->safe_psql(
	'postgres', q{
SET client_min_messages = warning;
CREATE UNLOGGED TABLE big (id bigint, x1 float8, x2 float8, x3 float8, x4 float8,
                           x5 float8, x6 float8, x7 float8, x8 float8, y float8);
INSERT INTO big
SELECT i, x1, x2, x3, x4, x5, x6, x7, x8,
       1 + 2 * x1 - 3 * x2 + 0.5 * x3 + 4 * x4 - x5 + 0.25 * x6 + 3 * x7 - 2 * x8 + e
FROM (SELECT i, sin(d * 0.37) AS x1, cos(d * 0.11) AS x2, sin(d * 0.013) AS x3,
             ((i * 7919) % 1000)::float8 / 1000 AS x4, cos(d * 0.7) AS x5, sin(d * 1.3) AS x6,
             ((i * 104729) % 997)::float8 / 997 AS x7, cos(d * 0.0031) AS x8,
             0.1 * (((i * 2654435761) % 1000003)::float8 / 1000003 - 0.5) AS e
      FROM generate_series(1::bigint, 3000000::bigint) AS i,
           LATERAL (SELECT i::float8 AS d) AS dd) AS s;
CREATE VIEW big3 AS SELECT * FROM big UNION ALL SELECT * FROM big UNION ALL SELECT * FROM big;
CREATE TABLE mid AS SELECT * FROM big WHERE id <= 20000;
ALTER TABLE mid ADD PRIMARY KEY (id);
CREATE TABLE sample AS SELECT * FROM mid WHERE id <= 2000;
VACUUM ANALYZE big;
VACUUM ANALYZE mid;
VACUUM ANALYZE sample;
CREATE ROLE regress_crash_reader;
});

# the committed history
$node->safe_psql(
	'postgres', qq{
SET client_min_messages = warning;
SELECT version FROM modelmgr.train('a', 'linear_regression', 'mid', 'y', $features);
SELECT version FROM modelmgr.train('a', 'linear_regression', 'mid', 'y', $features,
                                   params => '{"l2": 1000}', deploy => 'never');
UPDATE mid SET y = y + 0.1 * x1 WHERE id % 2 = 0;
SELECT version FROM modelmgr.retrain('a', deploy => 'always');
SELECT modelmgr.deploy('a', 2, 'crash test: an older version');
SELECT modelmgr.rollback('a', 'crash test: back');
SELECT version FROM modelmgr.train('a', 'linear_regression', 'mid', 'y', $features,
                                   params => '{"l2": 10}', deploy => 'never');
SELECT modelmgr.drop_version('a', 4);
SELECT modelmgr.grant_use('a', 'regress_crash_reader');
SELECT status FROM modelmgr.monitor('a', 'mid');
SELECT modelmgr.save('b', f, $features)
FROM (SELECT modelmgr.linear_fit(y, ARRAY[x1, x2, x3, x4, x5, x6, x7, x8]) AS f FROM mid) s;
SELECT version FROM modelmgr.train('b', 'linear_regression', 'mid', 'y', $features, deploy => 'never');
});
is( $node->safe_psql(
		'postgres', q{
SELECT string_agg(m.name || ':' || m.deployed_version || '/' || m.last_version || ':'
                  || (SELECT string_agg(v.version::text, ',' ORDER BY v.version)
                      FROM modelmgr.model_versions v WHERE v.model_id = m.id), ' ' ORDER BY m.name)
FROM modelmgr.models m}),
	'a:3/4:1,2,3 b:1/2:1,2',
	'committed history: a deployed 3, last 4, versions 1,2,3 (4 dropped); b deployed 1, versions 1,2');

# ---------------------------------------------------------------------------
# What must survive, exactly.
# ---------------------------------------------------------------------------

# Every row of every table in schema modelmgr, as jsonb text, artifacts as
# md5; one line per row.
sub registry_rows
{
	my $tables = $node->safe_psql('postgres',
		"SELECT string_agg(relname, ' ' ORDER BY relname) FROM pg_class "
		  . "WHERE relnamespace = 'modelmgr'::regnamespace AND relkind = 'r'");
	my $sql = join("\nUNION ALL\n",
		map {
			"SELECT '$_ ' || (to_jsonb(t) - 'artifact' || CASE WHEN to_jsonb(t) ? 'artifact' "
			  . "THEN jsonb_build_object('artifact_md5', md5(to_jsonb(t) ->> 'artifact')) ELSE '{}' END)::text "
			  . "FROM modelmgr.$_ t"
		} split / /, $tables);
	return $node->safe_psql('postgres', "SELECT line FROM ($sql) s(line) ORDER BY line");
}

# Every version's predictions over sample (through load), the deployed
# predictions (through the name), and md5 of every export.
sub predictions
{
	return $node->safe_psql(
		'postgres', qq{
SET extra_float_digits = 3;
WITH vm AS MATERIALIZED (
    SELECT m.name, v.version, modelmgr.load(m.name, v.version) AS mdl
    FROM modelmgr.models m JOIN modelmgr.model_versions v ON v.model_id = m.id)
SELECT line FROM (
    SELECT vm.name || '|' || vm.version || '|' || s.id || '|' || modelmgr.predict(vm.mdl, $xarray) AS line
    FROM vm CROSS JOIN sample s
    UNION ALL
    SELECT m.name || '|deployed|' || s.id || '|' || modelmgr.predict(m.name, $xarray)
    FROM modelmgr.models m CROSS JOIN sample s WHERE m.deployed_version IS NOT NULL
    UNION ALL
    SELECT m.name || '|' || v.version || '|export md5 ' || md5(modelmgr.export(m.name, v.version))
    FROM modelmgr.models m JOIN modelmgr.model_versions v ON v.model_id = m.id) s
ORDER BY line});
}

# Violations of the registry's own invariants, one line each ('' if none).
sub inconsistencies
{
	return $node->safe_psql(
		'postgres', q{
SELECT string_agg(problem, E'\n') FROM (
    SELECT 'version ' || v.version || ' of missing model ' || v.model_id AS problem
    FROM modelmgr.model_versions v WHERE NOT EXISTS (SELECT 1 FROM modelmgr.models m WHERE m.id = v.model_id)
    UNION ALL
    SELECT 'model ' || m.name || ': version ' || v.version || ' above last_version ' || m.last_version
    FROM modelmgr.models m JOIN modelmgr.model_versions v ON v.model_id = m.id WHERE v.version > m.last_version
    UNION ALL
    SELECT 'model ' || m.name || ': deployed version ' || m.deployed_version || ' does not exist'
    FROM modelmgr.models m WHERE m.deployed_version IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM modelmgr.model_versions v WHERE v.model_id = m.id AND v.version = m.deployed_version)
    UNION ALL
    SELECT 'model ' || m.name || ': has no version'
    FROM modelmgr.models m WHERE NOT EXISTS (SELECT 1 FROM modelmgr.model_versions v WHERE v.model_id = m.id)
    UNION ALL
    SELECT 'model ' || m.name || ': deployed_version ' || coalesce(m.deployed_version::text, 'NULL')
           || ' is not the target of its latest deployments row'
    FROM modelmgr.models m WHERE m.deployed_version IS DISTINCT FROM (
        SELECT d.to_version FROM modelmgr.deployments d WHERE d.model_id = m.id ORDER BY d.id DESC LIMIT 1)
    UNION ALL
    SELECT 'model ' || m.name || ': artifact of version ' || v.version || ' has size ' || length(v.artifact)
           || ', recorded ' || v.size_bytes
    FROM modelmgr.models m JOIN modelmgr.model_versions v ON v.model_id = m.id
    WHERE length(v.artifact) <> v.size_bytes
    UNION ALL
    SELECT 'models_id_seq at ' || (SELECT last_value FROM modelmgr.models_id_seq) || ' behind model id ' || max(id)
    FROM modelmgr.models HAVING max(id) > (SELECT last_value FROM modelmgr.models_id_seq)
    UNION ALL
    SELECT 'deployments_id_seq at ' || (SELECT last_value FROM modelmgr.deployments_id_seq)
           || ' behind deployment id ' || max(id)
    FROM modelmgr.deployments HAVING max(id) > (SELECT last_value FROM modelmgr.deployments_id_seq)) s});
}

sub sequences
{
	return $node->safe_psql('postgres',
		"SELECT string_agg(last_value::text, ' ' ORDER BY seq) FROM (" . "SELECT 1 AS seq, last_value FROM modelmgr.models_id_seq UNION ALL "
		  . "SELECT 2, last_value FROM modelmgr.deployments_id_seq UNION ALL "
		  . "SELECT 3, last_value FROM modelmgr.evaluations_id_seq) s");
}

my $rows_before = registry_rows();
my $preds_before = predictions();
my @seq_before = split / /, sequences();
is(inconsistencies(), '', 'before the crashes: the registry is consistent');
cmp_ok(scalar(split /\n/, $preds_before), '==', 5 * 2000 + 2 * 2000 + 5,
	'recorded 2000 predictions of each of the 5 versions, of the 2 deployed versions, and 5 exports');

# A psql that runs $sql (psql -c: one query message, one transaction) in
# the background as application_name $app; it dies with the server.
sub bg_psql
{
	my ($app, $sql) = @_;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[ 'psql', '-X', '-At', '-d', $node->connstr('postgres') . " application_name=$app", '-c', $sql ],
		'<', \undef, '>', \$out, '2>', \$err,
		IPC::Run::timeout(180));
	return { app => $app, h => $h, out => \$out, err => \$err };
}

my $restart_offset;

# Crash, restart, and check that recovery ran and everything recorded is
# there exactly as it was.
sub crash_and_check
{
	my ($label, @victims) = @_;
	my $offset = -s $node->logfile;
	my $t0 = time;

	$node->stop('immediate');
	note sprintf('%s: immediate shutdown took %.2f s', $label, time - $t0);
	for my $v (@victims)
	{
		$v->{h}->finish;
		unlike(${ $v->{out} }, qr/RESULT/, "$label: $v->{app} did not finish its training before the crash");
		like(${ $v->{err} }, qr/server closed the connection unexpectedly|terminating connection|connection to server was lost/,
			"$label: $v->{app} lost its connection");
	}
	$t0 = time;
	$node->start;
	note sprintf('%s: restart (crash recovery) took %.2f s', $label, time - $t0);
	my $log = PostgreSQL::Test::Utils::slurp_file($node->logfile, $offset);
	$restart_offset = -s $node->logfile;
	like($log, qr/database system was not properly shut down; automatic recovery in progress/,
		"$label: the restart ran crash recovery");
	like($log, qr/database system is ready to accept connections/, "$label: the server is up again");

	is(inconsistencies(), '', "$label: the registry is consistent");
	mm_lines_are(registry_rows(), $rows_before,
		"$label: every registry row is exactly as before (no partial version, no new model, last_version unchanged)");
	mm_lines_are(predictions(), $preds_before,
		"$label: every committed version predicts bit-identically as before, deployed predictions and exports unchanged");
	my @seq = split / /, sequences();
	ok($seq[0] >= $seq_before[0] && $seq[1] >= $seq_before[1] && $seq[2] >= $seq_before[2],
		"$label: no sequence went backwards (@seq_before -> @seq; advancing is allowed)");
	is($node->safe_psql('postgres', "SELECT count(*) FROM pg_prepared_xacts"), '0', "$label: no prepared transaction");
	is($node->safe_psql('postgres', 'SELECT count(*) FROM modelmgr.training_progress WHERE model IS NOT NULL'),
		'0', "$label: training_progress shows no training (none survived in shared memory)");
	return;
}

# ---------------------------------------------------------------------------
# Crash 1: in the middle of two trainings (reading 9M rows).
# ---------------------------------------------------------------------------
{
	my @victims = (
		bg_psql('crash1_a',
			"SELECT 'RESULT', version FROM modelmgr.train('a', 'linear_regression', 'big3', 'y', $features, deploy => 'always');"),
		bg_psql('crash1_fresh',
			"SELECT 'RESULT', version FROM modelmgr.train('fresh', 'linear_regression', 'big3', 'y', $features);"));
	my $mid_training = q{
SELECT count(*) = 2 FROM modelmgr.training_progress
WHERE model IN ('a', 'fresh') AND phase = 'read' AND rows_read >= 200000 AND elapsed_seconds >= 1};

	ok(mm_poll_until($node, 'postgres', $mid_training, 60, 0.05),
		'crash 1: both trainings are reading (>= 200k rows read, >= 1 s)');
	note "crash 1: at the crash: "
	  . $node->safe_psql('postgres',
		"SELECT string_agg(model || ' ' || phase || ' ' || rows_read || ' rows ' || round(elapsed_seconds::numeric, 2) || ' s', '; ' ORDER BY model) "
		  . "FROM modelmgr.training_progress WHERE model IS NOT NULL");
	ok(!grep({ !$_->{h}->pumpable } @victims), 'crash 1: both training sessions are still running');
	crash_and_check('crash 1', @victims);
	is($node->safe_psql('postgres', "SELECT count(*) FROM modelmgr.models WHERE name = 'fresh'"),
		'0', 'crash 1: no row for the new model fresh');
	is($node->safe_psql('postgres', 'SELECT count(*) FROM big'), '0',
		'crash 1: the unlogged table big was reset by crash recovery (it was a real crash)');
}

# ---------------------------------------------------------------------------
# Crash 2: inside the final registry write.
# ---------------------------------------------------------------------------
{
	my $locker = bg_psql('crash2_locker', q{
BEGIN;
SELECT 1 FROM modelmgr.models WHERE name = 'b' FOR UPDATE;
LOCK TABLE modelmgr.deployments IN SHARE MODE;
SELECT pg_sleep(170);
});
	ok( mm_poll_until(
			$node, 'postgres', q{
SELECT count(*) = 1 FROM pg_locks l JOIN pg_stat_activity s ON s.pid = l.pid
WHERE s.application_name = 'crash2_locker' AND l.relation = 'modelmgr.deployments'::regclass
  AND l.mode = 'ShareLock' AND l.granted}, 30, 0.05),
		'crash 2: a session holds b\'s row lock and a SHARE lock on modelmgr.deployments');

	my @victims = (
		$locker,
		bg_psql('crash2_a',
			"SELECT 'RESULT', version FROM modelmgr.train('a', 'linear_regression', 'mid', 'y', $features, deploy => 'always');"),
		bg_psql('crash2_fresh2',
			"SELECT 'RESULT', version FROM modelmgr.train('fresh2', 'linear_regression', 'mid', 'y', $features);"));
	# a's row lock is held by crash2_a from its version numbering on: start
	# the retrain of a once crash2_a waits for deployments
	ok( mm_poll_until(
			$node, 'postgres', q{
SELECT count(*) = 2 FROM pg_locks w JOIN pg_stat_activity s ON s.pid = w.pid
WHERE s.application_name IN ('crash2_a', 'crash2_fresh2')
  AND w.relation = 'modelmgr.deployments'::regclass AND NOT w.granted
  AND EXISTS (SELECT 1 FROM pg_locks i WHERE i.pid = w.pid AND i.relation = 'modelmgr.model_versions'::regclass
              AND i.mode = 'RowExclusiveLock' AND i.granted)
  AND EXISTS (SELECT 1 FROM pg_locks i WHERE i.pid = w.pid AND i.relation = 'modelmgr.models'::regclass
              AND i.mode = 'RowExclusiveLock' AND i.granted)}, 60, 0.05),
		'crash 2: the trainings of a and fresh2 have written models and model_versions and wait to insert into deployments'
	);
	push @victims,
	  bg_psql('crash2_b',
		"SELECT 'RESULT', version FROM modelmgr.train('b', 'linear_regression', 'mid', 'y', $features, deploy => 'never');"),
	  bg_psql('crash2_retrain_a', "SELECT 'RESULT', version FROM modelmgr.retrain('a', deploy => 'always');");
	ok( mm_poll_until(
			$node, 'postgres', q{
SELECT count(*) = 4 FROM pg_stat_activity
WHERE application_name IN ('crash2_a', 'crash2_fresh2', 'crash2_b', 'crash2_retrain_a')
  AND wait_event_type = 'Lock'}, 60, 0.05),
		'crash 2: the train of b waits for b\'s row lock and the retrain of a for a\'s');
	note "crash 2: at the crash:\n"
	  . $node->safe_psql('postgres', q{
SELECT s.application_name || ': ' || s.wait_event_type || '/' || s.wait_event || ' ' ||
       coalesce((SELECT string_agg(l.locktype || coalesce(' ' || l.relation::regclass::text, '') || ' ' || l.mode, ', ')
                 FROM pg_locks l WHERE l.pid = s.pid AND NOT l.granted), '')
FROM pg_stat_activity s WHERE s.application_name LIKE 'crash2_%' ORDER BY 1});
	crash_and_check('crash 2', @victims[ 1 .. $#victims ]);
	$locker->{h}->finish;
	is($node->safe_psql('postgres', "SELECT count(*) FROM modelmgr.models WHERE name IN ('fresh', 'fresh2')"),
		'0', 'crash 2: no row for the new model fresh2');
}

# ---------------------------------------------------------------------------
# After the crashes: new versions get the next numbers, ids do not collide.
# ---------------------------------------------------------------------------
{
	my $max_model_id = $node->safe_psql('postgres', 'SELECT max(id) FROM modelmgr.models');
	my $max_event_id = $node->safe_psql('postgres', 'SELECT max(id) FROM modelmgr.deployments');
	my $r = $node->safe_psql(
		'postgres', qq{
SET client_min_messages = warning;
SELECT version FROM modelmgr.train('a', 'linear_regression', 'mid', 'y', $features, deploy => 'always');
SELECT version FROM modelmgr.retrain('a', deploy => 'always');
SELECT version FROM modelmgr.train('b', 'linear_regression', 'mid', 'y', $features, deploy => 'never');
SELECT version FROM modelmgr.train('fresh', 'linear_regression', 'mid', 'y', $features);});

	is(join(',', split /\n/, $r), '5,6,3,1',
		'after the crashes: a gets versions 5 and 6 (4 was dropped, never reused), b gets 3, the new model fresh 1');
	cmp_ok($node->safe_psql('postgres', "SELECT id FROM modelmgr.models WHERE name = 'fresh'"), '>', $max_model_id,
		'the new model\'s id is above every earlier model id');
	cmp_ok($node->safe_psql('postgres', 'SELECT min(id) FROM modelmgr.deployments WHERE id > ' . $max_event_id),
		'>', $max_event_id, 'new deployments rows got new ids');
	is( $node->safe_psql(
			'postgres', q{
SELECT string_agg(m.name || ':' || m.deployed_version || '/' || m.last_version || ':'
                  || (SELECT string_agg(v.version::text, ',' ORDER BY v.version)
                      FROM modelmgr.model_versions v WHERE v.model_id = m.id), ' ' ORDER BY m.name)
FROM modelmgr.models m}),
		'a:6/6:1,2,3,5,6 b:1/3:1,2,3 fresh:1/1:1',
		'after the crashes: the registry holds exactly the committed versions');
	is(inconsistencies(), '', 'after the new trainings: the registry is consistent');
	is( $node->safe_psql(
			'postgres', qq{
SET extra_float_digits = 3;
SELECT count(*) FROM sample s
WHERE modelmgr.predict('a', $xarray) IS DISTINCT FROM modelmgr.predict(modelmgr.load('a', 6), $xarray)
   OR modelmgr.predict('fresh', $xarray) IS DISTINCT FROM modelmgr.predict(modelmgr.load('fresh', 1), $xarray)}),
		'0',
		'the new versions serve predictions');

	# the old versions are untouched by the new ones
	my $old = join("\n", grep { !/^(fresh\||a\|(5|6|deployed)\||b\|3\|)/ } split /\n/, predictions());
	my $want = join("\n", grep { !/^a\|deployed\|/ } split /\n/, $preds_before);
	mm_lines_are($old, $want, 'the versions from before the crashes still predict bit-identically');
}

# amcheck: the registry's heap and B-tree indexes are intact.
{
	my $r = $node->safe_psql(
		'postgres', q{
SET client_min_messages = warning;
CREATE EXTENSION amcheck;
SELECT (SELECT count(*) FROM (
            SELECT bt_index_parent_check(c.oid, true) FROM pg_class c
            WHERE c.relnamespace = 'modelmgr'::regnamespace AND c.relkind = 'i'
              AND c.relam = (SELECT oid FROM pg_am WHERE amname = 'btree')) s) || '|' ||
       (SELECT count(*) FROM pg_class c, LATERAL verify_heapam(c.oid, check_toast => true) v
        WHERE c.relnamespace = 'modelmgr'::regnamespace AND c.relkind = 'r');});
	like($r, qr/^\d+\|0$/, "amcheck: every registry index passes bt_index_parent_check, verify_heapam reports nothing ($r)");
}

my $log = PostgreSQL::Test::Utils::slurp_file($node->logfile);
my @bad = grep { /terminated by signal|terminated by exception|\bPANIC:/ } split /\n/, $log;
is(scalar(@bad), 0, 'no server process crashed by itself (server log)') or diag(join("\n", @bad));
@bad = grep { /\b(ERROR|FATAL):/ } split /\n/, PostgreSQL::Test::Utils::slurp_file($node->logfile, $restart_offset);
is(scalar(@bad), 0, 'no ERROR or FATAL in the server log since the last restart') or diag(join("\n", @bad));
$node->stop;
note sprintf('010_crash.pl took %.1f s', time - $t_start);
done_testing();
