# 009_load.pl: 8 clients predicting while 1 client retrains and deploys the
# same model, for MM_LOAD_SECONDS seconds (default 60), with pgbench.
#
#   - 4 clients (-M prepared) predict one row per transaction with the
#     float8[] form, 4 clients (-M simple) 5 rows per statement with the
#     whole-row form (test/t/load/predict_*.sql).  Each statement logs the
#     prediction together with the deployed version its own snapshot reads
#     from modelmgr.models (one statement, one snapshot).
#   - 1 client (test/t/load/retrain.sql) changes a few targets, then
#     retrains with deploy => 'always' or 'auto', deploys an older version,
#     or rolls back, and logs what each retrain returned.
#
# Afterwards: no pgbench client failed or aborted, no ERROR/FATAL/PANIC in
# the server log; the versions created during the run are exactly
# last_before+1 .. last_version (no gap, no duplicate), one per logged
# retrain, each with operation retrain and a parent; the deployments chain
# is consistent and each retrain's decision is on record; every logged
# prediction is bit-identical to what load('m', v) predicts for its row, v
# being a committed version that was deployed at some point (and the
# versions are told apart: the previous version predicts otherwise); and the
# live statistics (preloaded) counted exactly the logged rows per version.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/lib";

use IPC::Run;
use MMTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $secs = $ENV{MM_LOAD_SECONDS} // 60;
my $rows = 100_000;
my $scripts = "$FindBin::RealBin/load";

my $node = mm_node('load', 'max_connections = 40', "shared_preload_libraries = 'modelmgr'",
	'modelmgr.max_tracked = 100000');

# feats: y = 1 + 2 a - 3 b + 0.5 c + noise.  Versions 1..6 before the run
# (train, then 5 retrains deployed each), so that the deployment history is
# deep enough for the run's rollbacks.
$node->safe_psql(
	'postgres', qq{
SET client_min_messages = warning;
CREATE TABLE feats (id int PRIMARY KEY, a float8, b float8, c float8, y float8);
INSERT INTO feats
SELECT i, sin(i * 0.37), cos(i * 0.11), ((i::bigint * 7919) % 1000) / 1000.0,
       1 + 2 * sin(i * 0.37) - 3 * cos(i * 0.11) + 0.5 * ((i::bigint * 7919) % 1000) / 1000.0
         + 0.1 * (((i::bigint * 2654435761) % 1000003)::float8 / 1000003 - 0.5)
FROM generate_series(1, $rows) AS i;
VACUUM ANALYZE feats;
CREATE UNLOGGED TABLE preds (form text NOT NULL, xid bigint NOT NULL, id int NOT NULL,
                             p float8, v int);
CREATE TABLE retrains (version int, champion int, deployed boolean, policy text);
SELECT version FROM modelmgr.train('m', 'linear_regression', 'feats', 'y', ARRAY['a', 'b', 'c']);
UPDATE feats SET y = y + 0.5 WHERE id <= 50;
SELECT version FROM modelmgr.retrain('m', deploy => 'always');
UPDATE feats SET y = y + 0.5 WHERE id <= 100;
SELECT version FROM modelmgr.retrain('m', deploy => 'always');
UPDATE feats SET y = y + 0.5 WHERE id <= 150;
SELECT version FROM modelmgr.retrain('m', deploy => 'always');
UPDATE feats SET y = y + 0.5 WHERE id <= 200;
SELECT version FROM modelmgr.retrain('m', deploy => 'always');
UPDATE feats SET y = y + 0.5 WHERE id <= 250;
SELECT version FROM modelmgr.retrain('m', deploy => 'always');
});

my $before = $node->safe_psql('postgres',
	"SELECT last_version || '|' || deployed_version || '|' || "
	  . "(SELECT coalesce(max(id), 0) FROM modelmgr.deployments) FROM modelmgr.models WHERE name = 'm'");
my ($last_before, $deployed_before, $last_event_before) = split /\|/, $before;
is("$last_before|$deployed_before", '6|6', 'before the run: versions 1..6, version 6 deployed');

$node->safe_psql('postgres', 'SELECT modelmgr.reset_prediction_stats()');
my $log_offset = -s $node->logfile;

# ---------------------------------------------------------------------------
# The run: three pgbench processes started together, same duration.
# ---------------------------------------------------------------------------
my @conn = ('-h', $node->host, '-p', $node->port);
my %bench = (
	array => [ '-c', 4, '-j', 2, '-M', 'prepared', '-f', "$scripts/predict_array.sql" ],
	record => [ '-c', 4, '-j', 2, '-M', 'simple', '-f', "$scripts/predict_record.sql" ],
	retrain => [ '-c', 1, '-j', 1, '-M', 'simple', '-f', "$scripts/retrain.sql" ],);
my %run;
{
	# NOTICEs of auto retrains that keep the champion are not errors
	local $ENV{PGOPTIONS} = '-c client_min_messages=warning';
	my $t0 = time;

	for my $name (sort keys %bench)
	{
		my ($out, $err) = ('', '');
		my $h = IPC::Run::start(
			[ 'pgbench', '-n', @conn, '-T', $secs, @{ $bench{$name} }, 'postgres' ],
			'<', \undef, '>', \$out, '2>', \$err,
			IPC::Run::timeout($secs + 120));
		$run{$name} = { h => $h, out => \$out, err => \$err };
	}
	for my $name (sort keys %run)
	{
		$run{$name}{h}->finish;
		$run{$name}{rc} = $run{$name}{h}->result(0);
	}
	note sprintf('the three pgbench runs took %.1f s (-T %d)', time - $t0, $secs);
}

# pgbench 15 prints "number of failed transactions: N (x%)"; a client that
# hits an error is aborted ("client N script M aborted in command ...") and
# pgbench exits with status 2.
my %tx;
for my $name (sort keys %run)
{
	my $out = ${ $run{$name}{out} };
	my $err = ${ $run{$name}{err} };
	my ($processed) = $out =~ /number of transactions actually processed: (\d+)/;
	my ($failed) = $out =~ /number of failed transactions: (\d+)/;
	my ($tps) = $out =~ /tps = ([\d.]+)/;

	note "pgbench $name:\n$out" . ($err ne '' ? "stderr:\n$err" : '');
	is($run{$name}{rc}, 0, "pgbench $name: exit status 0");
	is($failed // 'missing', 0, "pgbench $name: 0 failed transactions");
	unlike($out . $err, qr/aborted|error/i, "pgbench $name: no client aborted, no error reported");
	$tx{$name} = $processed // 0;
	note sprintf("pgbench %s: %d transactions, %.1f tps", $name, $tx{$name}, $tps // 0);
}
cmp_ok($tx{array} + $tx{record}, '>=', 50 * $secs,
	"the 8 predicting clients ran " . ($tx{array} + $tx{record}) . " transactions");
cmp_ok($tx{retrain}, '>=', $secs, "the retraining client ran $tx{retrain} transactions");

# ---------------------------------------------------------------------------
# Server log: nothing went wrong on the server side.
# ---------------------------------------------------------------------------
{
	my $log = PostgreSQL::Test::Utils::slurp_file($node->logfile, $log_offset);
	my @bad = grep { /\b(ERROR|FATAL|PANIC):/ } split /\n/, $log;

	is(scalar(@bad), 0, 'no ERROR, FATAL or PANIC in the server log during the run')
	  or diag(join("\n", @bad[ 0 .. ($#bad < 9 ? $#bad : 9) ]));
}
mm_no_crash($node);

# ---------------------------------------------------------------------------
# Versions: no gap, no duplicate, one per retrain.
# ---------------------------------------------------------------------------
my $last = $node->safe_psql('postgres', "SELECT last_version FROM modelmgr.models WHERE name = 'm'");
my $retrains = $node->safe_psql('postgres', 'SELECT count(*) FROM retrains');
cmp_ok($retrains, '>=', 10, "$retrains retrains during the run");
is( $node->safe_psql(
		'postgres', qq{
SELECT coalesce(string_agg(v.version::text, ',' ORDER BY v.version), '')
FROM modelmgr.model_versions v JOIN modelmgr.models m ON m.id = v.model_id
WHERE m.name = 'm' AND v.version > $last_before}),
	join(',', $last_before + 1 .. $last),
	"versions created during the run: exactly " . ($last_before + 1) . "..$last, no gap");
is( $node->safe_psql(
		'postgres', qq{
SELECT count(*) || '|' || count(DISTINCT version) || '|' || coalesce(min(version), 0) || '|' || coalesce(max(version), 0)
FROM retrains}),
	join('|', $last - $last_before, $last - $last_before, $last_before + 1, $last),
	'every new version was returned by exactly one retrain, and every retrain returned a new version');
is( $node->safe_psql(
		'postgres', qq{
SELECT count(*) FROM modelmgr.model_versions v JOIN modelmgr.models m ON m.id = v.model_id
WHERE m.name = 'm' AND v.version > $last_before
  AND (v.operation <> 'retrain' OR v.parent_version IS NULL OR v.parent_version >= v.version)}),
	'0',
	'every new version has operation retrain and an earlier parent');
is( $node->safe_psql(
		'postgres', q{
SELECT m.last_version = max(v.version) FROM modelmgr.models m JOIN modelmgr.model_versions v ON v.model_id = m.id
WHERE m.name = 'm' GROUP BY m.id}),
	't',
	'last_version is the highest stored version');

# ---------------------------------------------------------------------------
# Deployments: a consistent chain, one decision per retrain.
# ---------------------------------------------------------------------------
is( $node->safe_psql(
		'postgres', q{
SELECT count(*) FROM modelmgr.deployments d JOIN modelmgr.models m ON m.id = d.model_id
WHERE m.name = 'm' AND (NOT EXISTS (SELECT 1 FROM modelmgr.model_versions v
                                   WHERE v.model_id = d.model_id AND v.version = d.to_version)
                        OR (d.candidate_version IS NOT NULL
                            AND NOT EXISTS (SELECT 1 FROM modelmgr.model_versions v
                                           WHERE v.model_id = d.model_id AND v.version = d.candidate_version)))}),
	'0',
	'every deployments row points to existing versions');
is( $node->safe_psql(
		'postgres', q{
SELECT count(*) FROM (
    SELECT d.from_version, lag(d.to_version) OVER (ORDER BY d.id) AS previous
    FROM modelmgr.deployments d JOIN modelmgr.models m ON m.id = d.model_id WHERE m.name = 'm') s
WHERE previous IS NOT NULL AND from_version IS DISTINCT FROM previous}),
	'0',
	'every deployments row starts from the version the previous row left deployed');
is( $node->safe_psql(
		'postgres', q{
SELECT m.deployed_version = (SELECT d.to_version FROM modelmgr.deployments d
                             WHERE d.model_id = m.id ORDER BY d.id DESC LIMIT 1)
FROM modelmgr.models m WHERE m.name = 'm'}),
	't',
	'deployed_version is the target of the latest deployments row');
is( $node->safe_psql(
		'postgres', qq{
SELECT count(*) FROM retrains r
WHERE (SELECT count(*) FROM modelmgr.deployments d JOIN modelmgr.models m ON m.id = d.model_id
       WHERE m.name = 'm' AND d.id > $last_event_before
         AND d.reason NOT LIKE 'load test%'
         AND CASE WHEN r.deployed THEN d.action = 'deploy' AND d.to_version = r.version
                                       AND d.from_version = r.champion
                  ELSE d.action = 'keep' AND d.candidate_version = r.version
                       AND d.to_version = r.champion END
         AND d.reason LIKE CASE r.policy WHEN 'always' THEN 'deploy => always; %' ELSE 'auto: %' END) <> 1
   OR (r.policy = 'always' AND NOT r.deployed)}),
	'0',
	'each retrain has exactly one recorded decision (not counting the manual deploys) matching what it returned: '
	  . 'deployed or kept, against its champion, under its policy (always => deployed)');
my $events = $node->safe_psql(
	'postgres', qq{
SELECT string_agg(action || '=' || n, ' ' ORDER BY action) FROM (
    SELECT d.action, count(*) AS n FROM modelmgr.deployments d JOIN modelmgr.models m ON m.id = d.model_id
    WHERE m.name = 'm' AND d.id > $last_event_before GROUP BY d.action) s});
note "deployments during the run: $events";
like($events, qr/deploy=\d+/, 'deploys happened during the run');
like($events, qr/rollback=\d+/, 'rollbacks happened during the run');

# ---------------------------------------------------------------------------
# Live statistics counted every logged prediction, per version.
# ---------------------------------------------------------------------------
is( $node->safe_psql(
		'postgres', q{
WITH logged AS (SELECT v AS version, count(*) AS rows, count(DISTINCT xid) AS calls FROM preds GROUP BY v),
     live AS (SELECT version, rows, calls FROM modelmgr.prediction_stats WHERE model = 'm')
SELECT count(*) FROM logged FULL JOIN live USING (version)
WHERE logged.rows IS DISTINCT FROM live.rows OR logged.calls IS DISTINCT FROM live.calls}),
	'0',
	'prediction_stats counted exactly the logged rows and statements of each version');

# ---------------------------------------------------------------------------
# Predictions: every one is version v's answer, v committed and deployed.
# ---------------------------------------------------------------------------
{
	my $t0 = time;
	my $r = $node->safe_psql(
		'postgres', q{
SET client_min_messages = warning;
CREATE TEMP TABLE vm AS
SELECT v.version, modelmgr.load('m', v.version) AS mdl
FROM modelmgr.model_versions v JOIN modelmgr.models m ON m.id = v.model_id WHERE m.name = 'm';
ANALYZE vm;
SELECT count(*),
       count(*) FILTER (WHERE p.v IS NULL OR p.p IS NULL),
       count(*) FILTER (WHERE vm.version IS NULL),
       count(*) FILTER (WHERE vm.version IS NOT NULL
                        AND float8send(p.p) IS DISTINCT FROM float8send(modelmgr.predict(vm.mdl, ARRAY[f.a, f.b, f.c]))),
       count(*) FILTER (WHERE prev.version IS NOT NULL AND p.id % 10 = 0
                        AND float8send(p.p) = float8send(modelmgr.predict(prev.mdl, ARRAY[f.a, f.b, f.c]))),
       count(*) FILTER (WHERE prev.version IS NOT NULL AND p.id % 10 = 0),
       count(DISTINCT p.v),
       count(*) FILTER (WHERE dep.to_version IS NULL)
FROM preds p JOIN feats f ON f.id = p.id
LEFT JOIN vm ON vm.version = p.v
LEFT JOIN vm prev ON prev.version = p.v - 1
LEFT JOIN (SELECT DISTINCT d.to_version
           FROM modelmgr.deployments d JOIN modelmgr.models m ON m.id = d.model_id
           WHERE m.name = 'm' AND d.action IN ('deploy', 'rollback')) dep ON dep.to_version = p.v});
	my ($n, $nulls, $unknown, $wrong, $same_as_prev, $with_prev, $nversions, $never_deployed) = split /\|/, $r;

	note sprintf('checked %d predictions in %.1f s', $n, time - $t0);
	cmp_ok($n, '>=', 50 * $secs, "$n predictions were logged");
	is($nulls, 0, 'no prediction or deployed version is NULL');
	is($unknown, 0, 'every prediction was made when a committed, existing version was deployed');
	is($wrong, 0, "every prediction is bit-identical to load('m', v)'s for the version v its statement saw deployed");
	is($never_deployed, 0, 'every version that served a prediction has a deploy or rollback on record');
	cmp_ok($nversions, '>=', 10, "predictions were served by $nversions distinct versions");
	cmp_ok($same_as_prev, '<=', $with_prev / 100,
		"the versions are told apart: only $same_as_prev of $with_prev predictions (rows with id % 10 = 0) "
		  . "equal the previous version's");
	is( $node->safe_psql(
			'postgres', q{
SELECT count(*) FROM (SELECT xid FROM preds GROUP BY xid HAVING count(DISTINCT v) > 1) s}),
		'0',
		'the 5 rows of one statement all saw the same deployed version');
}

$node->stop;
done_testing();
