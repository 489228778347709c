# 003_parallel_workers.pl: linear_fit runs in parallel workers (Partial and
# Finalize Aggregate, "Workers Launched: 2") and gives the serial answer to
# 1e-9 relative: plain, with options, under GROUP BY, and as a saved model
# used by a parallel predict().  A parallel run must never fail: twenty
# repetitions all succeed.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/lib";

use List::Util qw(max);
use MMTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = mm_node('parallel');

# Well-conditioned data: y = 1 + 2 x1 - 3 x2 + 0.5 x3 + 4 x4 + noise in
# [-0.05, 0.05), 1M rows in 3 groups.
$node->safe_psql(
	'postgres', q{
CREATE UNLOGGED TABLE par (g int, x1 float8, x2 float8, x3 float8, x4 float8, y float8);
INSERT INTO par
SELECT (i % 3)::int, x1, x2, x3, x4, 1 + 2 * x1 - 3 * x2 + 0.5 * x3 + 4 * x4 + e
FROM (SELECT i, sin(d * 0.37) AS x1, cos(d * 0.11) AS x2, sin(d * 0.013) AS x3,
             ((i * 7919) % 1000)::float8 / 1000 AS x4,
             0.1 * (((i * 2654435761) % 1000003)::float8 / 1000003 - 0.5) AS e
      FROM generate_series(1::bigint, 1000000::bigint) AS i,
           LATERAL (SELECT i::float8 AS d) AS dd) AS s;
ALTER TABLE par SET (parallel_workers = 2);
VACUUM ANALYZE par;
});

my $s = MMTest::Session->new($node, name => 'fitter');
my $parallel_on = "SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; "
  . "SET min_parallel_table_scan_size = 0; SET max_parallel_workers_per_gather = 2";
my $serial_on = "RESET ALL; SET max_parallel_workers_per_gather = 0";

# Every error raised by a statement that ran with parallel workers.
my @parallel_errors;

# The fitted numbers of a model: intercept, coefficients x1..x4, rows, mse.
my $fields = "d->>'intercept', d->'coefficients'->>'x1', d->'coefficients'->>'x2', "
  . "d->'coefficients'->>'x3', d->'coefficients'->>'x4', "
  . "d->'attributes'->>'train_rows', d->'attributes'->>'train_mse'";

sub fit_sql
{
	my ($options, $group) = @_;
	my $opt = defined $options ? ", '$options'" : '';

	return defined $group
	  ? "SELECT g, $fields FROM (SELECT g, modelmgr.describe(modelmgr.linear_fit(y, ARRAY[x1, x2, x3, x4]$opt)) AS d "
	  . "FROM par GROUP BY g) s ORDER BY g"
	  : "SELECT $fields FROM (SELECT modelmgr.describe(modelmgr.linear_fit(y, ARRAY[x1, x2, x3, x4]$opt)) AS d "
	  . "FROM par) s";
}

# Run SQL with parallel workers; up to 5 attempts, each failure recorded.
sub parallel_query
{
	my ($sql) = @_;

	$s->query_ok($parallel_on);
	for my $attempt (1 .. 5)
	{
		my $r = $s->query($sql);

		return $r->{out} if $r->{err} eq '';
		push @parallel_errors, $r->{err};
	}
	die "parallel statement failed 5 times: $sql\n@parallel_errors";
}

sub serial_query
{
	my ($sql) = @_;

	$s->query_ok($serial_on);
	return $s->query_ok($sql);
}

# Compare two '|'-separated rows of numbers to $tol relative (exact for
# integers).
sub close_rows
{
	my ($got, $want, $tol, $what) = @_;
	my @g = split /[|\n]/, $got;
	my @w = split /[|\n]/, $want;
	my @bad;

	if (@g != @w || !@w)
	{
		fail("$what: same shape (got '$got', want '$want')");
		return;
	}
	for my $i (0 .. $#w)
	{
		my $scale = max(abs($g[$i]), abs($w[$i]));
		push @bad, "field $i: $g[$i] vs $w[$i]"
		  if abs($g[$i] - $w[$i]) > $tol * $scale;
	}
	ok(!@bad, "$what: parallel equals serial to $tol relative")
	  or diag(join("\n", @bad));
	return;
}

# ---------------------------------------------------------------------------
# The plan really runs in two workers, with a partial aggregate in each.
# ---------------------------------------------------------------------------
{
	my $plan = parallel_query("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) "
		  . "SELECT modelmgr.linear_fit(y, ARRAY[x1, x2, x3, x4]) FROM par");
	note $plan;
	like($plan, qr/Workers Launched: 2/, 'parallel linear_fit: Workers Launched: 2');
	like($plan, qr/Partial Aggregate/, 'parallel linear_fit: Partial Aggregate below the Gather');
	like($plan, qr/Finalize Aggregate/, 'parallel linear_fit: Finalize Aggregate (combine) above the Gather');

	my $serial_plan = serial_query("EXPLAIN (COSTS OFF) SELECT modelmgr.linear_fit(y, ARRAY[x1, x2, x3, x4]) FROM par");
	unlike($serial_plan, qr/Gather/, 'serial linear_fit: no Gather when parallelism is off');
}

# ---------------------------------------------------------------------------
# Parallel equals serial.
# ---------------------------------------------------------------------------
my $serial = serial_query(fit_sql());
my $parallel = parallel_query(fit_sql());
{
	my @f = split /\|/, $serial;
	my @truth = (1, 2, -3, 0.5, 4);

	ok(@f == 7 && !grep({ abs($f[$_] - $truth[$_]) > 0.01 } 0 .. 4) && $f[5] == 1000000,
		'serial linear_fit recovers 1, 2, -3, 0.5, 4 over 1000000 rows') or diag($serial);
}
close_rows($parallel, $serial, 1e-9, 'linear_fit');

close_rows(parallel_query(fit_sql('{"l2": 0.5}')), serial_query(fit_sql('{"l2": 0.5}')),
	1e-9, 'linear_fit with {"l2": 0.5}');
close_rows(parallel_query(fit_sql('{"fit_intercept": false}')), serial_query(fit_sql('{"fit_intercept": false}')),
	1e-9, 'linear_fit with {"fit_intercept": false}');

{
	my $plan = parallel_query("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " . fit_sql(undef, 1));
	like($plan, qr/Workers Launched: 2/, 'parallel linear_fit GROUP BY: Workers Launched: 2');
	like($plan, qr/Partial (Hash|Group)Aggregate/, 'parallel linear_fit GROUP BY: partial aggregate per group');
	close_rows(parallel_query(fit_sql(undef, 1)), serial_query(fit_sql(undef, 1)), 1e-9, 'linear_fit GROUP BY g');
}

# ---------------------------------------------------------------------------
# A saved model predicts in parallel workers as in the leader.
# ---------------------------------------------------------------------------
{
	is( serial_query(
			"SELECT modelmgr.save('par_model', m, ARRAY['x1', 'x2', 'x3', 'x4']) "
			  . "FROM (SELECT modelmgr.linear_fit(y, ARRAY[x1, x2, x3, x4]) AS m FROM par) s"),
		'1',
		'save: the fitted model is version 1 of par_model');
	my $predict = "SELECT sum(modelmgr.predict('par_model', ARRAY[x1, x2, x3, x4])), "
	  . "sum(modelmgr.predict(modelmgr.load('par_model', 1), ARRAY[x1, x2, x3, x4])) FROM par";
	my $plan = parallel_query("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) $predict");
	like($plan, qr/Workers Launched: 2/, 'parallel predict: Workers Launched: 2');
	close_rows(parallel_query($predict), serial_query($predict), 1e-9, 'sum of predict() over par');
}

# ---------------------------------------------------------------------------
# Repeated parallel runs: every one succeeds and agrees with the serial fit.
# ---------------------------------------------------------------------------
{
	my $failed = 0;
	my $differ = 0;

	$s->query_ok($parallel_on);
	for my $run (1 .. 20)
	{
		my $r = $s->query(fit_sql());

		if ($r->{err} ne '')
		{
			$failed++;
			push @parallel_errors, $r->{err};
			next;
		}
		my @g = split /\|/, $r->{out};
		my @w = split /\|/, $serial;
		$differ++ if grep { abs($g[$_] - $w[$_]) > 1e-9 * max(abs($g[$_]), abs($w[$_])) } 0 .. $#w;
	}
	is($failed, 0, '20 parallel linear_fit runs: none failed');
	is($differ, 0, '20 parallel linear_fit runs: all equal the serial fit to 1e-9 relative');
}
is(scalar(@parallel_errors), 0, 'no statement run with parallel workers raised an error')
  or diag(join("\n", @parallel_errors[ 0 .. ($#parallel_errors > 2 ? 2 : $#parallel_errors) ]));

$s->quit;
$node->stop;
done_testing();
