#!/usr/bin/perl
# The kv store's Redis backend against a private redis-server on a unix
# socket (and a loopback port) in a temporary directory: t/kv-probe runs
# the cases on a libevent loop and prints the TAP; it starts, stops,
# kills and restarts the server itself. Skipped if redis-server is not
# installed (CI installs it).
use strict;
use warnings;
use File::Temp qw(tempdir);

my $server = $ENV{REDIS_SERVER} // `command -v redis-server 2>/dev/null`;
chomp $server;
unless ($server ne '' && -x $server) {
	print "1..0 # SKIP redis-server is not installed " .
	    "(apt-get install redis-server)\n";
	exit 0;
}
my $probe = ($ENV{top_builddir} // '.') . '/t/kv-probe';
my $dir = tempdir('kv-redis.XXXXXX', TMPDIR => 1, CLEANUP => 1);
system($probe, $server, $dir);
if ($? & 127) {
	print "# t/kv-probe died of signal ", $? & 127, "\n";
	print "not ok - t/kv-probe ran to the end\n";
	exit 1;
}
exit($? >> 8);
