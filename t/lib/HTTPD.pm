package HTTPD;
# A small HTTP/1.1 server for the tests, on 127.0.0.1 and a free port, one
# process per connection. httpd_start(ROUTES) forks it; ROUTES maps a path
# to a function (request) -> [status, [headers], body]. Every request line
# is appended to a log file, so a test can see what reached the server.
use strict;
use warnings;
use Exporter 'import';
use File::Temp qw(tempfile);
use IO::Socket::INET;
use POSIX ();

our @EXPORT = qw(httpd_start);

sub read_request {
	my ($c) = @_;
	local $/ = "\r\n";
	my $line = <$c>;
	return undef unless defined $line;
	$line =~ s/\r\n\z//;
	my ($method, $target) = split / /, $line;
	my %h;
	while (defined(my $l = <$c>)) {
		$l =~ s/\r\n\z//;
		last if $l eq '';
		$h{lc $1} = $2 if $l =~ /^([^:]+):\s*(.*)$/;
	}
	my $body = '';
	read($c, $body, $h{'content-length'}) if $h{'content-length'};
	my ($path, $query) = split /\?/, $target // '', 2;
	return { method => $method, target => $target, path => $path,
	    query => $query // '', headers => \%h, body => $body };
}

sub serve {
	my ($c, $routes, $log) = @_;
	$c->autoflush(1);
	while (my $r = read_request($c)) {
		if (open my $fh, '>>', $log) {
			print $fh "$r->{method} $r->{target} " .
			    join(',', map { "$_=$r->{headers}{$_}" }
			    sort keys %{ $r->{headers} }) . "\n";
			close $fh;
		}
		my $route = $routes->{ $r->{path} } // sub { [404, [], 'no route'] };
		my ($code, $hdrs, $body) = @{ $route->($r) };
		print $c "HTTP/1.1 $code Whatever\r\n" .
		    join('', map { "$_\r\n" } @$hdrs) .
		    'Content-Length: ' . length($body) . "\r\n\r\n" . $body;
	}
	close $c;
}

# (port, log file); the server is killed when the test ends.
my @servers;
sub httpd_start {
	my ($routes) = @_;
	my ($lfh, $log) = tempfile('mb-httpd-XXXXXX', TMPDIR => 1, UNLINK => 1);
	close $lfh;
	my $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
	    LocalPort => 0, Listen => 64, ReuseAddr => 1, Proto => 'tcp')
	    or die "listen: $!";
	my $port = $srv->sockport;
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		setpgrp(0, 0);
		$SIG{CHLD} = 'IGNORE';
		while (1) {
			my $c = $srv->accept or next;
			my $child = fork;
			if (defined $child && $child == 0) {
				close $srv;
				serve($c, $routes, $log);
				POSIX::_exit(0);
			}
			close $c;
		}
	}
	close $srv;
	push @servers, $pid;
	return ($port, $log);
}

END {
	local $?;
	for my $pid (@servers) {
		kill 'KILL', -$pid, $pid;
		waitpid($pid, 0);
	}
}

1;
