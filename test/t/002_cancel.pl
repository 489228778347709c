# 002_cancel.pl: statement_timeout and pg_cancel_backend stop a long training
# (train() and the linear_fit aggregate, serial and parallel) promptly, leave
# nothing behind (no version, no model row, no lock, no memory growth over
# repeated cancels), and interrupts that are not cancels do not abort a
# training.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/lib";

use MMTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

# A statement canceled after $delay seconds must have ended within this many
# seconds of its start (about $delay + 0.1 s on an idle machine).
my $max_secs = 2.0;

my $node = mm_node('cancel');

# big: 4M rows x 8 features (1M computed, then doubled twice); big2 reads it
# twice, so a training over big2 takes several seconds and a 500 ms timeout
# always lands in the middle of it.  mid: 200k rows.  small: 1000 rows.
$node->safe_psql(
	'postgres', q{
CREATE UNLOGGED TABLE big (x1 float8, x2 float8, x3 float8, x4 float8,
                           x5 float8, x6 float8, x7 float8, x8 float8, y float8);
INSERT INTO big
SELECT x1, x2, x3, x4, x5, x6, x7, x8,
       1 + 2 * x1 - 3 * x2 + 0.5 * x3 + 4 * x4 - x5 + 0.25 * x6 + 3 * x7 - 2 * x8 + e
FROM (SELECT sin(d * 0.37) AS x1, cos(d * 0.11) AS x2, sin(d * 0.013) AS x3,
             ((i * 7919) % 1000)::float8 / 1000 AS x4, cos(d * 0.7) AS x5, sin(d * 1.3) AS x6,
             ((i * 104729) % 997)::float8 / 997 AS x7, cos(d * 0.0031) AS x8,
             0.1 * (((i * 2654435761) % 1000003)::float8 / 1000003 - 0.5) AS e
      FROM generate_series(1::bigint, 1000000::bigint) AS i,
           LATERAL (SELECT i::float8 AS d) AS dd) AS s;
INSERT INTO big SELECT * FROM big;
INSERT INTO big SELECT * FROM big;
CREATE VIEW big2 AS SELECT * FROM big UNION ALL SELECT * FROM big;
CREATE TABLE mid AS SELECT * FROM big LIMIT 200000;
CREATE TABLE small AS SELECT * FROM big LIMIT 1000;
VACUUM ANALYZE big;
VACUUM ANALYZE mid;
VACUUM ANALYZE small;
});

my $features = mm_sql_list(map { "x$_" } 1 .. 8);
my $xarray = 'ARRAY[' . join(', ', map { "x$_" } 1 .. 8) . ']';

sub train_sql
{
	my ($model, $rel) = @_;
	return "SELECT 'RESULT', version FROM modelmgr.train('$model', 'linear_regression', "
	  . "'$rel', 'y', $features, deploy => 'never')";
}

my $fit_sql = "SELECT 'RESULT', modelmgr.linear_fit(y, $xarray) IS NOT NULL FROM big2";
my $parallel_on = "SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; "
  . "SET min_parallel_table_scan_size = 0; SET max_parallel_workers_per_gather = 2";

my $ctl = MMTest::Session->new($node, name => 'controller');
my $s1 = MMTest::Session->new($node, name => 'victim');

# Run $sql in $sess, cancel it with pg_cancel_backend after $delay seconds,
# and return (result, seconds from the cancel to the end of the statement).
sub cancel_after
{
	my ($sess, $sql, $delay) = @_;

	$sess->start($sql);
	usleep(2000) while !$sess->poll && $sess->elapsed < $delay;
	return ($sess->finish, undef) if $sess->poll;    # ended before the cancel
	my $t_cancel = time;
	is($ctl->query_ok("SELECT pg_cancel_backend(" . $sess->pid . ")"), 't', 'pg_cancel_backend found the backend');
	my $r = $sess->finish;
	return ($r, $sess->{t1} - $t_cancel);
}

# ---------------------------------------------------------------------------
# train(): statement_timeout and pg_cancel_backend
# ---------------------------------------------------------------------------
{
	$s1->query_ok("SET statement_timeout = '500ms'");
	my $r = $s1->query(train_sql('cancel_timeout', 'big2'));
	$s1->query_ok("RESET statement_timeout");

	like($r->{err}, qr/ERROR:\s+57014: canceling statement due to statement timeout/,
		'train: statement_timeout 500ms cancels the training with SQLSTATE 57014');
	unlike($r->{out}, qr/RESULT/, 'train: the timed-out training returned no row');
	cmp_ok($r->{secs}, '<', $max_secs, sprintf('train: timed out after %.3f s (timeout 0.5 s)', $r->{secs}));
}
{
	my ($r, $latency) = cancel_after($s1, train_sql('cancel_user', 'big2'), 0.5);

	ok(defined $latency, 'train: still running when canceled after 0.5 s');
	like($r->{err}, qr/ERROR:\s+57014: canceling statement due to user request/,
		'train: pg_cancel_backend cancels the training with SQLSTATE 57014');
	cmp_ok($r->{secs}, '<', $max_secs, sprintf('train: canceled after %.3f s in all', $r->{secs}));
	cmp_ok($latency // 99, '<', 1.0, sprintf('train: ended %.3f s after pg_cancel_backend', $latency // 99));
}

# ---------------------------------------------------------------------------
# lasso and elastic_net: cancel while reading, and inside coordinate descent
# (a wide design with tol 0 and a huge max_iter runs for minutes otherwise)
# ---------------------------------------------------------------------------
{
	for my $algo ('lasso', 'elastic_net')
	{
		$s1->query_ok("SET statement_timeout = '500ms'");
		my $r = $s1->query("SELECT 'RESULT', version FROM modelmgr.train('cancel_$algo', '$algo', "
			  . "'big2', 'y', $features, deploy => 'never')");
		$s1->query_ok("RESET statement_timeout");
		like($r->{err}, qr/ERROR:\s+57014: canceling statement due to statement timeout/,
			"$algo: statement_timeout cancels the training while it reads");
		cmp_ok($r->{secs}, '<', $max_secs, sprintf('%s: timed out after %.3f s', $algo, $r->{secs}));
	}

	my $ncols = 600;
	$node->safe_psql('postgres',
		"CREATE TABLE wide AS SELECT g AS id, "
		  . join(', ', map { "sin(g * $_ * 0.37 + $_) AS w$_" } 1 .. $ncols)
		  . ", sin(g * 0.5) AS y FROM generate_series(1, 700) g");
	my $wfeatures = mm_sql_list(map { "w$_" } 1 .. $ncols);
	for my $algo ('lasso', 'elastic_net')
	{
		my ($r, $latency) = cancel_after($s1,
			"SELECT 'RESULT', version FROM modelmgr.train('cancel_cd_$algo', '$algo', 'wide', 'y', "
			  . "$wfeatures, '{\"alpha\": 0.000001, \"tol\": 0, \"max_iter\": 1000000}', "
			  . "test_fraction => 0, deploy => 'never')", 1.5);

		ok(defined $latency, "$algo: coordinate descent still running after 1.5 s");
		like($r->{err}, qr/ERROR:\s+57014: canceling statement due to user request/,
			"$algo: pg_cancel_backend stops coordinate descent");
		cmp_ok($latency // 99, '<', 1.0,
			sprintf('%s: coordinate descent ended %.3f s after pg_cancel_backend', $algo, $latency // 99));
	}
	is($node->safe_psql('postgres',
			"SELECT count(*) FROM modelmgr.models WHERE name LIKE 'cancel\\_%'"),
		'0', 'no canceled lasso or elastic_net training left a model');
}

# ---------------------------------------------------------------------------
# linear_fit: serial with statement_timeout, parallel with pg_cancel_backend
# ---------------------------------------------------------------------------
{
	$s1->query_ok("SET max_parallel_workers_per_gather = 0; SET statement_timeout = '500ms'");
	my $r = $s1->query($fit_sql);
	$s1->query_ok("RESET statement_timeout; RESET max_parallel_workers_per_gather");

	like($r->{err}, qr/ERROR:\s+57014: canceling statement due to statement timeout/,
		'linear_fit (serial): statement_timeout cancels the aggregate');
	cmp_ok($r->{secs}, '<', $max_secs, sprintf('linear_fit (serial): timed out after %.3f s', $r->{secs}));
}
{
	$s1->query_ok($parallel_on);
	like($s1->query_ok("EXPLAIN (COSTS OFF) $fit_sql"), qr/Workers Planned: 2/,
		'linear_fit (parallel): the plan uses 2 workers');
	my ($r, $latency) = cancel_after($s1, $fit_sql, 0.5);
	$s1->query_ok('RESET ALL');

	ok(defined $latency, 'linear_fit (parallel): still running when canceled after 0.5 s');
	like($r->{err}, qr/ERROR:\s+57014: canceling statement due to user request/,
		'linear_fit (parallel): pg_cancel_backend cancels the aggregate');
	cmp_ok($latency // 99, '<', 1.0,
		sprintf('linear_fit (parallel): ended %.3f s after pg_cancel_backend', $latency // 99));
	is($ctl->query_ok("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'parallel worker'"),
		'0', 'linear_fit (parallel): no parallel worker outlives the cancel');
}

# ---------------------------------------------------------------------------
# Nothing left behind by the cancels so far
# ---------------------------------------------------------------------------
is($ctl->query_ok('SELECT count(*) FROM modelmgr.models'), '0', 'no model row was created by a canceled training');
is($ctl->query_ok('SELECT count(*) FROM modelmgr.model_versions'), '0', 'no version was created by a canceled training');
is( $ctl->query_ok(
		"SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
		  . "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE l.pid = "
		  . $s1->pid . " AND n.nspname = 'modelmgr'"),
	'0',
	'the canceled backend holds no lock on modelmgr relations');
is($ctl->query_ok("SELECT count(*) FROM pg_locks WHERE pid = " . $s1->pid), '0', 'the canceled backend holds no lock at all');
is($ctl->query_ok("SELECT state FROM pg_stat_activity WHERE pid = " . $s1->pid),
	'idle', 'the canceled backend is idle (not inside an aborted transaction)');

# ---------------------------------------------------------------------------
# Repeated cancels in one backend do not grow its memory
# ---------------------------------------------------------------------------
{
	my (@ctx, @rss);

	for my $k (1 .. 5)
	{
		# cancel at different points of the training: 400 .. 800 ms
		my $ms = 300 + 100 * $k;
		$s1->query_ok("SET statement_timeout = '${ms}ms'");
		my $r = $s1->query(train_sql('cancel_loop', 'big2'));
		$s1->query_ok('RESET statement_timeout');
		like($r->{err}, qr/ERROR:\s+57014: canceling statement due to statement timeout/,
			"memory loop $k: the training timed out after ${ms}ms");
		push @ctx, $s1->query_ok('SELECT sum(total_bytes) FROM pg_backend_memory_contexts');
		push @rss, rss_anon_kb($s1->pid);
	}
	note "memory contexts after each cancel (bytes): @ctx";
	note "RssAnon after each cancel (kB): @rss";
	cmp_ok($ctx[4] - $ctx[0], '<', 1024 * 1024,
		sprintf('memory contexts grew by %d bytes from cancel 1 to cancel 5 (< 1 MB)', $ctx[4] - $ctx[0]));
  SKIP:
	{
		skip 'cannot read /proc/<pid>/status', 1 unless defined $rss[0] && defined $rss[4];
		cmp_ok($rss[4] - $rss[0], '<', 8192,
			sprintf('backend RssAnon grew by %d kB from cancel 1 to cancel 5 (< 8 MB)', $rss[4] - $rss[0]));
	}
	is($ctl->query_ok("SELECT count(*) FROM modelmgr.models WHERE name = 'cancel_loop'"),
		'0', 'memory loop: no model was created');
}

sub rss_anon_kb
{
	my ($pid) = @_;
	open my $fh, '<', "/proc/$pid/status" or return undef;
	while (<$fh>)
	{
		return $1 if /^RssAnon:\s+(\d+)\s+kB/;
	}
	return undef;
}

# ---------------------------------------------------------------------------
# A training canceled while it waits for the model's row lock (held by a
# concurrent deploy) leaves no version and no gap in the numbering.
# ---------------------------------------------------------------------------
{
	is($ctl->query_ok(train_sql('locked', 'small')), 'RESULT|1', 'lock wait: version 1 of model locked');
	$ctl->query_ok("BEGIN; SELECT modelmgr.deploy('locked', 1, 'hold the row lock')");
	$s1->query_ok("SET statement_timeout = '1s'");
	$s1->start(train_sql('locked', 'small'));
	ok( $ctl->wait_for_true(
			"SELECT wait_event_type IS NOT DISTINCT FROM 'Lock' FROM pg_stat_activity WHERE pid = " . $s1->pid,
			10, $s1),
		'lock wait: the training waits for the model row lock');
	my $r = $s1->finish;
	$s1->query_ok('RESET statement_timeout');
	$ctl->query_ok('COMMIT');

	like($r->{err}, qr/ERROR:\s+57014: canceling statement due to statement timeout/,
		'lock wait: statement_timeout ends the wait');
	cmp_ok($r->{secs}, '<', 1.0 + $max_secs, sprintf('lock wait: timed out after %.3f s (timeout 1 s)', $r->{secs}));
	is( $ctl->query_ok(
			"SELECT m.last_version || ':' || string_agg(v.version::text, ',') FROM modelmgr.models m "
			  . "JOIN modelmgr.model_versions v ON v.model_id = m.id WHERE m.name = 'locked' GROUP BY m.id"),
		'1:1',
		'lock wait: last_version is still 1 and only version 1 exists');
	is($s1->query_ok(train_sql('locked', 'small')), 'RESULT|2',
		'lock wait: the same backend then trains version 2 (no gap)');
	like(
		$s1->query_ok("SELECT modelmgr.predict(modelmgr.load('locked', 2), ARRAY[0, 0, 0, 0, 0, 0, 0, 0]::float8[])"),
		qr/^-?\d/, 'after the cancels the backend trains and predicts normally');
}

# ---------------------------------------------------------------------------
# Interrupts that are not cancels must not abort a training.  With
# client_connection_check_interval the server raises an interrupt every 1 ms
# only to check that the client is still connected; a training must go on.
# ---------------------------------------------------------------------------
{
	my $s2 = MMTest::Session->new($node, name => 'check_interval');

	$s2->query_ok("SET client_connection_check_interval = '1ms'");
	my $r = $s2->query(train_sql('interval', 'mid'));
	is($r->{err}, '', 'client_connection_check_interval = 1ms: train() raises no error');
	is($r->{out}, 'RESULT|1', 'client_connection_check_interval = 1ms: train() returns version 1');
	$r = $s2->query("SET max_parallel_workers_per_gather = 0;\n"
		  . "SELECT 'RESULT', modelmgr.linear_fit(y, $xarray) IS NOT NULL FROM mid");
	is($r->{err}, '', 'client_connection_check_interval = 1ms: linear_fit raises no error');
	is($r->{out}, 'RESULT|t', 'client_connection_check_interval = 1ms: linear_fit returns a model');
	$s2->quit;
}

$_->quit for ($s1, $ctl);
$node->stop;
done_testing();
