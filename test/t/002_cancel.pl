# 002_cancel.pl: statement_timeout and pg_cancel_backend stop a long training
# (train() and the linear_fit aggregate, serial and parallel) promptly, leave
# nothing behind (no version, no model row, no lock, no memory growth over
# repeated cancels), and interrupts that are not cancels do not abort a
# training.
#
# The classifiers and networks are canceled inside their iterative fit
# (logistic_regression by Newton and by L-BFGS, softmax_regression by Newton
# and by L-BFGS, linear_svm's dual coordinate descent, mlp_classifier's and
# mlp_regressor's minibatches), which modelmgr.training_progress shows as
# phase fit (the node preloads modelmgr for it); prune and quantize of a
# network are canceled while they score the held-out rows; and
# modelmgr.max_training_memory stops a classifier with 54000 and a hint.
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

my $node = mm_node('cancel', "shared_preload_libraries = 'modelmgr'");

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

# ---------------------------------------------------------------------------
# Classifiers and networks: pg_cancel_backend and statement_timeout inside
# the iterative fit.
#
# cls: 100k rows; a, b, c numeric; cat a text column of 390 categories (so
# the design is 100k x 393 columns, one-hot, and every Newton iteration
# forms a 393 x 393 Hessian over 100k rows); cat2 one of 96 categories (softmax Newton: 3 x 100
# coefficients); yb boolean, yc one of 4 classes, y numeric.  With tol 0
# and a huge max_iter / max_epochs every fit below runs for several seconds
# (Newton and L-BFGS about 5 s; coordinate descent and Adam for minutes).
# Reading the rows takes about 0.2 s, so a cancel 1 s into phase fit lands
# inside the solver.
# ---------------------------------------------------------------------------
$node->safe_psql(
	'postgres', q{
CREATE UNLOGGED TABLE cls (id int, a float8, b float8, c float8, cat text, cat2 text,
                           yb boolean, yc text, y float8);
INSERT INTO cls
SELECT i, a, b, c, 'k' || lpad((h % 390)::text, 3, '0'), 'q' || lpad((h % 96)::text, 2, '0'),
       a + b - c + 0.004 * (h % 390) - 0.78 + e > 0,
       CASE WHEN s < -0.8 THEN 'c1' WHEN s < 0 THEN 'c2' WHEN s < 0.8 THEN 'c3' ELSE 'c4' END,
       1 + 2 * a - 3 * b + c + 0.01 * (h % 96) + 0.1 * e
FROM (SELECT i, a, b, c, h, e, a + 2 * b - c + 0.01 * (h % 96) - 0.48 + e AS s
      FROM (SELECT i, sin(i * 0.37) AS a, cos(i * 0.11) AS b, sin(i * 0.013 + 1) AS c,
                   (i::bigint * 7919) % 1000003 AS h,
                   ((i::bigint * 2654435761) % 1000003)::float8 / 1000003 - 0.5 AS e
            FROM generate_series(1, 100000) AS i) s0) s1;
CREATE TABLE cls20k AS SELECT * FROM cls WHERE id <= 20000;
CREATE TABLE cls5k AS SELECT * FROM cls WHERE id <= 5000;
CREATE TABLE cls500 AS SELECT * FROM cls WHERE id <= 500;
VACUUM ANALYZE cls;
VACUUM ANALYZE cls20k;
VACUUM ANALYZE cls5k;
VACUUM ANALYZE cls500;
});

my $cfeat = mm_sql_list('a', 'b', 'c', 'cat');
my $cfeat2 = mm_sql_list('a', 'b', 'c', 'cat2');
my $long_mlp = '"max_epochs": 100000, "tol": 0, "n_iter_no_change": 1000';
my @fit_cases = (
	[ 'logistic_regression (newton)', 'logistic_regression', 'yb', $cfeat,
		'{"solver": "newton", "l2": 1, "tol": 0, "max_iter": 1000000}' ],
	[ 'logistic_regression (lbfgs)', 'logistic_regression', 'yb', $cfeat,
		'{"solver": "lbfgs", "l2": 1, "tol": 0, "max_iter": 1000000}' ],
	[ 'softmax_regression (newton)', 'softmax_regression', 'yc', $cfeat2,
		'{"solver": "newton", "l2": 1, "tol": 0, "max_iter": 1000000}' ],
	[ 'softmax_regression (lbfgs)', 'softmax_regression', 'yc', $cfeat,
		'{"solver": "lbfgs", "l2": 1, "tol": 0, "max_iter": 1000000}' ],
	[ 'linear_svm', 'linear_svm', 'yc', $cfeat, '{"C": 100, "tol": 1e-15, "max_iter": 1000000}' ],
	[ 'mlp_classifier', 'mlp_classifier', 'yc', $cfeat2, qq({"hidden_layers": "64,64", $long_mlp}) ],
	[ 'mlp_regressor', 'mlp_regressor', 'y', $cfeat2, qq({"hidden_layers": "64,64", $long_mlp}) ],);

sub cls_train_sql
{
	my ($model, $algo, $target, $feat, $params, $rel) = @_;
	$rel //= 'cls';
	return "SELECT 'RESULT', version FROM modelmgr.train('$model', '$algo', '$rel', '$target', "
	  . "$feat, '$params', deploy => 'never')";
}

# Run a training in $s1 while $ctl reads its row of
# modelmgr.training_progress every 10 ms.  With $cancel_after, cancel it
# once it has been seen in phase $cancel_phase (default fit) for that many
# seconds; the phase is read by the statement that sends the cancel.
# Returns { r (the result), fit_at (seconds from the start to the first
# sight of phase fit), phases (those seen, in order), last_phase,
# cancel_phase ("<phase>:true"), latency (seconds from the cancel to the
# end of the statement) }.
sub watch_training
{
	my ($sql, $cancel_after, $cancel_phase) = @_;
	my $pid = $s1->pid;
	my %w = (phases => [], last_phase => '<none>');
	my ($fit_seen, $phase_seen);

	$cancel_phase //= 'fit';

	$s1->start($sql);
	while (!$s1->poll)
	{
		my $ph = $ctl->query_ok("SELECT phase FROM modelmgr.training_progress WHERE pid = $pid");
		my $now = time;

		if ($ph ne '')
		{
			push @{ $w{phases} }, $ph if !@{ $w{phases} } || $w{phases}[-1] ne $ph;
			$w{last_phase} = $ph;
		}
		if ($ph eq 'fit' && !defined $fit_seen)
		{
			$fit_seen = $now;
			$w{fit_at} = $now - $s1->{t0};
		}
		$phase_seen //= $now if $ph eq $cancel_phase;
		if (defined $cancel_after && defined $phase_seen && $now - $phase_seen >= $cancel_after)
		{
			$w{t_cancel} = time;
			$w{cancel_phase} = $ctl->query_ok(
				"SELECT phase || ':' || pg_cancel_backend(pid) FROM modelmgr.training_progress WHERE pid = $pid");
			last;
		}
		usleep(10_000);
	}
	$w{r} = $s1->finish;
	$w{latency} = $s1->{t1} - $w{t_cancel} if defined $w{t_cancel};
	return \%w;
}

# The victim backend is idle, holds no lock, shows no training, and works.
sub victim_clean
{
	my ($label) = @_;
	my $pid = $s1->pid;

	is( $ctl->query_ok(
			"SELECT (SELECT count(*) FROM pg_locks WHERE pid = $pid) || ':' || "
			  . "(SELECT state FROM pg_stat_activity WHERE pid = $pid) || ':' || "
			  . "(SELECT count(*) FROM modelmgr.training_progress WHERE pid = $pid)"),
		'0:idle:0',
		"$label: the backend holds no lock, is idle, and training_progress no longer shows it");
	is($s1->query_ok("SELECT 'alive', count(*) FROM cls500"), 'alive|500', "$label: the backend runs the next statement");
	return;
}

my %latency;
for my $case (@fit_cases)
{
	my ($label, $algo, $target, $feat, $params) = @$case;
	(my $model = "cfit_$label") =~ s/\W+/_/g;
	my $sql = cls_train_sql($model, $algo, $target, $feat, $params);

	# pg_cancel_backend 1 s into the fit
	my $w = watch_training($sql, 1.0);
	my $r = $w->{r};
	note "$label: phases seen: @{ $w->{phases} }; fit from "
	  . sprintf('%.3f s', $w->{fit_at} // -1);
	is($w->{cancel_phase} // '<ended before the cancel>', 'fit:true',
		"$label: canceled while training_progress shows phase fit (1 s into it)");
	like($r->{err}, qr/ERROR:\s+57014: canceling statement due to user request/,
		"$label: pg_cancel_backend stops the fit with 57014");
	unlike($r->{out}, qr/RESULT/, "$label: the canceled training returned no row");
	cmp_ok($w->{latency} // 99, '<', 1.0,
		sprintf('%s: ended %.3f s after pg_cancel_backend', $label, $w->{latency} // 99));
	$latency{"$label cancel"} = $w->{latency};
	victim_clean("$label (cancel)");

	# statement_timeout: the same point, 1 s after the fit began
	my $timeout_ms = int((($w->{fit_at} // 0.5) + 1.0) * 1000);
	$s1->query_ok("SET statement_timeout = '${timeout_ms}ms'");
	$w = watch_training($sql);
	$s1->query_ok('RESET statement_timeout');
	$r = $w->{r};
	like($r->{err}, qr/ERROR:\s+57014: canceling statement due to statement timeout/,
		"$label: statement_timeout ${timeout_ms}ms stops the training with 57014");
	is($w->{last_phase}, 'fit', "$label: the last phase seen before the timeout was fit");
	cmp_ok($r->{secs} - $timeout_ms / 1000, '<', 1.0,
		sprintf('%s: timed out after %.3f s (timeout %.3f s)', $label, $r->{secs}, $timeout_ms / 1000));
	$latency{"$label timeout"} = $r->{secs} - $timeout_ms / 1000;
	victim_clean("$label (timeout)");

	is($ctl->query_ok("SELECT count(*) FROM modelmgr.models WHERE name = '$model'"),
		'0', "$label: no model row was created by the canceled trainings");
}

# ---------------------------------------------------------------------------
# A network so wide that one minibatch takes seconds (2000 x 2000 hidden
# units, 4000 rows a batch: about 1e11 flops each).  The fit polls for a
# cancel only between minibatches (mm_mlp_train.c, Train), so a cancel
# waits for the minibatch to end.
# ---------------------------------------------------------------------------
{
	my $label = 'mlp_classifier (2000,2000 hidden, batch 4000)';
	my $w = watch_training(
		cls_train_sql('cfit_wide_mlp', 'mlp_classifier', 'yc', $cfeat2,
			'{"hidden_layers": "2000,2000", "batch_size": 4000, "max_epochs": 100000}', 'cls20k'),
		1.0);
	is($w->{cancel_phase} // '<ended before the cancel>', 'fit:true', "$label: canceled in phase fit");
	like($w->{r}{err}, qr/ERROR:\s+57014: canceling statement due to user request/,
		"$label: pg_cancel_backend stops the fit with 57014");
	$latency{"$label cancel"} = $w->{latency};
  TODO:
	{
		local $TODO = 'the MLP fit polls for a cancel only between minibatches, not inside one';
		cmp_ok($w->{latency} // 99, '<', 1.0,
			sprintf('%s: ended %.3f s after pg_cancel_backend', $label, $w->{latency} // 99));
	}
	victim_clean($label);
}

# ---------------------------------------------------------------------------
# A wide network (1000 x 1000 hidden units, one prediction about 0.5 ms)
# canceled (1) in phase evaluate, which predicts every row one at a time and
# checks for interrupts every 4096 rows (mm_matrix_predict_all), and (2)
# as the deployed champion that a new training scores on its held-out rows
# in phase save (champion_score in train_eval.c checks for no interrupt at
# all, and holds the model's row lock meanwhile).  Both are known to stop
# late (TODO).
# ---------------------------------------------------------------------------
{
	my $wide = cls_train_sql('cfit_champ', 'mlp_classifier', 'yc', $cfeat2,
		'{"hidden_layers": "1000,1000", "max_epochs": 1}', 'cls5k') =~ s/deploy => 'never'/deploy => 'auto'/r;
	my $label = 'mlp_classifier (1000,1000 hidden) in phase evaluate';
	my $w = watch_training($wide, 0.3, 'evaluate');

	is($w->{cancel_phase} // '<ended before the cancel>', 'evaluate:true', "$label: canceled 0.3 s into phase evaluate");
	like($w->{r}{err}, qr/ERROR:\s+57014: canceling statement due to user request/, "$label: stopped with 57014");
	$latency{"$label cancel"} = $w->{latency};
  TODO:
	{
		local $TODO = 'mm_matrix_predict_all checks for interrupts every 4096 rows however slow one prediction is';
		cmp_ok($w->{latency} // 99, '<', 1.0,
			sprintf('%s: ended %.3f s after pg_cancel_backend', $label, $w->{latency} // 99));
	}
	victim_clean($label);

	$ctl->query_ok('SET client_min_messages = warning');
	is($ctl->query_ok($wide), 'RESULT|1', 'champion: version 1 of cfit_champ (the wide network), deployed');
	$ctl->query_ok('RESET client_min_messages');
	$label = 'champion scoring (softmax_regression against the wide network)';
	$w = watch_training(
		cls_train_sql('cfit_champ', 'softmax_regression', 'yc', $cfeat2, '{"l2": 1}', 'cls20k')
		  =~ s/deploy => 'never'/deploy => 'auto'/r,
		0.2, 'save');
	is($w->{cancel_phase} // '<ended before the cancel>', 'save:true', "$label: canceled 0.2 s into phase save");
	like($w->{r}{err}, qr/ERROR:\s+57014: canceling statement due to user request/, "$label: stopped with 57014");
	$latency{"$label cancel"} = $w->{latency};
  TODO:
	{
		local $TODO = 'champion_score does not check for interrupts while it scores the deployed version';
		cmp_ok($w->{latency} // 99, '<', 1.0,
			sprintf('%s: ended %.3f s after pg_cancel_backend', $label, $w->{latency} // 99));
	}
	victim_clean($label);
	is($ctl->query_ok("SELECT last_version || ':' || deployed_version FROM modelmgr.models WHERE name = 'cfit_champ'"),
		'1:1', 'champion: the canceled challenger left no version 2 and version 1 deployed');
}

# ---------------------------------------------------------------------------
# prune and quantize of a network.  Pruning or quantizing 300k weights takes
# milliseconds; what runs long is scoring the parent and the new version on
# the held-out rows (here 20% of cls's 100k rows: about 6 s for prune, whose
# sparse layers are slower, 2.5 s for quantize).  A cancel there must leave
# no version and release the model's row lock, which prune and quantize
# take to number the new version.
#
# Known problem (TODO below): mm_matrix_model_metrics (train_eval.c) checks
# for interrupts only at rows r with r % 4096 == 0 that are held out (the
# check comes after the `continue` that skips training rows), so with 20%
# held out it polls about every 20k rows read (about 4k rows scored, ~1 s
# for this pruned network), at places that depend on the data; over six
# runs the cancels ended 0.02 to 1.09 s after pg_cancel_backend and the
# timeouts up to 1.09 s after the 800 ms.
# ---------------------------------------------------------------------------
{
	my $scoring_todo = 'prune/quantize scoring polls for a cancel only at held-out rows whose index is a multiple of 4096';
	like( $ctl->query_ok(
			"SET client_min_messages = warning; "
			  . cls_train_sql('cfit_pq', 'mlp_classifier', 'yc', $cfeat2,
				'{"hidden_layers": "512,512", "max_epochs": 2}', 'cls5k')),
		qr/RESULT\|1$/, 'prune/quantize: version 1 of the network cfit_pq');
	$ctl->query_ok('RESET client_min_messages');

	my @ops = (
		[ 'prune', "SELECT 'RESULT', version FROM modelmgr.prune('cfit_pq', 1, 'magnitude', 0.5, 'cls')" ],
		[ 'quantize', "SELECT 'RESULT', version FROM modelmgr.quantize('cfit_pq', 1, relation => 'cls')" ],);
	for my $op (@ops)
	{
		my ($label, $sql) = @$op;

		for my $delay (0.3, 1.0)
		{
			my ($r, $lat) = cancel_after($s1, $sql, $delay);

			ok(defined $lat, "$label: still running when canceled after $delay s");
			like($r->{err}, qr/ERROR:\s+57014: canceling statement due to user request/,
				"$label: pg_cancel_backend after $delay s stops it with 57014");
		  TODO:
			{
				local $TODO = $scoring_todo;
				cmp_ok($lat // 99, '<', 1.0,
					sprintf('%s: ended %.3f s after pg_cancel_backend (sent after %.1f s)', $label, $lat // 99, $delay));
			}
			$latency{"$label cancel at $delay s"} = $lat;
			victim_clean("$label (cancel after $delay s)");
		}
		$s1->query_ok("SET statement_timeout = '800ms'");
		my $r = $s1->query($sql);
		$s1->query_ok('RESET statement_timeout');
		like($r->{err}, qr/ERROR:\s+57014: canceling statement due to statement timeout/,
			"$label: statement_timeout 800ms stops it with 57014");
	  TODO:
		{
			local $TODO = $scoring_todo;
			cmp_ok($r->{secs}, '<', 0.8 + 1.0, sprintf('%s: timed out after %.3f s (timeout 0.8 s)', $label, $r->{secs}));
		}
		$latency{"$label timeout"} = $r->{secs} - 0.8;
		victim_clean("$label (timeout)");
	}
	is($ctl->query_ok("SELECT string_agg(v.version::text, ',' ORDER BY v.version) || '/' || m.last_version "
			  . "FROM modelmgr.models m JOIN modelmgr.model_versions v ON v.model_id = m.id "
			  . "WHERE m.name = 'cfit_pq' GROUP BY m.id"),
		'1/1', 'prune/quantize: the canceled runs left only version 1 and last_version 1');
	is( $ctl->query_ok(
			"BEGIN; SELECT 'unlocked' FROM modelmgr.models WHERE name = 'cfit_pq' FOR UPDATE NOWAIT; ROLLBACK"),
		'unlocked', 'prune/quantize: the model row is not locked any more');
	is( $s1->query_ok(
			"SELECT 'RESULT', version || ':' || parent_version FROM modelmgr.prune('cfit_pq', 1, 'magnitude', 0.5, 'cls500');\n"
			  . "SELECT 'RESULT', version || ':' || parent_version FROM modelmgr.quantize('cfit_pq', 1, relation => 'cls500')"),
		"RESULT|2:1\nRESULT|3:1",
		'prune/quantize: the same backend then prunes and quantizes (versions 2 and 3, no gap)');
}

# ---------------------------------------------------------------------------
# modelmgr.max_training_memory: a classifier over the limit stops with
# 54000 and a hint, while reading (the rows held in memory) or before the
# fit (the encoded design, a network's state), and nothing is left behind.
# ---------------------------------------------------------------------------
{
	my @cases = (
		[ "1MB", '1024 kB', 'logistic_regression', 'yb', $cfeat, '{"l2": 1}', 'cls' ],
		[ "64MB", '65536 kB', 'logistic_regression', 'yb', $cfeat, '{"l2": 1}', 'cls' ],
		[ "64MB", '65536 kB', 'softmax_regression', 'yc', $cfeat, '{"l2": 1}', 'cls' ],
		[ "64MB", '65536 kB', 'linear_svm', 'yc', $cfeat, '{}', 'cls' ],
		[ undef, '1048576 kB', 'mlp_classifier', 'yc', $cfeat2, '{"hidden_layers": "10000,10000"}', 'cls5k' ],);
	for my $c (@cases)
	{
		my ($set, $shown, $algo, $target, $feat, $params, $rel) = @$c;
		my $label = "max_training_memory " . ($set // 'default') . ", $algo $params";

		$s1->query_ok("SET modelmgr.max_training_memory = '$set'") if defined $set;
		my $r = $s1->query(cls_train_sql('cfit_mem', $algo, $target, $feat, $params, $rel));
		$s1->query_ok('RESET modelmgr.max_training_memory');
		like($r->{err},
			qr/ERROR:\s+54000: training needs more than modelmgr\.max_training_memory \(\Q$shown\E\) for /,
			"$label: 54000 naming the limit");
		like($r->{err}, qr/HINT:\s+Raise modelmgr\.max_training_memory/, "$label: with a hint");
		note "$label: " . ((grep { /ERROR:/ } split /\n/, $r->{err})[0] // '');
		victim_clean($label);
	}
	is($ctl->query_ok("SELECT count(*) FROM modelmgr.models WHERE name = 'cfit_mem'"),
		'0', 'max_training_memory: no model row was created');
	like($s1->query_ok(cls_train_sql('cfit_mem', 'logistic_regression', 'yb', $cfeat, '{"l2": 1}', 'cls5k')),
		qr/^RESULT\|1$/, 'max_training_memory: with the default limit the same backend trains version 1');
}

note "stop latencies (s): "
  . join('; ', map { sprintf('%s %.3f', $_, $latency{$_} // -1) } sort keys %latency);
mm_no_crash($node);

$_->quit for ($s1, $ctl);
$node->stop;
done_testing();
