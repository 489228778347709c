# test/t/lib/MMTest.pm: helpers shared by the whole-server TAP tests of
# modelmgr.
#
#   mm_node($name, @conf)     a started PostgreSQL::Test::Cluster with
#                             modelmgr created in database postgres
#   MMTest::Session->new($node)
#                             a psql session that can run a statement in the
#                             background: start() sends it, poll() says
#                             whether it has finished, finish() waits and
#                             returns { out, err, secs }.  Several sessions
#                             can run at once (mm_finish_all).
#                             wait_for_true() polls a condition, bounded.
#   mm_race($ctl, \@sessions, \@sqls, %opt)
#                             run one SQL text per session, all released at
#                             the same instant by an advisory lock
#   mm_lines_are($got, $want, $name)
#                             compare long multi-line outputs; on a mismatch
#                             report the first differing line only
#   mm_poll_until($node, $db, $sql, $timeout, $interval)
#                             poll a query until it returns 't', bounded
#   mm_no_crash($node, $name) no backend or worker died in the server log
#
# Sessions run with ON_ERROR_STOP off and VERBOSITY verbose, so an error
# shows up in {err} as "ERROR:  <SQLSTATE>: <message>" and the session stays
# usable.  Each statement's result is separated by a per-session tag echoed
# on stdout and stderr, as PostgreSQL::Test::BackgroundPsql does, but without
# blocking, so a test can cancel a statement while it runs and time it.
package MMTest;

use strict;
use warnings;

use Exporter 'import';
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

our @EXPORT = qw(mm_node mm_finish_all mm_sql_list mm_race mm_lines_are mm_poll_until
  mm_no_crash);

# A started node with modelmgr installed in database postgres.  Extra
# postgresql.conf lines may be passed.  JIT is off: compiling the training
# query costs hundreds of milliseconds and would blur every timing here.
sub mm_node
{
	my ($name, @conf) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);

	$node->init;
	$node->append_conf('postgresql.conf',
		join("\n",
			"jit = off",
			"log_statement = none",
			"log_min_duration_statement = -1",
			"max_worker_processes = 16",
			"max_parallel_workers = 8",
			@conf));
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION modelmgr');
	return $node;
}

# Wait until every session has finished its statement; returns their results
# in order.
sub mm_finish_all
{
	my @sessions = @_;

	for (;;)
	{
		my $done = 1;

		for my $s (@sessions)
		{
			$done = 0 unless $s->poll;
		}
		last if $done;
		usleep(2000);
	}
	return map { $_->finish } @sessions;
}

# Quote a list of strings as a SQL text[] literal.
sub mm_sql_list
{
	return "ARRAY[" . join(', ', map { "'$_'" } @_) . "]";
}

# Run one SQL text per session, all released at the same instant: each one
# first waits for a shared advisory lock that $ctl holds, and $ctl lets go
# once every session is waiting.  $opt{begin} starts the transaction (and
# may name an isolation level); $opt{key} is the advisory lock key.  Returns
# the sessions' results in order ({ out, err, secs }).
sub mm_race
{
	my ($ctl, $sessions, $sqls, %opt) = @_;
	my $begin = $opt{begin} // 'BEGIN';
	my $key = $opt{key} // 4243;
	my @sessions = @{$sessions}[ 0 .. $#$sqls ];

	$ctl->query_ok("SELECT pg_advisory_lock($key)");
	for my $i (0 .. $#$sqls)
	{
		$sessions[$i]->start("$begin;\nSELECT pg_advisory_xact_lock_shared($key);\n"
			  . "$sqls->[$i];\nCOMMIT;");
	}
	$ctl->wait_for_true(
		"SELECT count(*) = " . scalar(@sessions)
		  . " FROM pg_locks WHERE locktype = 'advisory' AND objid = $key AND NOT granted", 60)
	  or die "the racing sessions never queued on the advisory lock";
	$ctl->query_ok("SELECT pg_advisory_unlock($key)");
	return mm_finish_all(@sessions);
}

# Compare two long multi-line texts (e.g. a prediction per row); on a
# mismatch show the line count and the first line that differs, not the
# whole texts.
sub mm_lines_are
{
	my ($got, $want, $name) = @_;
	my @g = split /\n/, $got, -1;
	my @w = split /\n/, $want, -1;

	if ($got eq $want)
	{
		pass($name);
		return 1;
	}
	fail($name);
	diag("got " . scalar(@g) . " lines, want " . scalar(@w));
	for my $i (0 .. ($#g > $#w ? $#g : $#w))
	{
		my $gl = $g[$i] // '<none>';
		my $wl = $w[$i] // '<none>';

		next if $gl eq $wl;
		diag("first difference at line " . ($i + 1) . ":\n   got: $gl\n  want: $wl");
		last;
	}
	return 0;
}

# Run $sql (one boolean) in database $db every $interval seconds (default 1)
# until it returns true (returns 1) or $timeout seconds pass (returns 0).
sub mm_poll_until
{
	my ($node, $db, $sql, $timeout, $interval) = @_;
	my $t0 = time;

	$interval //= 1;
	for (;;)
	{
		my $r = $node->safe_psql($db, $sql);

		return 1 if $r eq 't';
		return 0 if time - $t0 > $timeout;
		usleep(int($interval * 1_000_000));
	}
}

# No server process died (signal, exception, PANIC) according to the log.
sub mm_no_crash
{
	my ($node, $name) = @_;
	my $log = PostgreSQL::Test::Utils::slurp_file($node->logfile);
	my @bad = grep { /terminated by signal|terminated by exception|\bPANIC:|was terminated by/ }
	  split /\n/, $log;

	is(scalar(@bad), 0, $name // 'no server process crashed (server log)')
	  or diag(join("\n", @bad[ 0 .. ($#bad < 9 ? $#bad : 9) ]));
	return;
}

package MMTest::Session;

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time usleep);

sub new
{
	my ($class, $node, %params) = @_;
	my $bg = $node->background_psql(
		'postgres',
		on_error_stop => 0,
		timeout => $params{timeout} // 100);
	my $self = bless {
		bg => $bg,
		n => 0,
		busy => 0,
		name => $params{name} // 'session',
	}, $class;
	# NOTICEs (e.g. why a version was not deployed) are not errors: only
	# warnings and errors reach stderr, which the tests read as "failed"
	my $pid = $self->query_ok(
		"\\set VERBOSITY verbose\nSET client_min_messages = warning;\nSELECT pg_backend_pid()");

	die "could not read the backend pid of $self->{name}: '$pid'"
	  unless $pid =~ /^\d+$/;
	$self->{pid} = $pid;
	return $self;
}

sub pid { return $_[0]->{pid} }

# Send one or more SQL statements; they run while the test does other things.
sub start
{
	my ($self, $sql) = @_;
	my $bg = $self->{bg};

	die "$self->{name} is still running a statement" if $self->{busy};
	$self->{n}++;
	$self->{tag} = "mm_session_done_$self->{n}";
	$bg->{stdout} = '';
	$bg->{stderr} = '';
	$bg->{timeout}->start;    # the timeout is per statement
	$bg->{stdin} .= "$sql\n;\n\\echo '$self->{tag}'\n\\warn '$self->{tag}'\n";
	$self->{t0} = time;
	$self->{t1} = undef;
	$self->{busy} = 1;
	$bg->{run}->pump_nb;
	return;
}

# True once the statement sent by start() has finished.
sub poll
{
	my ($self) = @_;
	my $bg = $self->{bg};

	return 1 unless $self->{busy};
	return 1 if defined $self->{t1};
	$bg->{run}->pump_nb;
	if (   $bg->{stdout} =~ /\Q$self->{tag}\E\n/
		&& $bg->{stderr} =~ /\Q$self->{tag}\E\n/)
	{
		$self->{t1} = time;
		return 1;
	}
	die "$self->{name}: statement timed out: $bg->{stdin}"
	  if $bg->{timeout}->is_expired;
	return 0;
}

# Seconds since start() (so far, or until the statement finished).
sub elapsed
{
	my ($self) = @_;

	return ($self->{t1} // time) - $self->{t0};
}

# Wait for the statement and return { out, err, secs }.
sub finish
{
	my ($self) = @_;
	my $bg = $self->{bg};

	usleep(1000) until $self->poll;
	my $out = $bg->{stdout};
	my $err = $bg->{stderr};
	$out =~ s/\n?\Q$self->{tag}\E\n//;
	$err =~ s/\n?\Q$self->{tag}\E\n//;
	$self->{busy} = 0;
	my $r = { out => $out, err => $err, secs => $self->{t1} - $self->{t0} };
	note "$self->{name} (pid " . ($self->{pid} // "?") . ") " . sprintf('%.3f s', $r->{secs})
	  . ($err ne '' ? ", stderr: $err" : '');
	return $r;
}

sub query
{
	my ($self, $sql) = @_;

	$self->start($sql);
	return $self->finish;
}

# Run SQL that must not fail; returns its output.
sub query_ok
{
	my ($self, $sql) = @_;
	my $r = $self->query($sql);

	die "$self->{name}: unexpected error from: $sql\n$r->{err}" if $r->{err} ne '';
	return $r->{out};
}

# Run $sql (which returns one boolean) every 10 ms until it returns true
# (returns 1), $timeout seconds pass, or, if given, session $other finishes
# its statement (both return 0).
sub wait_for_true
{
	my ($self, $sql, $timeout, $other) = @_;
	my $t0 = time;

	for (;;)
	{
		return 1 if $self->query_ok($sql) eq 't';
		return 0 if time - $t0 > $timeout;
		return 0 if defined $other && $other->poll;
		usleep(10_000);
	}
}

sub quit
{
	my ($self) = @_;

	$self->finish if $self->{busy};
	$self->{bg}->quit;
	return;
}

1;
