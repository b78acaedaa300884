#!/usr/bin/perl
# The fuzzing harnesses of t/fuzz/, built without libFuzzer (replay.c), on
# their seed corpora and on every input a fuzzer once failed on
# (t/fuzz/regress/NAME/, each named by the bug it found): each runs through
# the harness's checks without a failed assertion or a sanitizer report.
use strict;
use warnings;
use Test::More;

my $src = $ENV{top_srcdir} // '.';
my $build = $ENV{top_builddir} // '.';

for my $h (qw(rpc msg conv json policy)) {
	my $prog = "$build/t/fuzz/replay-$h";
	my @files = sort(glob("$src/t/fuzz/corpus/$h/*"),
	    glob("$src/t/fuzz/regress/$h/*"));
	ok(-x $prog && @files > 0, "the $h harness is built and has inputs");
	for my $f (@files) {
		my ($set, $name) = $f =~ m{/(corpus|regress)/$h/([^/]+)$};
		my $out = `'$prog' '$f' 2>&1`;
		my $ok = $? == 0;
		ok($ok, $set eq 'regress' ?
		    "fuzz-$h no longer fails on $name" :
		    "fuzz-$h passes its seed $name") or diag($out);
	}
}

done_testing();
