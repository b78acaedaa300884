#!/usr/bin/perl
# Nothing one invocation writes is visible to a later one. Each pair in
# t/isolation/ is NAME.writer.lua and NAME.reader.lua; t/runseq runs them in
# order in ONE process, as a daemon worker runs its invocations, and the
# reader must see exactly what it sees alone in a fresh process.
#
# Writer header:  -- writes: what it leaves behind
#                 -- expect: its own outcome (ok or an error kind)
#                 -- args: run options for both (optional)
# Reader header:  -- reads: what it looks at
#                 -- result: its exact result, as JSON
#                 -- result-part: JSON object; only these keys are compared
#                 -- differs-from-writer: KEY (reader's KEY differs from the
#                    writer's: numbers a fresh state draws are its own)
#                 -- log: its exact log, as JSON (optional)
use strict;
use warnings;
use Test::More;
use MB;

my $dir = top_srcdir() . '/t/isolation';
my $runseq = $ENV{RUNSEQ} // top_builddir() . '/t/runseq';
my @pairs = map { m{([^/]+)\.writer\.lua\z} ? $1 : () }
    sort glob("$dir/*.writer.lua");

cmp_ok(scalar @pairs, '>=', 10, 'there are writer/reader pairs');

sub header {
	my ($path) = @_;
	my %h = (args => '');
	open my $fh, '<', $path or die "$path: $!";
	while (my $line = <$fh>) {
		last unless $line =~ /^--/;
		$h{$1} = $2 if $line =~ /^--\s*([a-z-]+):\s*(.*?)\s*$/;
	}
	close $fh;
	return \%h;
}

sub kind_of {
	my ($res) = @_;
	return 'no JSON' unless ref $res eq 'HASH';
	return $res->{ok} ? 'ok' : $res->{error}{kind} // 'no kind';
}

# Run rules in one process; the decoded outcomes, one per rule. A process
# that hangs is killed after a while: a leak may show as a hang.
sub runseq {
	my ($args, @rules) = @_;
	my $pid = open(my $fh, '-|') // die "fork: $!";
	exec($runseq, split(' ', $args), @rules) or die "$runseq: $!"
	    if $pid == 0;
	my @lines;
	eval {
		local $SIG{ALRM} = sub { die "stuck\n" };
		alarm(20);
		@lines = <$fh>;
		alarm(0);
	};
	kill('KILL', $pid) if $@;
	close $fh;
	return map { scalar eval { json_decode($_) } } @lines;
}

sub check_reader {
	my ($name, $rh, $res, $how) = @_;
	is(kind_of($res), 'ok', "$name: the reader runs $how")
	    or diag json_encode($res);
	if (defined $rh->{result}) {
		is_deeply($res->{result}, json_decode($rh->{result}),
		    "$name: the reader sees what a fresh state holds $how");
	}
	if (defined $rh->{'result-part'}) {
		my $want = json_decode($rh->{'result-part'});
		my %got = map { $_ => $res->{result}{$_} } keys %$want;
		is_deeply(\%got, $want,
		    "$name: the reader sees what a fresh state holds $how");
	}
	if (defined $rh->{log}) {
		is_deeply($res->{log}, json_decode($rh->{log}),
		    "$name: the reader's log is its own $how");
		is($res->{usage}{log_dropped}, 0,
		    "$name: the reader's log dropped nothing $how");
	}
}

for my $name (@pairs) {
	my ($writer, $reader) = map { "$dir/$name.$_.lua" } qw(writer reader);
	my ($wh, $rh) = (header($writer), header($reader));
	my $args = $wh->{args};
	my $what = "$name ($wh->{writes})";

	my ($w, $r) = runseq($args, $writer, $reader);
	is(kind_of($w), $wh->{expect}, "$what: the writer ends with "
	    . "$wh->{expect}") or diag json_encode($w);
	check_reader($what, $rh, $r, 'after the writer');
	if (defined(my $key = $rh->{'differs-from-writer'})) {
		isnt(json_encode($r->{result}{$key} // 'none'),
		    json_encode($w->{result}{$key} // 'none'),
		    "$what: the reader's $key is its own, not the writer's");
	}
	# The same reader alone, in a fresh worker: the baseline.
	my $alone = run_rule($reader, split(' ', $args));
	check_reader($name, $rh, $alone->{res}, 'alone');
}

# Writers one after another: none sees what an earlier one wrote, and the
# process is still sound after them all.
{
	my @writers = map { "$dir/$_.writer.lua" } @pairs;
	my @out = runseq('', @writers, "$dir/globals.reader.lua");
	is(scalar @out, @writers + 1,
	    'every writer in one process, then a reader: all ran');
	is_deeply($out[-1]{result}, json_decode(header(
	    "$dir/globals.reader.lua")->{result}),
	    'a reader after every writer in one process sees a fresh state');
}

done_testing();
