#!/usr/bin/perl
# Known bugs of Lua 5.4.4 (Debian 12's liblua5.4), one rule each in
# t/luabugs/, named by the bug. A reachable bug is triggered and shown
# contained: the exact outcome in the header, no crash, no sanitizer report,
# and the process still sound for the next invocation. An unreachable bug's
# rule shows that the way to it is closed.
#
#   -- bug: the bug's title as Lua's bug list gives it, and the release
#   -- reachable: yes / no, and why
#   -- expect: ok or an error kind
#   -- result: the exact result, as JSON (optional)
#   -- result-part: a JSON object; only its keys are compared (optional)
#   -- note: what an unpatched library computes, where it differs
use strict;
use warnings;
use Test::More;
use MB;

my $dir = top_srcdir() . '/t/luabugs';
my $runseq = $ENV{RUNSEQ} // top_builddir() . '/t/runseq';
my @files = sort glob("$dir/*.lua");
my $canary = write_file(tmpdir() . '/canary.lua',
    "return function() return ('ab'):rep(2) .. #{ 1, 2, 3 } end\n");

cmp_ok(scalar @files, '>=', 9, 'the known Lua 5.4.4 bugs have rules');

sub header {
	my ($path) = @_;
	my %h;
	open my $fh, '<', $path or die "$path: $!";
	while (my $line = <$fh>) {
		last unless $line =~ /^--/;
		$h{$1} = $2 if $line =~ /^--\s*([a-z-]+):\s*(.*?)\s*$/;
	}
	close $fh;
	die "$path: no bug, reachable or expect line\n"
	    unless $h{bug} && $h{reachable} && $h{expect};
	return \%h;
}

sub kind_of {
	my ($res) = @_;
	return 'no JSON' unless ref $res eq 'HASH';
	return $res->{ok} ? 'ok' : $res->{error}{kind} // 'no kind';
}

for my $path (@files) {
	my ($base) = $path =~ m{([^/]+)\.lua\z};
	my $h = header($path);
	my $r = run_rule($path, '--timeout', '5s');
	my $res = $r->{res};

	is(kind_of($res), $h->{expect}, "$base: ends with $h->{expect}")
	    or diag "status $r->{status}\nout: $r->{out}\nerr: $r->{err}";
	unlike($r->{err}, qr/AddressSanitizer|runtime error:|LeakSanitizer/,
	    "$base: no sanitizer report");
	if (defined $h->{result}) {
		is_deeply($res->{result}, json_decode($h->{result}),
		    "$base: the outcome is the contained one");
	}
	if (defined $h->{'result-part'}) {
		my $want = json_decode($h->{'result-part'});
		my %got = map { $_ => $res->{result}{$_} } keys %$want;
		is_deeply(\%got, $want, "$base: the outcome is the contained one")
		    or diag json_encode($res->{result});
	}

	# In one process, as a worker runs it, and an invocation after it.
	open(my $fh, '-|', $runseq, '--timeout', '5s', $path, $canary)
	    or die "$runseq: $!";
	my @lines = <$fh>;
	close $fh;
	my $status = $?;
	my $next = eval { json_decode($lines[1] // '') };
	is($status, 0, "$base: the worker's process survives it");
	is($next && $next->{result}, 'abab3',
	    "$base: the next invocation in that process is unaffected");
}

done_testing();
