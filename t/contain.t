#!/usr/bin/perl
# A contained worker cannot open, create, connect, fork, clone, exec, ptrace,
# kill its parent, map executable memory or regain root, even from C; and
# the sandbox still runs rules inside the containment.
use strict;
use warnings;
use Test::More;
use POSIX qw(WIFEXITED WEXITSTATUS WIFSIGNALED WTERMSIG);

my $probe = ($ENV{top_builddir} // '.') . '/t/contain-probe';
my $SIGSYS = 31;

sub probe {
	my ($op) = @_;
	open(my $fh, '-|', $probe, $op) or die "$probe: $!";
	my $out = do { local $/; <$fh> } // '';
	close $fh;
	return ($?, $out);
}

for my $op (qw(open openat creat socket connect fork clone execve ptrace
    kill mmap-exec mprotect-exec setuid-root)) {
	my ($st, $out) = probe($op);
	my $blocked = (WIFSIGNALED($st) && WTERMSIG($st) == $SIGSYS) ||
	    (WIFEXITED($st) && WEXITSTATUS($st) == 0);
	ok($blocked, "a contained worker cannot $op")
	    or diag "status $st: $out";
}

my ($st, $out) = probe('none');
is($st, 0, 'containment itself succeeds') or diag $out;
($st, $out) = probe('lua');
is($st, 0, 'rules run, time out and get fresh sandboxes inside the containment')
    or diag "status $st: $out";
done_testing();
