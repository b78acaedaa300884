package MBD;
# A moonboxd for a test: its own directory with moonboxd.conf, a policy and
# rules, started in the foreground on sockets in that directory, spoken to
# in msgpack-RPC byte by byte (MiniPack) or through `moonbox call/ctl`.
use strict;
use warnings;
use Exporter 'import';
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use IO::Select;
use IO::Socket::UNIX;
use POSIX qw(:sys_wait_h);
use Socket qw(SOCK_STREAM);
use Time::HiRes qw(sleep time);

use lib ($ENV{top_srcdir} // '.') . '/t/lib';
use MiniPack qw(mp_pack mp_unpack);

our @EXPORT = qw(daemon_start);
my @logs;	# of every daemon started: see END

sub moonboxd { $ENV{MOONBOXD} // ($ENV{top_builddir} // '.') . '/src/moonboxd' }

sub _write {
	my ($path, $text) = @_;
	my ($dir) = $path =~ m{(.*)/};
	make_path($dir) if defined $dir && !-d $dir;
	open my $fh, '>', $path or die "$path: $!";
	print $fh $text;
	close $fh or die "$path: $!";
}

# daemon_start(policy => TEXT, rules => { name => source }, conf => EXTRA)
sub daemon_start {
	my (%o) = @_;
	# Unix socket paths are short: keep the directory near the root.
	my $dir = tempdir('/tmp/mbd-XXXXXX', CLEANUP => 1);
	my $self = bless { dir => $dir, sock => "$dir/mb.sock",
	    ctl => "$dir/ctl.sock", log => "$dir/moonboxd.log" }, __PACKAGE__;
	push @logs, $self->{log};
	_write("$dir/moonboxd.conf", "listen \"mb.sock\"\ncontrol \"ctl.sock\"\n" .
	    "rules \"rules\"\npolicy \"policy.conf\"\n" . ($o{conf} // ''));
	_write("$dir/policy.conf", $o{policy} //
	    "pool default {\n\trules \"**\"\n\tworkers 1 2\n}\n");
	make_path("$dir/rules");
	$self->rule($_, $o{rules}{$_}) for keys %{ $o{rules} // {} };
	$self->start unless $o{no_start};
	return $self;
}

sub rule {
	my ($self, $name, $src) = @_;
	_write("$self->{dir}/rules/$name.lua", $src);
}

sub file {
	my ($self, $name, $text) = @_;
	_write("$self->{dir}/$name", $text);
}

sub start {
	my ($self) = @_;
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		open STDERR, '>>', $self->{log} or die;
		open STDOUT, '>&', \*STDERR or die;
		{ exec(moonboxd(), '-d', '-f', "$self->{dir}/moonboxd.conf") }
		print STDERR "exec ${\ moonboxd()}: $!\n";
		POSIX::_exit(127);
	}
	$self->{pid} = $pid;
	for (1 .. 200) {
		return $self if -S $self->{ctl} && $self->ready;
		last if waitpid($pid, WNOHANG) == $pid;
		sleep 0.025;
	}
	die "moonboxd did not start:\n" . $self->log_text;
}

# Every pool has its minimum of workers up.
sub ready {
	my ($self) = @_;
	my $w = eval { $self->ctl('workers') } or return 0;
	return !grep { $_->{state} ne 'idle' } @$w;
}

sub log_text {
	my ($self) = @_;
	open my $fh, '<', $self->{log} or return '';
	local $/;
	return <$fh>;
}

sub connect {
	my ($self, $control) = @_;
	return IO::Socket::UNIX->new(Type => SOCK_STREAM,
	    Peer => $control ? $self->{ctl} : $self->{sock})
	    // die "connect: $!";
}

# send(SOCK, MSGID, METHOD, PARAMS)
sub send_request {
	my ($self, $s, $id, $method, $params) = @_;
	syswrite($s, mp_pack([0, $id, $method, $params])) // die "write: $!";
}

# The next response on SOCK as [1, msgid, error, result], or undef at end
# of file or after the timeout.
sub recv_response {
	my ($self, $s, $timeout) = @_;
	$self->{buf}{$s} //= '';
	my $deadline = time + ($timeout // 10);
	while (1) {
		my ($v, $used) = mp_unpack($self->{buf}{$s});
		if (defined $used) {
			substr($self->{buf}{$s}, 0, $used) = '';
			return $v;
		}
		my $left = $deadline - time;
		return undef if $left <= 0;
		return undef unless IO::Select->new($s)->can_read($left);
		my $n = sysread($s, my $chunk, 65536);
		return undef unless $n;
		$self->{buf}{$s} .= $chunk;
	}
}

# call(METHOD, PARAMS, control => 1): one request on a new connection.
sub call {
	my ($self, $method, $params, %o) = @_;
	my $s = $self->connect($o{control});
	$self->send_request($s, 1, $method, $params);
	my $r = $self->recv_response($s, $o{timeout});
	close $s;
	return $r;
}

# invoke(RULE, INPUT, OPTIONS): [error, result]
sub invoke {
	my ($self, $rule, $input, $opts) = @_;
	my $r = $self->call('invoke', [$rule, $input, defined $opts ? ($opts) : ()]);
	return defined $r ? [$r->[2], $r->[3]] : undef;
}

sub ctl {
	my ($self, $method) = @_;
	my $r = $self->call($method, [], control => 1, timeout => 5)
	    // die "no answer to $method";
	die "$method: $r->[2]{message}" if defined $r->[2];
	return $r->[3];
}

sub alive {
	my ($self) = @_;
	return defined $self->{pid} && kill(0, $self->{pid});
}

# stop(SIGNAL): the exit status, or undef if it did not exit in time.
sub stop {
	my ($self, $sig, $timeout) = @_;
	return undef unless defined $self->{pid};
	kill($sig // 'TERM', $self->{pid});
	my $deadline = time + ($timeout // 15);
	while (time < $deadline) {
		if (waitpid($self->{pid}, WNOHANG) == $self->{pid}) {
			my $st = $?;
			delete $self->{pid};
			return $st;
		}
		sleep 0.02;
	}
	return undef;
}

# A sanitizer's report in any daemon's log fails the test script: under
# ASan/UBSan a fault in moonboxd is otherwise only in a log that is gone.
END {
	for my $log (@logs) {
		open my $fh, '<', $log or next;
		local $/;
		my $text = <$fh> // '';
		next unless $text =~ /ERROR: (?:Address|Leak|Memory)Sanitizer|\.[ch]:\d+:\d+: runtime error:|SUMMARY: UndefinedBehaviorSanitizer/;
		print STDERR "# a sanitizer reported in moonboxd's log $log:\n",
		    map { "# $_\n" } split /\n/, $text;
		$? ||= 1;
	}
}

sub DESTROY {
	my ($self) = @_;
	if (defined $self->{pid}) {
		kill 'KILL', $self->{pid};
		waitpid($self->{pid}, 0);
	}
}

1;
