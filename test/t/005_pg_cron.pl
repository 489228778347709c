# 005_pg_cron.pl: modelmgr.retrain() scheduled with pg_cron.
#
# A node preloads pg_cron (background workers, database postgres, unix socket
# only).  Three jobs are scheduled at once, every minute, so that one minute
# boundary runs them all (pg_cron 1.4 has no sub-minute schedules):
#   retrain-m     retrain('m') after the data changed: succeeds, and leaves a
#                 version with operation 'retrain' whose parent is the
#                 version deployed before, plus a deployments row (deploy or
#                 keep) recording the decision;
#   retrain-nope  retrain of a model that does not exist: fails, and the run
#                 records our error text;
#   retrain-gone  retrain of a model whose source table was dropped: fails
#                 with the error that names the missing relation.
# The failed jobs leave nothing behind.  All jobs are unscheduled at the end.
# Waiting is bounded: poll once a second, at most 150 seconds.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/lib";

use MMTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $max_wait = 150;

my $node = mm_node(
	'cron',
	"shared_preload_libraries = 'pg_cron'",
	"cron.database_name = 'postgres'",
	"cron.use_background_workers = on",
	"max_worker_processes = 16");

$node->safe_psql(
	'postgres', q{
SET client_min_messages = warning;
CREATE EXTENSION pg_cron;
-- y = 1 + 2 a - 3 b + 0.5 c + noise, 20000 rows
CREATE TABLE obs (id int PRIMARY KEY, a float8, b float8, c float8, y float8);
INSERT INTO obs
SELECT i, a, b, c, 1 + 2 * a - 3 * b + 0.5 * c + e
FROM (SELECT i, sin(i * 0.37) AS a, cos(i * 0.11) AS b, ((i * 7919) % 1000)::float8 / 1000 AS c,
             0.1 * (((i::bigint * 2654435761) % 1000003)::float8 / 1000003 - 0.5) AS e
      FROM generate_series(1, 20000) AS i) s;
CREATE TABLE obs2 AS SELECT * FROM obs WHERE id <= 5000;
SELECT version FROM modelmgr.train('m', 'linear_regression', 'obs', 'y', ARRAY['a', 'b', 'c']);
SELECT version FROM modelmgr.train('m2', 'linear_regression', 'obs2', 'y', ARRAY['a', 'b', 'c']);
});
is( $node->safe_psql(
		'postgres',
		"SELECT string_agg(name || ':' || deployed_version || ':' || last_version, ' ' ORDER BY name) FROM modelmgr.models"),
	'm:1:1 m2:1:1',
	'models m and m2 have version 1, deployed');

# The data drifts a little: the coefficient of a grows, so a retrain on the
# current rows should win on the same held-out rows.
$node->safe_psql('postgres', 'UPDATE obs SET y = y + 0.2 * a');
$node->safe_psql('postgres', 'DROP TABLE obs2');

my %jobs = (
	'retrain-m' => q{SELECT modelmgr.retrain('m')},
	'retrain-nope' => q{SELECT modelmgr.retrain('nope')},
	'retrain-gone' => q{SELECT modelmgr.retrain('m2')},
);
my %jobid;
my $t_scheduled = time;
for my $j (sort keys %jobs)
{
	$jobid{$j} = $node->safe_psql('postgres', "SELECT cron.schedule('$j', '* * * * *', \$\$$jobs{$j}\$\$)");
	like($jobid{$j}, qr/^\d+$/, "cron.schedule('$j') returned job id $jobid{$j}");
}

# Wait until every job has a finished run.
my $finished = "SELECT count(DISTINCT jobid) = 3 FROM cron.job_run_details "
  . "WHERE status IN ('succeeded', 'failed') AND jobid IN (" . join(', ', values %jobid) . ")";
my $done = mm_poll_until($node, 'postgres', $finished, $max_wait, 1);
my $waited = time - $t_scheduled;
ok($done, sprintf('every job finished a run within %d s (waited %.1f s)', $max_wait, $waited));
note $node->safe_psql('postgres',
	"SELECT jobid, runid, status, return_message, start_time, end_time FROM cron.job_run_details ORDER BY runid");

# Unschedule now, so that no further minute starts another run while we check.
for my $j (sort keys %jobs)
{
	is($node->safe_psql('postgres', "SELECT cron.unschedule('$j')"), 't', "cron.unschedule('$j')");
}
is($node->safe_psql('postgres', 'SELECT count(*) FROM cron.job'), '0', 'no job is left scheduled');

sub first_run
{
	my ($job) = @_;
	return $node->safe_psql('postgres',
		"SELECT status || '|' || coalesce(return_message, '<null>') FROM cron.job_run_details "
		  . "WHERE jobid = $jobid{$job} AND status IN ('succeeded', 'failed') ORDER BY runid LIMIT 1");
}

# ---------------------------------------------------------------------------
# The retrain job
# ---------------------------------------------------------------------------
{
	my ($status, $message) = split /\|/, first_run('retrain-m'), 2;

	is($status, 'succeeded', 'retrain-m: the run succeeded') or diag("return_message: $message");
	like($message // '', qr/^SELECT 1$/, 'retrain-m: the run returned one row (SELECT 1)');

	my $v = $node->safe_psql(
		'postgres', q{
SELECT v.version || '|' || v.operation || '|' || coalesce(v.parent_version::text, '<null>') || '|'
       || v.created_by || '|' || v.source_relation || '|' || array_to_string(v.features, ',')
FROM modelmgr.model_versions v JOIN modelmgr.models m ON m.id = v.model_id
WHERE m.name = 'm' AND v.version > 1 ORDER BY v.version LIMIT 1});
	is($v, '2|retrain|1|postgres|public.obs|a,b,c',
		'retrain-m: version 2 exists, operation retrain, parent 1 (the deployed version), same recipe');

	my $d = $node->safe_psql(
		'postgres', q{
SELECT d.action || '|' || coalesce(d.from_version::text, '<null>') || '|' || d.to_version || '|'
       || coalesce(d.candidate_version::text, '<null>') || '|' || d.deployed_by || '|' || coalesce(d.reason, '<null>')
FROM modelmgr.deployments d JOIN modelmgr.models m ON m.id = d.model_id
WHERE m.name = 'm' AND (d.to_version = 2 OR d.candidate_version = 2)});
	my @d = split /\|/, $d, 6;
	ok(@d == 6, 'retrain-m: exactly one deployments row records the decision about version 2') or diag($d);
	if ($d[0] eq 'deploy')
	{
		is("$d[1]|$d[2]", '1|2', 'retrain-m: the decision deployed version 2 in place of 1');
		is($node->safe_psql('postgres', "SELECT deployed_version FROM modelmgr.models WHERE name = 'm'"),
			'2', 'retrain-m: version 2 is deployed');
	}
	else
	{
		is("$d[0]|$d[1]|$d[2]|$d[3]", 'keep|1|1|2', 'retrain-m: the decision kept version 1 over candidate 2');
		is($node->safe_psql('postgres', "SELECT deployed_version FROM modelmgr.models WHERE name = 'm'"),
			'1', 'retrain-m: version 1 stays deployed');
	}
	is($d[4], 'postgres', 'retrain-m: the decision is recorded as made by the job owner');
	like($d[5], qr/mse .* on the same \d+ held-out rows/, 'retrain-m: the reason gives the comparison');
	# the data drifted towards a larger coefficient of a: the retrain fits it
	# better, so auto deploys it
	is($d[0], 'deploy', 'retrain-m: the retrained version won on the drifted data and was deployed');
}

# ---------------------------------------------------------------------------
# The failing jobs
# ---------------------------------------------------------------------------
{
	my ($status, $message) = split /\|/, first_run('retrain-nope'), 2;

	is($status, 'failed', 'retrain-nope: the run failed');
	like($message // '', qr/model "nope" does not exist/, 'retrain-nope: return_message has our error text');
}
{
	my ($status, $message) = split /\|/, first_run('retrain-gone'), 2;

	is($status, 'failed', 'retrain-gone: the run failed');
	like(
		$message // '',
		qr/relation public\.obs2, which version 1 of model "m2" was trained on, does not exist/,
		'retrain-gone: return_message names the dropped source relation');
}
is($node->safe_psql('postgres', "SELECT count(*) FROM modelmgr.models WHERE name = 'nope'"),
	'0', 'the failed job created no model');
is( $node->safe_psql(
		'postgres',
		"SELECT last_version || ':' || deployed_version || ':' || (SELECT count(*) FROM modelmgr.model_versions v "
		  . "WHERE v.model_id = m.id) FROM modelmgr.models m WHERE name = 'm2'"),
	'1:1:1',
	'the failed retrain of m2 left no version behind');
is( $node->safe_psql(
		'postgres',
		"SELECT count(*) FROM modelmgr.deployments d JOIN modelmgr.models m ON m.id = d.model_id WHERE m.name = 'm2'"),
	'1',
	'the failed retrain of m2 recorded no decision');

mm_no_crash($node);
$node->stop;
done_testing();
