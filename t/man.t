#!/usr/bin/perl
# The manual pages are clean under mandoc -Tlint, and every option that
# `moonbox run --help` prints is documented in moonbox(1), and the other
# way round.
use strict;
use warnings;
use Test::More;

my $top = $ENV{top_srcdir} // '.';
my $moonbox = $ENV{MOONBOX} // 'src/moonbox';
my @pages = map { "$top/man/$_" } qw(moonbox.1 moonbox-lua.7);

SKIP: {
	my $mandoc = `command -v mandoc 2>/dev/null`;
	skip 'mandoc is not installed', scalar @pages unless $mandoc;
	for my $p (@pages) {
		my $out = `mandoc -Tlint -Wwarning '$p' 2>&1`;
		is($? >> 8, 0, "$p is clean under mandoc -Tlint")
		    or diag $out;
	}
}

my $help = `'$moonbox' run --help`;
my %in_help = map { $_ => 1 } $help =~ /(--[a-z][a-z-]*)/g;
ok(keys %in_help >= 8, 'run --help lists its options');

open my $fh, '<', "$top/man/moonbox.1" or die "moonbox.1: $!";
my $page = do { local $/; <$fh> };
close $fh;
# In mdoc an option is written `.Fl -name`, maybe after other macros.
my %in_page = map { ("--$_" => 1) } $page =~ /Fl\s+-([a-z][a-z-]*)/g;

for my $opt (sort keys %in_help) {
	ok($in_page{$opt}, "$opt from run --help is documented in moonbox(1)");
}
for my $opt (sort keys %in_page) {
	ok($in_help{$opt}, "$opt documented in moonbox(1) is in run --help");
}
done_testing();
