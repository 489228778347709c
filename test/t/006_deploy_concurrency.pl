# 006_deploy_concurrency.pl: deploys while predictions run, and concurrent
# retrains.
#
# (a) predict(name, ...) uses one version for a whole statement:
#     - a long statement (2M rows, serial and with parallel workers) that
#       compares every row's prediction with what versions 1 and 2 give
#       finishes without error on version 1 while another session deploys
#       version 2 and commits mid-statement; a deploy that was made before
#       the statement started but commits during it is not seen either; a
#       statement started after the commit uses version 2 for every row;
#     - a deploy in the reader's own transaction is seen by its next
#       statement and forgotten after ROLLBACK TO SAVEPOINT and ROLLBACK;
#     - many short predicts (one statement each, from the client, and
#       statement after statement inside one PL/pgSQL loop, where fn_extra
#       lives on) while another session flips the deployment between 1 and
#       2 for about 10 s: no error, every answer is version 1's or 2's, and
#       it is the version that the same statement sees as deployed.
# (b) two sessions retrain the same model at the same instant, several
#     rounds (READ COMMITTED, and one round in REPEATABLE READ where one may
#     fail with a serialization failure): no crash, no other error, version
#     numbers unique and without gaps, one recorded decision (deploy or keep)
#     per retrain, what retrain() reports agrees with what was recorded, and
#     the deployed version exists.  Then a retrain that waits for the row
#     lock of a transaction that deploys a poor new version must compare
#     itself with that version once it commits (and win).
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/lib";

use MMTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $node = mm_node('deploy_concurrency');

# train_t: y = 1 + 2 a - 3 b + noise, 300k rows (a retrain takes long
# enough for two to overlap).  big: 2M feature rows to predict.
$node->safe_psql(
	'postgres', q{
SET client_min_messages = warning;
CREATE UNLOGGED TABLE train_t (id int PRIMARY KEY, a float8, b float8, y float8);
INSERT INTO train_t
SELECT i, a, b, 1 + 2 * a - 3 * b + e
FROM (SELECT i, sin(i * 0.37) AS a, cos(i * 0.11) AS b,
             0.1 * (((i::bigint * 2654435761) % 1000003)::float8 / 1000003 - 0.5) AS e
      FROM generate_series(1, 300000) AS i) s;
CREATE UNLOGGED TABLE big (id int, a float8, b float8);
INSERT INTO big SELECT i, sin(i * 0.013), cos(i * 0.0071) FROM generate_series(1, 2000000) AS i;
ALTER TABLE big SET (parallel_workers = 2);
VACUUM ANALYZE train_t;
VACUUM ANALYZE big;
-- version 1: least squares; version 2: a heavy ridge fit, so that the two
-- predict differently at (almost) every row
SELECT version FROM modelmgr.train('m', 'linear_regression', 'train_t', 'y', ARRAY['a', 'b']);
SELECT version FROM modelmgr.train('m', 'linear_regression', 'train_t', 'y', ARRAY['a', 'b'],
                                   params => '{"l2": 100000}', deploy => 'never');
});
is($node->safe_psql('postgres', "SELECT deployed_version || ':' || last_version FROM modelmgr.models WHERE name = 'm'"),
	'1:2', 'model m: versions 1 and 2, version 1 deployed');
is( $node->safe_psql(
		'postgres', q{
SELECT count(*) FROM big
WHERE modelmgr.predict(modelmgr.load('m', 1), ARRAY[a, b]) = modelmgr.predict(modelmgr.load('m', 2), ARRAY[a, b])}),
	'0',
	'versions 1 and 2 predict differently at every row of big');

my $ctl = MMTest::Session->new($node, name => 'controller');
my $reader = MMTest::Session->new($node, name => 'reader');
my $deployer = MMTest::Session->new($node, name => 'deployer');

# One row: which version every row's prediction came from ('v1', 'v2' or
# 'mixed'), the row count, and how many rows matched neither version.  The
# statement pauses for a second at one row in the middle, so that however
# fast the machine, a deploy made right after it started commits while it
# runs.
my $long_sql = q{
SELECT 'RESULT', CASE WHEN bool_and(p = p1) THEN 'v1' WHEN bool_and(p = p2) THEN 'v2' ELSE 'mixed' END,
       count(*), count(*) FILTER (WHERE p <> p1 AND p <> p2)
FROM (SELECT modelmgr.predict('m', ARRAY[a, b]) AS p,
             modelmgr.predict(modelmgr.load('m', 1), ARRAY[a, b]) AS p1,
             modelmgr.predict(modelmgr.load('m', 2), ARRAY[a, b]) AS p2
      FROM big WHERE CASE WHEN id = 1000000 THEN pg_sleep(1)::text IS NOT NULL ELSE true END) s};
my $serial_on = "RESET ALL; SET client_min_messages = warning; SET max_parallel_workers_per_gather = 0";
my $parallel_on = "RESET ALL; SET client_min_messages = warning; SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; "
  . "SET min_parallel_table_scan_size = 0; SET max_parallel_workers_per_gather = 2";

sub parse_long
{
	my ($r) = @_;
	my ($line) = grep { /^RESULT\|/ } split /\n/, $r->{out};
	return $line ? join('|', (split /\|/, $line)[ 1 .. 3 ]) : "no result (stderr: $r->{err})";
}

sub deployed
{
	return $ctl->query_ok("SELECT deployed_version FROM modelmgr.models WHERE name = 'm'");
}

# ---------------------------------------------------------------------------
# (a) 1. A deploy commits while a long statement runs.
# ---------------------------------------------------------------------------
for my $mode ([ 'serial', $serial_on ], [ 'parallel', $parallel_on ])
{
	my ($label, $setup) = @$mode;

	$ctl->query_ok("SELECT modelmgr.deploy('m', 1, 'reset')");
	$reader->query_ok($setup);
	if ($label eq 'parallel')
	{
		like($reader->query_ok("EXPLAIN (COSTS OFF) $long_sql"), qr/Workers Planned: 2/,
			'parallel: the long statement is planned with 2 workers');
	}

	# 1a: deploy and commit while the statement runs
	$reader->start($long_sql);
	ok( $ctl->wait_for_true(
			"SELECT count(*) = 1 FROM pg_stat_activity WHERE pid = " . $reader->pid
			  . " AND state = 'active' AND query LIKE '%modelmgr.predict%'", 30, $reader),
		"$label: the long statement is running");
	usleep(100_000);
	my $r_deploy = $deployer->query("BEGIN; SELECT modelmgr.deploy('m', 2, 'mid-statement'); COMMIT;");
	my $mid = !$reader->poll;
	my $r = $reader->finish;
	is($r_deploy->{err}, '', "$label: deploy of version 2 committed without error (not blocked by the reader)");
	ok($mid, sprintf("$label: the deploy committed while the long statement ran (statement %.2f s)", $r->{secs}));
	is($r->{err}, '', "$label: the in-flight statement finished without error");
	is(parse_long($r), 'v1|2000000|0', "$label: the in-flight statement used version 1 for all 2M rows");

	$r = $reader->query($long_sql);
	is($r->{err}, '', "$label: a statement started after the commit ran without error");
	is(parse_long($r), 'v2|2000000|0', "$label: a statement started after the commit used version 2 for all rows");

	# 1b: deploy before the statement starts, commit while it runs
	$deployer->query_ok("BEGIN; SELECT modelmgr.deploy('m', 1, 'uncommitted while the statement starts')");
	$r = $reader->query("SELECT 'RESULT', modelmgr.predict('m', ARRAY[0.5, 0.5]::float8[]) = "
		  . "modelmgr.predict(modelmgr.load('m', 2), ARRAY[0.5, 0.5]::float8[])");
	is($r->{out}, 'RESULT|t', "$label: an uncommitted deploy is not seen (version 2 still serves)");
	$reader->start($long_sql);
	$ctl->wait_for_true(
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE pid = " . $reader->pid
		  . " AND state = 'active' AND query LIKE '%modelmgr.predict%'", 30, $reader);
	usleep(100_000);
	$deployer->query_ok('COMMIT');
	$mid = !$reader->poll;
	$r = $reader->finish;
	ok($mid, "$label: the earlier deploy committed while the next long statement ran");
	is($r->{err}, '', "$label: that statement finished without error");
	is(parse_long($r), 'v2|2000000|0',
		"$label: it used version 2 (deployed when it started) for all rows, not the version committed during it");
	is(deployed(), '1', "$label: version 1 is deployed afterwards");
}
$reader->query_ok('RESET ALL; SET client_min_messages = warning');

# ---------------------------------------------------------------------------
# (a) 1c. A deploy in the reader's own transaction: seen by its next
#     statement, and no longer after ROLLBACK or ROLLBACK TO SAVEPOINT.
# ---------------------------------------------------------------------------
{
	my $which = "SELECT 'V', CASE modelmgr.predict('m', ARRAY[0.5, 0.5]::float8[]) "
	  . "WHEN modelmgr.predict(modelmgr.load('m', 1), ARRAY[0.5, 0.5]::float8[]) THEN 1 "
	  . "WHEN modelmgr.predict(modelmgr.load('m', 2), ARRAY[0.5, 0.5]::float8[]) THEN 2 END;";
	my $r = $reader->query(
		join("\n",
			"BEGIN;", $which,
			"SELECT modelmgr.deploy('m', 2, 'own transaction');", $which,
			"SAVEPOINT s;",
			"SELECT modelmgr.deploy('m', 1, 'own subtransaction');", $which,
			"ROLLBACK TO SAVEPOINT s;", $which,
			"ROLLBACK;", $which));
	my @seen = map { (split /\|/)[1] } grep { /^V\|/ } split /\n/, $r->{out};

	is($r->{err}, '', 'own transaction: no error');
	is(join(',', @seen), '1,2,1,2,1',
		'own transaction: version 1, then 2 after our deploy, 1 after a deploy in a savepoint, '
		  . '2 after ROLLBACK TO SAVEPOINT, 1 after ROLLBACK');
}

# ---------------------------------------------------------------------------
# (a) 2. Short predicts while another session flips the deployment.
# ---------------------------------------------------------------------------
# The flipper: a DO block that commits a deploy of 2, then 1, then 2, ...
# for $flip_secs seconds, with a short pause in between.
my $flip_secs = 10;
my $flip_sql = qq{
DO \$\$
DECLARE
    t0 timestamptz := clock_timestamp();
    n int := 0;
BEGIN
    WHILE clock_timestamp() < t0 + interval '$flip_secs seconds' LOOP
        n := n + 1;
        PERFORM modelmgr.deploy('m', 2 - n % 2, 'flip');
        COMMIT;
        PERFORM pg_sleep(0.005);
    END LOOP;
    RAISE WARNING 'FLIPS %', n;
END
\$\$};

# One statement: the version this statement's snapshot sees as deployed,
# and the three predictions at a point.
my @points = ([ 0.1, 0.2 ], [ -0.5, 0.9 ], [ 0.77, -0.31 ]);
my %truth;
for my $pt (@points)
{
	my $arr = "ARRAY[$pt->[0], $pt->[1]]::float8[]";
	for my $v (1, 2)
	{
		$truth{"$v:$pt->[0]:$pt->[1]"} = $ctl->query_ok(
			"SET extra_float_digits = 3; SELECT modelmgr.predict(modelmgr.load('m', $v), $arr)");
	}
}
isnt($truth{'1:0.1:0.2'}, $truth{'2:0.1:0.2'}, 'versions 1 and 2 predict differently at (0.1, 0.2)');

sub check_line
{
	my ($line, $stats) = @_;
	my ($tag, $deployed_v, $x, $y, $p) = split /\|/, $line;

	return unless defined $tag && $tag eq 'P';
	$stats->{n}++;
	$stats->{seen}{$deployed_v}++;
	my $want = $truth{"$deployed_v:$x:$y"};
	if (!defined $want || $p ne $want)
	{
		$stats->{wrong}++;
		push @{ $stats->{examples} }, $line if @{ $stats->{examples} // [] } < 5;
	}
	return;
}

{
	my %client = (n => 0, wrong => 0, errors => 0);
	my $batch = join("\n",
		map { "SELECT 'P', m.deployed_version, $_->[0], $_->[1], modelmgr.predict('m', ARRAY[$_->[0], $_->[1]]::float8[]) "
			  . "FROM modelmgr.models m WHERE m.name = 'm';" } @points);

	$reader->query_ok('SET extra_float_digits = 3');
	$deployer->start($flip_sql);
	my $t0 = time;
	while (!$deployer->poll)
	{
		my $r = $reader->query($batch);
		if ($r->{err} ne '')
		{
			$client{errors}++;
			push @{ $client{examples} }, $r->{err} if @{ $client{examples} // [] } < 5;
		}
		check_line($_, \%client) for split /\n/, $r->{out};
		last if time - $t0 > $flip_secs + 60;
	}
	my $rf = $deployer->finish;
	my ($flips) = $rf->{err} =~ /FLIPS (\d+)/;
	unlike($rf->{err}, qr/ERROR/, 'flipper: every deploy committed without error');
	cmp_ok($flips // 0, '>=', 20, 'flipper: deployed ' . ($flips // 0) . " times in $flip_secs s");
	note "client loop: $client{n} predictions, version 1 seen $client{seen}{1} times, version 2 $client{seen}{2} times";
	is($client{errors}, 0, 'client loop: no predict statement failed')
	  or diag(join("\n", @{ $client{examples} }));
	cmp_ok($client{n}, '>=', 100, "client loop: $client{n} predictions were checked");
	is($client{wrong}, 0, "client loop: every prediction is the one of the version its statement sees deployed")
	  or diag(join("\n", @{ $client{examples} }));
	ok(($client{seen}{1} // 0) > 0 && ($client{seen}{2} // 0) > 0, 'client loop: both versions were served');
}

# The same inside one PL/pgSQL loop: statement after statement in one
# function call, where the call sites' fn_extra survives between them.
{
	my $plpgsql = qq{
SET extra_float_digits = 3;
CREATE TEMP TABLE loop_out (deployed_v int, x float8, y float8, p text);
DO \$\$
DECLARE
    t0 timestamptz := clock_timestamp();
    d int;
    p float8;
BEGIN
    WHILE clock_timestamp() < t0 + interval '$flip_secs seconds' LOOP
        SELECT m.deployed_version, modelmgr.predict('m', ARRAY[0.1, 0.2]::float8[]) INTO d, p
        FROM modelmgr.models m WHERE m.name = 'm';
        INSERT INTO loop_out VALUES (d, 0.1, 0.2, p::text);
        SELECT m.deployed_version, modelmgr.predict('m', ARRAY[-0.5, 0.9]::float8[]) INTO d, p
        FROM modelmgr.models m WHERE m.name = 'm';
        INSERT INTO loop_out VALUES (d, -0.5, 0.9, p::text);
        PERFORM pg_sleep(0.001);
    END LOOP;
END
\$\$;
SELECT 'P', deployed_v, x, y, p FROM loop_out;};
	my %inner = (n => 0, wrong => 0);

	$deployer->start($flip_sql);
	my $r = $reader->query($plpgsql);
	my $rf = $deployer->finish;
	is($r->{err}, '', 'PL/pgSQL loop: no error while the deployment flipped');
	unlike($rf->{err}, qr/ERROR/, 'PL/pgSQL loop: the flipper raised no error');
	check_line($_, \%inner) for split /\n/, $r->{out};
	note "PL/pgSQL loop: $inner{n} predictions, version 1 seen "
	  . ($inner{seen}{1} // 0) . " times, version 2 " . ($inner{seen}{2} // 0) . " times";
	cmp_ok($inner{n}, '>=', 100, "PL/pgSQL loop: $inner{n} predictions were checked");
	is($inner{wrong}, 0, 'PL/pgSQL loop: every prediction is the one of the version its statement sees deployed')
	  or diag(join("\n", @{ $inner{examples} }));
	ok(($inner{seen}{1} // 0) > 0 && ($inner{seen}{2} // 0) > 0,
		'PL/pgSQL loop: both versions were served (the call site does not keep a stale version)');
	$reader->query_ok('DROP TABLE loop_out; RESET extra_float_digits');
}

# ---------------------------------------------------------------------------
# (b) Concurrent retrains of one model.
# ---------------------------------------------------------------------------
my @trainers = map { MMTest::Session->new($node, name => "retrainer$_") } (1, 2);
my $retrain_sql = "SELECT 'RESULT', version, champion_version, deployed, "
  . "coalesce(reason, '<null>') FROM modelmgr.retrain('m')";

sub parse_retrain
{
	my ($r) = @_;
	my @rows = grep { /^RESULT\|/ } split /\n/, $r->{out};

	return undef unless @rows == 1;
	my (undef, $version, $champion, $deployed, $reason) = split /\|/, $rows[0], 5;
	return { version => $version, champion => $champion, deployed => $deployed eq 't', reason => $reason };
}

$ctl->query_ok("SELECT modelmgr.deploy('m', 1, 'before the retrain races')");
my %retrained;    # version => what retrain() returned
my @rounds = ((map { [ "round $_", 'BEGIN' ] } 1 .. 5),
	[ 'round 6 (repeatable read)', 'BEGIN ISOLATION LEVEL REPEATABLE READ' ]);
for my $round (@rounds)
{
	my ($label, $begin) = @$round;

	# the data drifts between rounds, so a retrain usually beats the champion
	$ctl->query_ok("UPDATE train_t SET y = y + 0.05 * a WHERE id % 3 = 0");
	my @r = mm_race($ctl, \@trainers, [ $retrain_sql, $retrain_sql ], begin => $begin);
	my $ok = 0;
	for my $i (0, 1)
	{
		my $t = parse_retrain($r[$i]);

		if (defined $t && $r[$i]->{err} eq '')
		{
			$ok++;
			ok(!exists $retrained{ $t->{version} }, "$label: retrainer" . ($i + 1) . " got a new version ($t->{version})");
			$retrained{ $t->{version} } = $t;
		}
		elsif ($begin =~ /REPEATABLE/)
		{
			like($r[$i]->{err}, qr/ERROR:\s+40001: could not serialize access/,
				"$label: a failed retrain failed only with a serialization failure");
		}
		else
		{
			fail("$label: retrainer" . ($i + 1) . " failed: $r[$i]->{err}");
		}
	}
	cmp_ok($ok, '>=', ($begin =~ /REPEATABLE/ ? 1 : 2), "$label: $ok retrains succeeded");
	my $st = $ctl->query_ok(
		"SELECT m.last_version || ':' || string_agg(v.version::text, ',' ORDER BY v.version) "
		  . "FROM modelmgr.models m JOIN modelmgr.model_versions v ON v.model_id = m.id WHERE m.name = 'm' GROUP BY m.id");
	my ($last, $versions) = split /:/, $st;
	is($versions, join(',', 1 .. $last), "$label: versions 1..$last, no gap (last_version $last)");
}

is(scalar(keys %retrained), $ctl->query_ok("SELECT last_version - 2 FROM modelmgr.models WHERE name = 'm'"),
	'every version after 2 came from one successful retrain');
is( $ctl->query_ok(
		q{SELECT count(*) FROM modelmgr.model_versions v JOIN modelmgr.models m ON m.id = v.model_id
          WHERE m.name = 'm' AND v.version > 2 AND v.operation <> 'retrain'}),
	'0',
	'every new version has operation retrain');

# one decision per retrain, and what retrain() said agrees with it
{
	my @bad;
	my $rows = $ctl->query_ok(
		q{SELECT d.action, coalesce(d.from_version, 0), d.to_version, coalesce(d.candidate_version, 0), d.reason
          FROM modelmgr.deployments d JOIN modelmgr.models m ON m.id = d.model_id
          WHERE m.name = 'm' AND (d.to_version > 2 OR d.candidate_version > 2)
          ORDER BY d.id});
	my %decision;
	for (split /\n/, $rows)
	{
		my ($action, $from, $to, $cand, $reason) = split /\|/, $_, 5;
		my $v = $action eq 'keep' ? $cand : $to;

		next if $action eq 'rollback';
		push @bad, "two decisions about version $v" if exists $decision{$v};
		$decision{$v} = { action => $action, from => $from, to => $to, reason => $reason };
	}
	for my $v (sort { $a <=> $b } keys %retrained)
	{
		my $t = $retrained{$v};
		my $d = $decision{$v};

		if (!$d)
		{
			push @bad, "no recorded decision about version $v";
			next;
		}
		push @bad, "version $v: retrain() said deployed=" . ($t->{deployed} ? 't' : 'f') . ", recorded $d->{action}"
		  if ($d->{action} eq 'deploy') != $t->{deployed};
		push @bad, "version $v: retrain() reported champion_version $t->{champion}, "
		  . "but the decision was taken against version $d->{from} ($d->{action}; reason: $t->{reason})"
		  if $t->{champion} != $d->{from};
	}
	push @bad, "decision about version $_, which no retrain returned"
	  for grep { !exists $retrained{$_} } keys %decision;
	is(scalar(@bad), 0, 'one recorded decision (deploy or keep) per retrain, agreeing with what retrain() returned')
	  or diag(join("\n", @bad));

	# retrain scores champion and challenger on the same held-out rows: the
	# recorded decision must be that comparison, against the version that
	# was deployed when the decision was taken (a concurrent retrain may have
	# deployed it a moment before)
	my @unscored = map { "version $_ ($decision{$_}{action} against $decision{$_}{from}): $decision{$_}{reason}" }
	  grep { $decision{$_}{reason} !~ /^auto: test mse \S+ vs \S+ of version $decision{$_}{from} on the same \d+ held-out rows$/ }
	  sort { $a <=> $b } keys %decision;
	is(scalar(@unscored), 0,
		'every retrain decision compared the challenger with the version deployed at decision time')
	  or diag(join("\n", @unscored));
}
is( $ctl->query_ok(
		q{SELECT count(*) FROM modelmgr.models m
          WHERE m.name = 'm' AND NOT EXISTS (SELECT 1 FROM modelmgr.model_versions v
                                            WHERE v.model_id = m.id AND v.version = m.deployed_version)}),
	'0',
	'the deployed version exists');
is( $ctl->query_ok(
		q{SELECT count(*) FROM (
            SELECT d.from_version, lag(d.to_version) OVER (ORDER BY d.id) AS previous
            FROM modelmgr.deployments d JOIN modelmgr.models m ON m.id = d.model_id WHERE m.name = 'm') s
          WHERE from_version IS DISTINCT FROM previous AND previous IS NOT NULL}),
	'0',
	'every deployments row starts from the version the previous row left deployed');
is( $ctl->query_ok(
		q{SELECT m.deployed_version = (SELECT d.to_version FROM modelmgr.deployments d
                                        WHERE d.model_id = m.id ORDER BY d.id DESC LIMIT 1)
          FROM modelmgr.models m WHERE m.name = 'm'}),
	't',
	'deployed_version is the target of the latest deployments row');

# A retrain that waits for the model's row lock while another transaction
# trains and deploys a new version (a poor one: a heavy ridge fit) must
# take its decision against that new version once it commits: its own fit
# is far better there, so auto deploys it.  Deterministic: the other
# transaction holds the row lock until the retrain is seen waiting for it.
{
	my $poor = $ctl->query_ok(
		"BEGIN; SELECT version FROM modelmgr.train('m', 'linear_regression', 'train_t', 'y', ARRAY['a', 'b'], "
		  . "params => '{\"l2\": 100000}', deploy => 'always')");
	$trainers[0]->start($retrain_sql);
	ok( $ctl->wait_for_true(
			"SELECT wait_event_type IS NOT DISTINCT FROM 'Lock' FROM pg_stat_activity WHERE pid = " . $trainers[0]->pid,
			60, $trainers[0]),
		"a retrain waits for the row lock held by the transaction that deploys version $poor");
	$ctl->query_ok('COMMIT');
	my $r = $trainers[0]->finish;
	my $t = parse_retrain($r);

	is($r->{err}, '', 'the waiting retrain finished without error');
	ok(defined $t, 'the waiting retrain returned its row');
	if (defined $t)
	{
		is($t->{champion}, $poor, "the waiting retrain reports champion_version $poor, the version deployed when it decided");
		like($t->{reason}, qr/^auto: test mse \S+ vs \S+ of version $poor on the same \d+ held-out rows$/,
			"the waiting retrain compared itself with version $poor");
		ok($t->{deployed}, "the waiting retrain, far better than the ridge version $poor, was deployed");
	}
}

$_->quit for (@trainers, $reader, $deployer, $ctl);
mm_no_crash($node);
$node->stop;
done_testing();
