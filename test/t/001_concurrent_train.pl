# 001_concurrent_train.pl: version numbering and deployment under races.
#
# Two sessions train the same model at the same instant (an advisory lock
# that both wait on is the starting gun), for new models and for an existing
# one, in READ COMMITTED and REPEATABLE READ, and race a training against
# deploy and drop_version.  Afterwards: every version number 1..last_version
# was given out exactly once (except the ones this test dropped), no version
# was reused, last_version matches, the deployment history is one unbroken
# chain, the deployed version exists, and every stored artifact predicts.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/lib";

use MMTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = mm_node('concurrent');

# y = 1 + 2 x1 - 3 x2 + 0.5 x3 + 4 x4 + small deterministic noise, so every
# version predicts about 2.35 at (0.1, 0.2, 0.3, 0.4).  500k rows: a training
# takes a few hundred milliseconds, long enough for real overlap.
$node->safe_psql(
	'postgres', q{
CREATE UNLOGGED TABLE houses (id bigint, x1 float8, x2 float8, x3 float8, x4 float8, y float8);
INSERT INTO houses
SELECT i, x1, x2, x3, x4, 1 + 2 * x1 - 3 * x2 + 0.5 * x3 + 4 * x4 + e
FROM (SELECT i, sin(d * 0.37) AS x1, cos(d * 0.11) AS x2, sin(d * 0.013) AS x3,
             ((i * 7919) % 1000)::float8 / 1000 AS x4,
             0.01 * (((i * 2654435761) % 1000003)::float8 / 1000003 - 0.5) AS e
      FROM generate_series(1::bigint, 500000::bigint) AS i,
           LATERAL (SELECT i::float8 AS d) AS dd) AS s;
VACUUM ANALYZE houses;
});

my $ctl = MMTest::Session->new($node, name => 'controller');
my @s = map { MMTest::Session->new($node, name => "trainer$_") } (1, 2);
my $lock_key = 4242;

# What the test expects: model name => { version => 1 } still present.
my %expected_versions;

sub train_sql
{
	my ($model) = @_;
	return "SELECT 'RESULT', version, deployed FROM modelmgr.train('$model', "
	  . "'linear_regression', 'houses', 'y', ARRAY['x1', 'x2', 'x3', 'x4'])";
}

# The RESULT row of a training, or undef.
sub parse_train
{
	my ($r) = @_;
	my @rows = grep { /^RESULT\|/ } split /\n/, $r->{out};

	return undef unless @rows == 1;
	my (undef, $version, $deployed) = split /\|/, $rows[0];
	return { version => $version, deployed => $deployed eq 't' };
}

# Run one SQL text per session, all released at the same instant: each one
# first waits for a shared advisory lock that the controller holds, and the
# controller lets go once every session is waiting.  $begin starts the
# transaction (and may name an isolation level).
sub race
{
	my ($sqls, %opt) = @_;
	my $begin = $opt{begin} // 'BEGIN';
	my @sessions = @s[ 0 .. $#$sqls ];

	$ctl->query_ok("SELECT pg_advisory_lock($lock_key)");
	for my $i (0 .. $#$sqls)
	{
		$sessions[$i]->start("$begin;\nSELECT pg_advisory_xact_lock_shared($lock_key);\n"
			  . "$sqls->[$i];\nCOMMIT;");
	}
	$ctl->wait_for_true(
		"SELECT count(*) = " . scalar(@sessions)
		  . " FROM pg_locks WHERE locktype = 'advisory' AND objid = $lock_key AND NOT granted", 60)
	  or die "the racing sessions never queued on the advisory lock";
	$ctl->query_ok("SELECT pg_advisory_unlock($lock_key)");
	return mm_finish_all(@sessions);
}

sub model_state
{
	my ($model) = @_;
	my $row = $node->safe_psql(
		'postgres', qq{
SELECT m.last_version, coalesce(m.deployed_version, 0),
       coalesce((SELECT string_agg(v.version::text, ',' ORDER BY v.version)
                 FROM modelmgr.model_versions v WHERE v.model_id = m.id), '')
FROM modelmgr.models m WHERE m.name = '$model'});
	my ($last, $deployed, $versions) = split /\|/, $row;
	return { last => $last, deployed => $deployed, versions => $versions };
}

# ---------------------------------------------------------------------------
# 1. Two sessions create the same new model at the same time, 5 times.
# ---------------------------------------------------------------------------
for my $round (1 .. 5)
{
	my $model = "race_new_$round";
	my @r = race([ train_sql($model), train_sql($model) ]);
	my @t = map { parse_train($_) } @r;

	for my $i (0, 1)
	{
		is($r[$i]->{err}, '', "new model round $round: trainer" . ($i + 1) . " raised no error");
		ok(defined $t[$i], "new model round $round: trainer" . ($i + 1) . " returned a version");
	}
	next unless defined $t[0] && defined $t[1];
	is(join(',', sort { $a <=> $b } map { $_->{version} } @t),
		'1,2', "new model round $round: the two trainings got versions 1 and 2");

	my ($first) = grep { $_->{version} == 1 } @t;
	my ($second) = grep { $_->{version} == 2 } @t;
	ok($first && $first->{deployed}, "new model round $round: version 1 was auto-deployed (nothing was deployed)");

	my $st = model_state($model);
	is($st->{last}, 2, "new model round $round: last_version = 2");
	is($st->{versions}, '1,2', "new model round $round: model_versions holds exactly 1,2");
	is($st->{deployed}, ($second && $second->{deployed}) ? 2 : 1,
		"new model round $round: deployed_version agrees with what train() reported");
	is( $node->safe_psql(
			'postgres',
			"SELECT count(*) FROM modelmgr.deployments d JOIN modelmgr.models m ON m.id = d.model_id "
			  . "WHERE m.name = '$model' AND d.from_version IS NULL"),
		'1',
		"new model round $round: exactly one first deployment (the loser saw the winner's deploy)");
	$expected_versions{$model} = { 1 => 1, 2 => 1 };
}
is($node->safe_psql('postgres', "SELECT count(*) FROM modelmgr.models WHERE name LIKE 'race_new_%'"),
	'5', 'one models row per new model name');

# ---------------------------------------------------------------------------
# 2. Same model, 5 rounds x 2 sessions: the first round creates it, later
#    rounds add versions to an existing model.  Rounds 4 and 5 run in
#    autocommit, started back to back without the advisory-lock gun.
# ---------------------------------------------------------------------------
my %got;
for my $round (1 .. 5)
{
	my @r;

	if ($round <= 3)
	{
		@r = race([ train_sql('race_same'), train_sql('race_same') ]);
	}
	else
	{
		$_->start(train_sql('race_same')) for @s;
		@r = mm_finish_all(@s);
	}
	for my $i (0, 1)
	{
		my $t = parse_train($r[$i]);

		is($r[$i]->{err}, '', "same model round $round: trainer" . ($i + 1) . " raised no error");
		ok(defined $t, "same model round $round: trainer" . ($i + 1) . " returned a version");
		$got{ $t->{version} }++ if defined $t;
	}
}
is(join(',', sort { $a <=> $b } keys %got), '1,2,3,4,5,6,7,8,9,10',
	'same model: 10 trainings got versions 1..10');
is(scalar(grep { $got{$_} != 1 } keys %got), 0, 'same model: no version number was given out twice');
{
	my $st = model_state('race_same');

	is($st->{last}, 10, 'same model: last_version = 10');
	is($st->{versions}, '1,2,3,4,5,6,7,8,9,10', 'same model: model_versions holds exactly 1..10');
}
$expected_versions{race_same} = { map { $_ => 1 } 1 .. 10 };

# ---------------------------------------------------------------------------
# 3. REPEATABLE READ: the later of two trainings that both took their
#    snapshot before the other committed may fail, but only with a
#    serialization failure (40001), and never leaves a gap.
# ---------------------------------------------------------------------------
$ctl->query_ok(train_sql('race_rr'));
{
	my @r = race([ train_sql('race_rr'), train_sql('race_rr') ],
		begin => 'BEGIN ISOLATION LEVEL REPEATABLE READ');
	my $ok = 0;

	for my $i (0, 1)
	{
		if (defined parse_train($r[$i]) && $r[$i]->{err} eq '')
		{
			$ok++;
		}
		else
		{
			like($r[$i]->{err}, qr/ERROR:\s+40001: could not serialize access/,
				'repeatable read: a failed training failed only with a serialization failure');
		}
	}
	cmp_ok($ok, '>=', 1, 'repeatable read: at least one of the two trainings succeeded');
	my $st = model_state('race_rr');
	is($st->{last}, 1 + $ok, 'repeatable read: last_version counts only committed trainings');
	is($st->{versions}, join(',', 1 .. 1 + $ok), 'repeatable read: versions have no gap');
	$expected_versions{race_rr} = { map { $_ => 1 } 1 .. 1 + $ok };
}

# ---------------------------------------------------------------------------
# 4. Training against deploy and drop_version of the same model.
#    Round a: trainer2 deploys version 3 and drops the newest version 10
#    while trainer1's training is scanning; it holds the model row until it
#    commits, so the training must wait, then number its version 11 (10 is
#    never reused) and take its auto-deploy decision against version 3.
#    Round b: trainer2 (autocommit) deploys 5 and drops 4 in the middle of
#    a training.
# ---------------------------------------------------------------------------
{
	my @r = race(
		[
			train_sql('race_same'),
			"SELECT 'DEPLOYED', modelmgr.deploy('race_same', 3, 'race a');\n"
			  . "SELECT pg_sleep(0.3);\n"
			  . "SELECT 'DROPPED', modelmgr.drop_version('race_same', 10)"
		]);
	my $t = parse_train($r[0]);

	is($r[0]->{err}, '', 'train vs deploy/drop (a): the training raised no error');
	is($r[1]->{err}, '', 'train vs deploy/drop (a): deploy and drop_version raised no error');
	is($t && $t->{version}, 11, 'train vs deploy/drop (a): the training got version 11, not the dropped 10');
	my $st = model_state('race_same');
	is($st->{versions}, '1,2,3,4,5,6,7,8,9,11', 'train vs deploy/drop (a): versions 1..9 and 11');
	is($st->{last}, 11, 'train vs deploy/drop (a): last_version = 11');
	if ($t && $t->{deployed})
	{
		is($st->{deployed}, 11, 'train vs deploy/drop (a): the auto-deployed version 11 is deployed');
		is( $node->safe_psql(
				'postgres',
				"SELECT d.from_version FROM modelmgr.deployments d JOIN modelmgr.models m ON m.id = d.model_id "
				  . "WHERE m.name = 'race_same' ORDER BY d.id DESC LIMIT 1"),
			'3',
			'train vs deploy/drop (a): the auto deploy replaced version 3, the one deployed concurrently');
	}
	else
	{
		is($st->{deployed}, 3, 'train vs deploy/drop (a): version 3 stays deployed');
	}
	delete $expected_versions{race_same}{10};
	$expected_versions{race_same}{11} = 1;
}
{
	$s[0]->start(train_sql('race_same'));
	# let it get going (if it is already done, the checks below still hold)
	$ctl->wait_for_true("SELECT count(*) = 1 FROM pg_stat_activity WHERE pid = " . $s[0]->pid
		  . " AND state = 'active' AND query LIKE '%modelmgr.train%'", 30, $s[0]);
	my $r1 = $s[1]->query("SELECT modelmgr.deploy('race_same', 5, 'race b');\n"
		  . "SELECT modelmgr.drop_version('race_same', 4)");
	my ($r0) = mm_finish_all($s[0]);
	my $t = parse_train($r0);

	is($r0->{err}, '', 'train vs deploy/drop (b): the training raised no error');
	is($r1->{err}, '', 'train vs deploy/drop (b): deploy and drop_version raised no error');
	is($t && $t->{version}, 12, 'train vs deploy/drop (b): the training got version 12');
	my $st = model_state('race_same');
	is($st->{versions}, '1,2,3,5,6,7,8,9,11,12', 'train vs deploy/drop (b): version 4 is gone, 12 is new');
	is($st->{deployed}, ($t && $t->{deployed}) ? 12 : 5,
		'train vs deploy/drop (b): deployed_version agrees with what train() reported');
	delete $expected_versions{race_same}{4};
	$expected_versions{race_same}{12} = 1;
}

# ---------------------------------------------------------------------------
# 5. Whole-registry invariants.
# ---------------------------------------------------------------------------
for my $model (sort keys %expected_versions)
{
	my $st = model_state($model);
	my @want = sort { $a <=> $b } keys %{ $expected_versions{$model} };

	is($st->{versions}, join(',', @want), "$model: exactly the expected versions are stored");
	is($st->{last}, $want[-1], "$model: last_version is the highest version given out");
	ok($expected_versions{$model}{ $st->{deployed} }, "$model: the deployed version ($st->{deployed}) exists");
}
is( $node->safe_psql(
		'postgres', q{
SELECT count(*) FROM (
    SELECT d.model_id, d.from_version,
           lag(d.to_version) OVER (PARTITION BY d.model_id ORDER BY d.id) AS previous
    FROM modelmgr.deployments d) s
WHERE from_version IS DISTINCT FROM previous}),
	'0',
	'every deployment starts from the version the previous deployment of that model deployed');
is( $node->safe_psql(
		'postgres', q{
SELECT count(*) FROM modelmgr.models m
WHERE m.deployed_version IS DISTINCT FROM
      (SELECT d.to_version FROM modelmgr.deployments d WHERE d.model_id = m.id ORDER BY d.id DESC LIMIT 1)}),
	'0',
	'models.deployed_version is the target of the latest deployment of each model');
is( $node->safe_psql(
		'postgres', q{
SELECT count(*) FROM modelmgr.model_versions v JOIN modelmgr.models m ON m.id = v.model_id
WHERE v.size_bytes <> length(v.artifact)
   OR abs(modelmgr.predict(modelmgr.load(m.name, v.version), ARRAY[0.1, 0.2, 0.3, 0.4]::float8[]) - 2.35) > 1e-3}),
	'0',
	'every stored version loads and predicts 2.35 +- 1e-3 at (0.1, 0.2, 0.3, 0.4)');
{
	my $total = 0;

	$total += scalar(keys %$_) for values %expected_versions;
	is($node->safe_psql('postgres', 'SELECT count(*) FROM modelmgr.model_versions'),
		$total, 'no stray version rows');
}

$_->quit for (@s, $ctl);
$node->stop;
done_testing();
