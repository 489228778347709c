# 011_classifier_reliability.pl: concurrency and crash safety of classifiers.
#
# (a) Four sessions train the same classifier model at the same instant (an
#     advisory lock they all wait on is the starting gun): for a new model
#     name they get versions 1..4 exactly, then for the existing model
#     (softmax_regression and mlp_classifier mixed) 5..8; no error, no gap,
#     last_version matches, the deployed version exists and is the target of
#     the latest deployments row.
# (b) Four psql clients run predict_label and predict_proba by model name,
#     statement after statement (two of them pause 50 ms mid-statement, so
#     that deploys commit while their statements run), while another
#     session retrains (deploy => always) and deploys older versions.  No statement fails, and every
#     statement's labels and probabilities are bit-identical to those of the
#     version that statement sees as deployed, computed afterwards through
#     modelmgr.load(name, version).
# (c) An immediate shutdown (pg_ctl -m immediate) while two mlp_classifier
#     trainings are in their fit (a new version of an existing model and a
#     new model): after crash recovery the registry is row for row what it
#     was (artifacts compared by md5), every version predicts as before, the
#     next trainings get the next version numbers, and amcheck finds the
#     registry's B-tree indexes and heap intact.
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
my $node = mm_node('classifier_reliability', "shared_preload_libraries = 'modelmgr'");

# ctrain: 40k rows, a, b, c numeric, cat one of 20 categories, yc one of 3
# classes (text), yb boolean.  sample: its first 300 rows, to predict.
$node->safe_psql(
	'postgres', q{
SET client_min_messages = warning;
CREATE TABLE ctrain (id int PRIMARY KEY, a float8, b float8, c float8, cat text, yb boolean, yc text);
INSERT INTO ctrain
SELECT i, a, b, c, 'k' || lpad((h % 20)::text, 2, '0'), s > 0,
       CASE WHEN s < -0.6 THEN 'low' WHEN s < 0.6 THEN 'mid' ELSE 'high' END
FROM (SELECT i, a, b, c, h, a + 2 * b - c + 0.05 * (h % 20) - 0.5 + e AS s
      FROM (SELECT i, sin(i * 0.37) AS a, cos(i * 0.11) AS b, sin(i * 0.013 + 1) AS c,
                   (i::bigint * 7919) % 1000003 AS h,
                   ((i::bigint * 2654435761) % 1000003)::float8 / 1000003 - 0.5 AS e
            FROM generate_series(1, 40000) AS i) s0) s1;
CREATE TABLE sample AS SELECT * FROM ctrain WHERE id <= 300;
ALTER TABLE sample ADD PRIMARY KEY (id);
VACUUM ANALYZE ctrain;
VACUUM ANALYZE sample;
});

my $features = mm_sql_list('a', 'b', 'c', 'cat');
my $ctl = MMTest::Session->new($node, name => 'controller');
my @s = map { MMTest::Session->new($node, name => "session$_") } (1 .. 4);

sub train_sql
{
	my ($model, $algo, $params, %opt) = @_;
	my $deploy = $opt{deploy} // 'auto';
	my $target = $opt{target} // 'yc';
	return "SELECT 'RESULT', version FROM modelmgr.train('$model', '$algo', 'ctrain', '$target', "
	  . "$features, '$params', deploy => '$deploy')";
}

# "last_version|deployed_version|versions" of a model.
sub model_state
{
	my ($model) = @_;
	return $ctl->query_ok(
		qq{
SELECT m.last_version || '|' || coalesce(m.deployed_version::text, '-') || '|' ||
       coalesce((SELECT string_agg(v.version::text, ',' ORDER BY v.version)
                 FROM modelmgr.model_versions v WHERE v.model_id = m.id), '')
FROM modelmgr.models m WHERE m.name = '$model'});
}

# Violations of the registry's invariants, one line each ('' if none).
sub inconsistencies
{
	return $ctl->query_ok(
		q{
SELECT coalesce(string_agg(problem, E'\n'), '') FROM (
    SELECT 'model ' || m.name || ': version ' || v.version || ' above last_version ' || m.last_version AS problem
    FROM modelmgr.models m JOIN modelmgr.model_versions v ON v.model_id = m.id WHERE v.version > m.last_version
    UNION ALL
    SELECT 'model ' || m.name || ': deployed version ' || m.deployed_version || ' does not exist'
    FROM modelmgr.models m WHERE m.deployed_version IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM modelmgr.model_versions v WHERE v.model_id = m.id AND v.version = m.deployed_version)
    UNION ALL
    SELECT 'model ' || m.name || ': deployed_version ' || coalesce(m.deployed_version::text, 'NULL')
           || ' is not the target of its latest deployments row'
    FROM modelmgr.models m WHERE m.deployed_version IS DISTINCT FROM (
        SELECT d.to_version FROM modelmgr.deployments d WHERE d.model_id = m.id ORDER BY d.id DESC LIMIT 1)
    UNION ALL
    SELECT 'model ' || m.name || ': artifact of version ' || v.version || ' has size ' || length(v.artifact)
           || ', recorded ' || v.size_bytes
    FROM modelmgr.models m JOIN modelmgr.model_versions v ON v.model_id = m.id
    WHERE length(v.artifact) <> v.size_bytes) s});
}

# ---------------------------------------------------------------------------
# (a) Four concurrent trainings of the same classifier model name.
# ---------------------------------------------------------------------------
sub race_round
{
	my ($label, $model, $sqls, $want) = @_;
	my @r = mm_race($ctl, \@s, $sqls);
	my @v;

	for my $i (0 .. $#r)
	{
		my @rows = grep { /^RESULT\|\d+$/ } split /\n/, $r[$i]{out};

		is($r[$i]{err}, '', "$label: session" . ($i + 1) . " raised no error");
		is(scalar(@rows), 1, "$label: session" . ($i + 1) . " returned one version");
		push @v, map { (split /\|/)[1] } @rows;
	}
	is(join(',', sort { $a <=> $b } @v), $want, "$label: the four trainings got versions $want");
	return;
}

{
	my @params = map { qq({"l2": $_}) } (0.5, 1, 2, 4);

	race_round('new model', 'race_cls', [ map { train_sql('race_cls', 'softmax_regression', $_) } @params ],
		'1,2,3,4');
	like(model_state('race_cls'), qr/^4\|[1-4]\|1,2,3,4$/,
		'new model: last_version 4, versions 1,2,3,4, one of them deployed');

	race_round(
		'existing model',
		'race_cls',
		[
			train_sql('race_cls', 'softmax_regression', '{"l2": 8}'),
			train_sql('race_cls', 'mlp_classifier', '{"hidden_layers": "16", "max_epochs": 20}'),
			train_sql('race_cls', 'softmax_regression', '{"l2": 16}'),
			train_sql('race_cls', 'mlp_classifier', '{"hidden_layers": "8", "max_epochs": 20}')
		],
		'5,6,7,8');
	like(model_state('race_cls'), qr/^8\|[1-8]\|1,2,3,4,5,6,7,8$/,
		'existing model: last_version 8, versions 1..8, one of them deployed');
	is( $ctl->query_ok(
			"SELECT count(*) FROM modelmgr.deployments d JOIN modelmgr.models m ON m.id = d.model_id "
			  . "WHERE m.name = 'race_cls' AND d.to_version IS NOT NULL AND d.to_version NOT BETWEEN 1 AND 8"),
		'0', 'every deployment of race_cls names one of its versions');
	is(inconsistencies(), '', '(a): the registry is consistent');
}

# ---------------------------------------------------------------------------
# (b) predict_label / predict_proba from four clients while another session
#     retrains and deploys.
# ---------------------------------------------------------------------------
{
	is( $ctl->query_ok(
			"SET client_min_messages = warning; "
			  . train_sql('served', 'softmax_regression', '{"l2": 1}', deploy => 'always')),
		'RESULT|1', 'served: version 1, deployed');
	$ctl->query_ok('RESET client_min_messages');

	# one statement: the version the statement sees as deployed, and md5 of
	# every sample row's label and probabilities through the model name.
	# Clients 1 and 2 pause for 50 ms at row 150 (after the predictions of
	# the rows before it), so that deploys commit in the middle of their
	# statements; clients 3 and 4 run short statements back to back.
	my $client_sql = q{
SELECT 'RESULT', (SELECT deployed_version FROM modelmgr.models WHERE name = 'served'),
       md5(string_agg(modelmgr.predict_label('served', t) || '=' || modelmgr.predict_proba('served', t)::text,
                      ',' ORDER BY t.id))
FROM sample t};
	my $pausing_sql = q{
SELECT 'RESULT', (SELECT deployed_version FROM modelmgr.models WHERE name = 'served'),
       md5(string_agg(p, ',' ORDER BY id))
FROM (SELECT t.id, modelmgr.predict_label('served', t) || '=' || modelmgr.predict_proba('served', t)::text AS p
      FROM sample t
      WHERE CASE WHEN t.id = 150 THEN pg_sleep(0.05) IS NOT NULL ELSE true END) s};
	my %sql_of = map { ($s[$_]->{name} => ($_ < 2 ? $pausing_sql : $client_sql)) } 0 .. 3;

	# the other session: retrain (deployed at once) or deploy an older version
	my @work = (
		train_sql('served', 'mlp_classifier', '{"hidden_layers": "16", "max_epochs": 30}', deploy => 'always'),
		"SELECT 'RESULT', modelmgr.deploy('served', 1, 'back to 1')",
		train_sql('served', 'softmax_regression', '{"l2": 10}', deploy => 'always'),
		"SELECT 'RESULT', modelmgr.deploy('served', 2, 'back to 2')",
		train_sql('served', 'mlp_classifier', '{"hidden_layers": "8,8", "max_epochs": 30}', deploy => 'always'),
		"SELECT 'RESULT', modelmgr.deploy('served', 3, 'back to 3')",
		train_sql('served', 'softmax_regression', '{"l2": 100}', deploy => 'always'),
		"SELECT 'RESULT', modelmgr.deploy('served', 1, 'back to 1')",
		train_sql('served', 'mlp_classifier', '{"hidden_layers": "32", "max_epochs": 30}', deploy => 'always'),
		"SELECT 'RESULT', modelmgr.deploy('served', 4, 'back to 4')",);
	my $worker = MMTest::Session->new($node, name => 'retrainer');
	my @clients = @s;
	my (@results, @work_results);
	my $t0 = time;

	$worker->query_ok('SET client_min_messages = warning');
	$_->start($sql_of{ $_->{name} }) for @clients;
	$worker->start(shift @work);
	my $work_done = 0;
	my $next_work;
	while (!$work_done || grep { $_->{busy} } @clients)
	{
		for my $c (@clients)
		{
			next unless $c->{busy} && $c->poll;
			push @results, { %{ $c->finish }, client => $c->{name} };
			$c->start($sql_of{ $c->{name} }) unless $work_done;
		}
		if (!$work_done && $worker->{busy} && $worker->poll)
		{
			push @work_results, $worker->finish;
			# let the clients run for 300 ms on each deployed version
			$next_work = time + 0.3;
			$work_done = 1 unless @work;
		}
		if (!$work_done && !$worker->{busy} && time >= $next_work)
		{
			$worker->start(shift @work);
		}
		usleep(1000);
	}
	note sprintf('(b): %d client statements in %.1f s', scalar(@results), time - $t0);

	is(scalar(grep { $_->{err} ne '' } @work_results), 0, '(b): every retrain and deploy succeeded')
	  or diag(join("\n", map { $_->{err} } grep { $_->{err} ne '' } @work_results));
	is(model_state('served'), '6|4|1,2,3,4,5,6', '(b): served has versions 1..6, version 4 deployed at the end');

	my @errors = grep { $_->{err} ne '' } @results;
	is(scalar(@errors), 0, '(b): no client statement failed')
	  or diag(join("\n", map { $_->{err} } @errors[ 0 .. ($#errors < 4 ? $#errors : 4) ]));

	# what every version predicts, through load(name, version)
	my %by_version = map { split /\|/ } split /\n/, $ctl->query_ok(
		q{
SELECT v.version, md5(string_agg(modelmgr.predict_label(modelmgr.load('served', v.version), t) || '=' ||
                                 modelmgr.predict_proba(modelmgr.load('served', v.version), t)::text,
                                 ',' ORDER BY t.id))
FROM modelmgr.models m JOIN modelmgr.model_versions v ON v.model_id = m.id CROSS JOIN sample t
WHERE m.name = 'served' GROUP BY v.version});
	my %distinct = map { $_ => 1 } values %by_version;
	is(scalar(keys %distinct), 6, '(b): the 6 versions predict differently (the check below can tell them apart)');

	my %seen;
	my ($mixed, $wrong, $bad) = (0, 0, 0);
	for my $r (@results)
	{
		my ($line) = grep { /^RESULT\|/ } split /\n/, $r->{out};

		if (!defined $line) { $bad++; next; }
		my (undef, $deployed, $md5) = split /\|/, $line;
		$seen{$deployed}++;
		next if defined $by_version{$deployed} && $md5 eq $by_version{$deployed};
		if (grep { $_ eq $md5 } values %by_version)
		{
			$wrong++;
			diag("a statement that saw version $deployed deployed predicted as another version") if $wrong <= 3;
		}
		else
		{
			$mixed++;
			diag("a statement that saw version $deployed deployed predicted as no single version") if $mixed <= 3;
		}
	}
	note '(b): statements per deployed version: ' . join(', ', map { "v$_: $seen{$_}" } sort keys %seen);
	note '(b): statements per client: '
	  . join(', ', map { my $n = $_; "$n: " . scalar(grep { $_->{client} eq $n } @results) } sort keys %sql_of);
	is($bad, 0, '(b): every client statement returned its row');
	is($mixed, 0, '(b): no statement mixed the predictions of several versions');
	is($wrong, 0, '(b): every statement predicted with the version it saw deployed (bit-identical to load(name, version))');
	is(join(',', sort { $a <=> $b } keys %seen), '1,2,3,4,5,6', '(b): the clients saw each of the 6 versions deployed');
	cmp_ok(scalar(@results), '>=', 100, '(b): at least 100 client statements ran');
	is(inconsistencies(), '', '(b): the registry is consistent');
	$worker->quit;
}

# ---------------------------------------------------------------------------
# (c) Immediate shutdown while mlp_classifier trainings are in their fit.
# ---------------------------------------------------------------------------

# Every row of every table in schema modelmgr, artifacts as md5.
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

# Every version's labels and probabilities over sample, through load().
sub predictions
{
	return $node->safe_psql(
		'postgres', q{
WITH vm AS MATERIALIZED (
    SELECT m.name, v.version, modelmgr.load(m.name, v.version) AS mdl
    FROM modelmgr.models m JOIN modelmgr.model_versions v ON v.model_id = m.id)
SELECT vm.name || '|' || vm.version || '|' ||
       md5(string_agg(modelmgr.predict_label(vm.mdl, t) || '=' || modelmgr.predict_proba(vm.mdl, t)::text,
                      ',' ORDER BY t.id))
FROM vm CROSS JOIN sample t GROUP BY vm.name, vm.version ORDER BY 1});
}

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

{
	$_->quit for ($ctl, @s);
	my $rows_before = registry_rows();
	my $preds_before = predictions();
	my $long = '{"hidden_layers": "64,64", "max_epochs": 100000, "tol": 0, "n_iter_no_change": 1000}';
	my @victims = (
		bg_psql('crash_served', train_sql('served', 'mlp_classifier', $long, deploy => 'always')),
		bg_psql('crash_new', train_sql('crash_new', 'mlp_classifier', $long)));

	ok( mm_poll_until(
			$node, 'postgres', q{
SELECT count(*) = 2 FROM modelmgr.training_progress p JOIN pg_stat_activity a ON a.pid = p.pid
WHERE a.application_name IN ('crash_served', 'crash_new') AND p.phase = 'fit' AND p.elapsed_seconds >= 1.5},
			60, 0.05),
		'(c): both mlp_classifier trainings are in phase fit');
	note '(c): at the crash: '
	  . $node->safe_psql('postgres',
		"SELECT string_agg(model || ' ' || algorithm || ' ' || phase || ' ' || round(elapsed_seconds::numeric, 2) || ' s', '; ' ORDER BY model) "
		  . "FROM modelmgr.training_progress WHERE model IS NOT NULL");

	my $offset = -s $node->logfile;
	$node->stop('immediate');
	for my $v (@victims)
	{
		$v->{h}->finish;
		unlike(${ $v->{out} }, qr/RESULT/, "(c): $v->{app} did not finish its training before the crash");
		like(${ $v->{err} }, qr/server closed the connection unexpectedly|terminating connection|connection to server was lost/,
			"(c): $v->{app} lost its connection");
	}
	$node->start;
	my $log = PostgreSQL::Test::Utils::slurp_file($node->logfile, $offset);
	like($log, qr/database system was not properly shut down; automatic recovery in progress/,
		'(c): the restart ran crash recovery');

	mm_lines_are(registry_rows(), $rows_before,
		'(c): every registry row is exactly as before the crash (no partial version, no new model)');
	mm_lines_are(predictions(), $preds_before, '(c): every version predicts bit-identically as before');
	is($node->safe_psql('postgres', "SELECT count(*) FROM modelmgr.models WHERE name = 'crash_new'"),
		'0', '(c): no row for the new model crash_new');
	is($node->safe_psql('postgres', 'SELECT count(*) FROM modelmgr.training_progress WHERE model IS NOT NULL'),
		'0', '(c): training_progress shows no training');

	my $amcheck = $node->safe_psql(
		'postgres', q{
SET client_min_messages = warning;
CREATE EXTENSION amcheck;
SELECT (SELECT count(*) FROM (
            SELECT bt_index_check(c.oid, true), bt_index_parent_check(c.oid, true) FROM pg_class c
            WHERE c.relnamespace = 'modelmgr'::regnamespace AND c.relkind = 'i'
              AND c.relam = (SELECT oid FROM pg_am WHERE amname = 'btree')) s) || '|' ||
       (SELECT count(*) FROM pg_class c, LATERAL verify_heapam(c.oid, check_toast => true) v
        WHERE c.relnamespace = 'modelmgr'::regnamespace AND c.relkind IN ('r', 't'));});
	like($amcheck, qr/^[1-9]\d*\|0$/,
		"(c): amcheck: bt_index_check and bt_index_parent_check pass on every registry index, verify_heapam reports nothing ($amcheck)");

	my $r = $node->safe_psql(
		'postgres', join(";\n", 'SET client_min_messages = warning',
			train_sql('served', 'mlp_classifier', '{"hidden_layers": "16", "max_epochs": 10}', deploy => 'never'),
			train_sql('crash_new', 'softmax_regression', '{"l2": 1}')));
	is(join(',', split /\n/, $r), 'RESULT|7,RESULT|1',
		'(c): after the restart served gets version 7 and the new model crash_new version 1');
	$ctl = MMTest::Session->new($node, name => 'controller');
	is(inconsistencies(), '', '(c): the registry is consistent after the new trainings');
	$ctl->quit;
}

my @bad = grep { /terminated by signal|terminated by exception|\bPANIC:/ }
  split /\n/, PostgreSQL::Test::Utils::slurp_file($node->logfile);
is(scalar(@bad), 0, 'no server process crashed by itself (server log)') or diag(join("\n", @bad));
$node->stop;
note sprintf('011_classifier_reliability.pl took %.1f s', time - $t_start);
done_testing();
