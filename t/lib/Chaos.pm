package Chaos;
# What the robustness tests (t/chaos.t, t/exhaust-*.t, t/soak.sh) look at
# from outside a daemon: its memory, descriptors and children in /proc, and
# the accounting load t/chaos-load running against it.
use strict;
use warnings;
use Exporter 'import';
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(sleep time);

our @EXPORT_OK = qw(rss_kb rss_anon_kb fd_count children zombies load_start load_wait
    load_parse documented_kinds sanitized);

# Resident memory of a process, in KiB.
sub rss_kb {
	my ($pid) = @_;
	open my $fh, '<', "/proc/$pid/status" or return 0;
	while (<$fh>) { return $1 if /^VmRSS:\s+(\d+)/ }
	return 0;
}

# The part of it that is not a mapped file (the heap, mostly).
sub rss_anon_kb {
	my ($pid) = @_;
	open my $fh, '<', "/proc/$pid/status" or return 0;
	while (<$fh>) { return $1 if /^RssAnon:\s+(\d+)/ }
	return 0;
}

sub fd_count {
	my ($pid) = @_;
	opendir my $d, "/proc/$pid/fd" or return -1;
	my @fds = grep { /^\d+$/ } readdir $d;
	return scalar @fds;
}

# The children of a process, by pid, with their state letter.
sub children {
	my ($pid) = @_;
	my %kids;
	for my $stat (glob '/proc/[0-9]*/stat') {
		open my $fh, '<', $stat or next;
		my $line = <$fh> // next;
		# pid (comm) state ppid ...: comm may hold spaces and parens.
		my ($kid, $state, $ppid) = $line =~ /^(\d+) \(.*\) (\S) (\d+) /
		    or next;
		$kids{$kid} = $state if $ppid == $pid;
	}
	return \%kids;
}

sub zombies {
	my ($pid) = @_;
	my $k = children($pid);
	return grep { $k->{$_} eq 'Z' } keys %$k;
}

# load_start(SOCKET, ARGS...): t/chaos-load in the background; its summary
# goes to a file. Returns a handle for load_wait.
sub load_start {
	my ($sock, @args) = @_;
	my $prog = ($ENV{top_builddir} // '.') . '/t/chaos-load';
	my $out = "/tmp/chaos-load-$$-" . int(rand(1e9));
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		open STDOUT, '>', $out or die;
		{ exec($prog, '-s', $sock, @args) }
		POSIX::_exit(127);
	}
	return { pid => $pid, out => $out };
}

# load_wait(HANDLE, TIMEOUT): the summary as a hash, with status => the
# exit status, or undef if it did not finish in time (it is then killed).
sub load_wait {
	my ($h, $timeout) = @_;
	my $deadline = time + $timeout;
	my $status;
	while (time < $deadline) {
		if (waitpid($h->{pid}, WNOHANG) == $h->{pid}) {
			$status = $? >> 8;
			last;
		}
		sleep 0.05;
	}
	if (!defined $status) {
		kill 'KILL', $h->{pid};
		waitpid($h->{pid}, 0);
		unlink $h->{out};
		return undef;
	}
	open my $fh, '<', $h->{out} or return { status => $status };
	my $line = <$fh> // '';
	close $fh;
	unlink $h->{out};
	my $r = load_parse($line);
	$r->{status} = $status;
	return $r;
}

sub load_parse {
	my ($line) = @_;
	my %r = (line => $line);
	chomp $r{line};
	while ($line =~ /(\w+)=(\S+)/g) {
		my ($k, $v) = ($1, $2);
		if ($k eq 'kinds') {
			$r{kinds} = { map { split /:/ } split /,/, $v };
		} else {
			$r{$k} = $v;
		}
	}
	$r{kinds} //= {};
	return \%r;
}

# Whether moonboxd was built with AddressSanitizer (its RSS then holds the
# quarantine of freed memory, and leaks are LeakSanitizer's to report).
sub sanitized {
	my $bin = $ENV{MOONBOXD} // (($ENV{top_builddir} // '.') . '/src/moonboxd');
	my $libs = `ldd '$bin' 2>/dev/null` // '';
	return $libs =~ /libasan/ ? 1 : 0;
}

# moonboxd(8), Errors: the kinds a client may see, and ok.
sub documented_kinds {
	return qw(ok not_found bad_request syntax runtime memory instructions
	    timeout killed denied output overloaded internal);
}

1;
