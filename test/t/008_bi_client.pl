# 008_bi_client.pl: a BI tool reads the monitoring views from a real client.
#
# A node preloads modelmgr (so prediction_stats and training_progress have
# live data).  As the superuser: model house_price is trained on sales,
# retrained after the prices changed (version 2 deployed), monitored on
# sales (ok) and on sales_last_day (sqft moved up by 3 standard deviations:
# alert), and predicts 3000 rows in 2 statements; model bi_private is
# trained and predicts too; a third training (bi_slow) is held in its read
# phase by an advisory lock while the clients run.
#
# The recommended BI setup (doc/monitoring.md):
#   CREATE ROLE bi LOGIN;  GRANT pg_monitor TO bi;
# sees every model in the views and can open no artifact; the alternative,
#   SELECT modelmgr.grant_use('house_price', 'bi_one');
# shows only that model, and also lets the role predict, load and export it.
#
# test/t/bi_client.py (run with /usr/bin/python3: the python3 first on PATH
# may lack psycopg2) connects as each role over the node's unix socket,
# reads every view, checks column names and types, visibility, the facts a
# dashboard shows, and that nothing else can be read or changed.  Each of
# its checks becomes a test here; its exit status and summary are checked.
# The registry is the same before and after the clients ran.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::RealBin/lib";

use IPC::Run;
use MMTest;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $python = '/usr/bin/python3';
my $client = "$FindBin::RealBin/bi_client.py";
my $gate_key = 80008;

my $node = mm_node('bi', "shared_preload_libraries = 'modelmgr'");

$node->safe_psql(
	'postgres', q{
SET client_min_messages = warning;
-- price = 50000 + 120 sqft + 8000 beds - 500 age + noise; id is the key
CREATE TABLE sales (id int PRIMARY KEY, sqft float8, beds float8, age float8, price float8);
INSERT INTO sales
SELECT i, sqft, beds, age, 50000 + 120 * sqft + 8000 * beds - 500 * age + 2000 * sin(i * 17.1)
FROM (SELECT i, 800 + (i * 7919) % 2003 AS sqft, 1 + i % 5 AS beds, (i * 31) % 60 AS age
      FROM generate_series(1, 2000) AS i) s;
SELECT version FROM modelmgr.train('house_price', 'linear_regression', 'sales', 'price');
-- bedrooms became worth more: the retrained version wins and is deployed
UPDATE sales SET price = price + 5000 * beds;
SELECT version, deployed FROM modelmgr.retrain('house_price');
-- yesterday's sales: bigger houses (sqft + 3 standard deviations), same law
CREATE TABLE sales_last_day AS
SELECT id, sqft, beds, age, 50000 + 120 * sqft + 13000 * beds - 500 * age + 2000 * sin(id * 17.1) AS price
FROM (SELECT id, sqft + 3 * (SELECT stddev_pop(sqft) FROM sales) AS sqft, beds, age
      FROM sales WHERE id <= 500) s;
SELECT status FROM modelmgr.monitor('house_price', 'sales');
SELECT status FROM modelmgr.monitor('house_price', 'sales_last_day');
SELECT version FROM modelmgr.train('bi_private', 'linear_regression', 'sales', 'price', ARRAY['sqft', 'beds']);
});

# live statistics: 2 statements, 1000 + 2000 rows with house_price version 2
$node->safe_psql('postgres', q{
SELECT count(modelmgr.predict('house_price', ARRAY[sqft, beds, age])) FROM sales WHERE id <= 1000;
SELECT count(modelmgr.predict('house_price', s)) FROM sales s;
SELECT count(modelmgr.predict('bi_private', ARRAY[sqft, beds])) FROM sales;
});
is( $node->safe_psql(
		'postgres',
		"SELECT string_agg(model || ':' || version || ':' || calls || ':' || rows, ' ' ORDER BY model) "
		  . "FROM modelmgr.prediction_stats"),
	'bi_private:1:1:2000 house_price:2:2:3000',
	'prediction_stats counted the predictions (preloaded)');
is( $node->safe_psql(
		'postgres',
		"SELECT string_agg(model || ':' || status, ' ' ORDER BY model) FROM modelmgr.model_health"),
	'bi_private:ok house_price:alert',
	'house_price is in alert after monitoring sales_last_day');

# the BI roles: pg_monitor (recommended), or USE on one model
$node->safe_psql('postgres', q{
CREATE ROLE bi LOGIN;
GRANT pg_monitor TO bi;
CREATE ROLE bi_one LOGIN;
SELECT modelmgr.grant_use('house_price', 'bi_one');
});

# a training held in its read phase: its relation's rows wait for an
# advisory lock that $ctl holds
$node->safe_psql('postgres', qq{
CREATE FUNCTION bi_gate() RETURNS boolean LANGUAGE plpgsql VOLATILE AS \$\$
BEGIN
    PERFORM pg_advisory_xact_lock_shared($gate_key);
    RETURN true;
END
\$\$;
CREATE VIEW sales_gated AS SELECT sqft, beds, age, price FROM sales WHERE bi_gate();
});
my $ctl = MMTest::Session->new($node, name => 'ctl');
my $trainer = MMTest::Session->new($node, name => 'trainer');
$ctl->query_ok("SELECT pg_advisory_lock($gate_key)");
$trainer->start(
	"SELECT version FROM modelmgr.train('bi_slow', 'linear_regression', 'sales_gated', 'price')");
ok( $ctl->wait_for_true(
		"SELECT count(*) = 1 FROM modelmgr.training_progress WHERE model = 'bi_slow' AND phase = 'read'",
		60, $trainer),
	'training_progress shows bi_slow in its read phase');

my $registry_sql = q{
SELECT (SELECT string_agg(name || ':' || coalesce(deployed_version, 0) || ':' || last_version, ' ' ORDER BY name)
        FROM modelmgr.models)
    || ' versions=' || (SELECT count(*) FROM modelmgr.model_versions)
    || ' deployments=' || (SELECT count(*) FROM modelmgr.deployments)
    || ' evaluations=' || (SELECT count(*) FROM modelmgr.evaluations)
    || ' grants=' || (SELECT count(*) FROM modelmgr.model_grants)
    || ' stats=' || (SELECT sum(rows) FROM modelmgr.prediction_stats)
};
my $registry_before = $node->safe_psql('postgres', $registry_sql);

# Run the client as $user; turn each of its check lines into a test.
sub run_client
{
	my ($user, @args) = @_;
	my ($out, $err) = ('', '');
	my @cmd = (
		$python, $client,
		'--host' => $node->host,
		'--port' => $node->port,
		'--dbname' => 'postgres',
		'--user' => $user,
		@args);

	note "running: @cmd";
	IPC::Run::run(\@cmd, '<', \undef, '>', \$out, '2>', \$err);
	my $status = $? >> 8;
	my $checks = 0;
	for my $line (split /\n/, $out)
	{
		if ($line =~ /^(not )?ok - (.*?)(?: # TODO (.*))?$/)
		{
			my ($failed, $desc, $todo) = ($1, $2, $3);

			$checks++;
		  TODO:
			{
				local $TODO = $todo if defined $todo;
				ok(!$failed, "$user: $desc");
			}
		}
		elsif ($line =~ /^#/)
		{
			diag($line);
		}
	}
	is($status, 0, "$user: bi_client.py exits with status 0") or diag("stderr: $err");
	is($err, '', "$user: bi_client.py wrote nothing to stderr");
	like($out, qr/^bi_client: $checks checks, 0 failed/m, "$user: summary line, $checks checks, none failed");
	cmp_ok($checks, '>=', 90, "$user: the client ran its checks");
	return $out;
}

run_client('bi', '--visible' => 'bi_private,house_price', '--expect-facts', '--training' => 'bi_slow');
run_client(
	'bi_one',
	'--visible' => 'house_price',
	'--hidden' => 'bi_private',
	'--use' => 'house_price',
	'--expect-facts');

is($node->safe_psql('postgres', $registry_sql), $registry_before,
	'the BI clients changed nothing in the registry or the live statistics');

# let the held training finish
$ctl->query_ok("SELECT pg_advisory_unlock($gate_key)");
my $r = $trainer->finish;
is($r->{err}, '', 'the held training finished without error');
is($r->{out}, '1', 'bi_slow version 1 was trained');
is( $node->safe_psql('postgres',
		"SELECT count(*) FROM modelmgr.training_progress WHERE model = 'bi_slow'"),
	'0', 'training_progress no longer shows bi_slow');
$ctl->quit;
$trainer->quit;

mm_no_crash($node);
$node->stop;
done_testing();
