#!/usr/bin/perl
# make install into a DESTDIR puts everything where it belongs, and what is
# installed runs from there: the CLI runs a rule, the daemon checks the
# example configuration, a program builds against the installed library.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);

use lib ($ENV{top_srcdir} // '.') . '/t/lib';
use MB qw(write_file);

my $build = $ENV{top_builddir} // '.';
my $dest = tempdir('mb-install-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $make = $ENV{MAKE} // 'make';
my $out = `cd '$build' && $make install DESTDIR='$dest' 2>&1`;
is($? >> 8, 0, 'make install into a DESTDIR succeeds') or diag $out;

my %dirs = map { /^(\w+)=(.*)$/ ? ($1 => $2) : () }
    split /\n/, `cd '$build' && $make -s print-dirs 2>/dev/null`;
ok(keys %dirs >= 8, 'make print-dirs names the installation directories');
my $prefix = $dirs{prefix};
my $root = "$dest";
for my $f ("$dirs{bindir}/moonbox", "$dirs{sbindir}/moonboxd",
    "$dirs{includedir}/moonbox.h", "$dirs{libdir}/pkgconfig/libmoonbox.pc",
    "$dirs{sysconfdir}/moonbox/moonboxd.conf.example",
    "$dirs{sysconfdir}/moonbox/policy.conf.example",
    "$dirs{mandir}/man1/moonbox.1", "$dirs{mandir}/man8/moonboxd.8",
    "$dirs{mandir}/man5/moonbox.policy.5", "$dirs{mandir}/man7/moonbox-lua.7",
    "$dirs{mandir}/man3/libmoonbox.3") {
	ok(-e "$root$f", "installs $f");
}
ok(glob("$root$dirs{libdir}/libmoonbox.so*"), 'installs the shared library');
ok(-e "$root$dirs{systemdsystemunitdir}/moonboxd.service",
    'installs the systemd unit');

# Nothing was written outside DESTDIR: the prefix itself is untouched.
ok(!-e "$dirs{sbindir}/moonboxd" || -M "$dirs{sbindir}/moonboxd" > 0,
    'nothing is installed outside DESTDIR');

my $tmp = tempdir('mb-inst-run-XXXXXX', TMPDIR => 1, CLEANUP => 1);
write_file("$tmp/r.lua", "return function(e) return e * 2 end\n");
my $res = `'$root$dirs{bindir}/moonbox' run '$tmp/r.lua' --input 21 2>&1`;
is($res, "42\n", 'the installed moonbox runs a rule');

# The example configuration, with its paths pointed into a scratch dir.
my $conf = do { local $/; open my $fh, '<',
    "$root$dirs{sysconfdir}/moonbox/moonboxd.conf.example" or die; <$fh> };
$conf =~ s{"/run/moonbox/}{"$tmp/}g;
$conf =~ s{"/etc/moonbox/rules"}{"$tmp/rules"};
$conf =~ s{"/etc/moonbox/policy.conf"}{"$root$dirs{sysconfdir}/moonbox/policy.conf.example"};
mkdir "$tmp/rules";
write_file("$tmp/moonboxd.conf", $conf);
$res = `'$root$dirs{sbindir}/moonboxd' -n -f '$tmp/moonboxd.conf' 2>&1`;
is($? >> 8, 0, 'the installed moonboxd accepts the example configuration')
    or diag $res;

# A program against the installed header and library, through pkg-config.
SKIP: {
	# The compiler and flags of the build: a sanitizer build's library
	# needs its runtime in the program too.
	my $cc = $ENV{MB_CC} // $ENV{CC} // 'cc';
	my $cflags = $ENV{MB_CFLAGS} // '';
	skip 'pkg-config is not installed', 2 unless `command -v pkg-config 2>/dev/null`;
	write_file("$tmp/c.c", <<'EOF');
#include <stdio.h>
#include <moonbox.h>
int main(void) { struct mb_client *c = mb_connect("/nonexistent");
	printf("%s\n", c == NULL ? "refused" : "connected"); return 0; }
EOF
	local $ENV{PKG_CONFIG_SYSROOT_DIR} = $root;
	local $ENV{PKG_CONFIG_PATH} = "$root$dirs{libdir}/pkgconfig";
	my $flags = `pkg-config --cflags --libs libmoonbox 2>&1`;
	chomp $flags;
	$res = `$cc $cflags -o '$tmp/c' '$tmp/c.c' $flags -Wl,-rpath,'$root$dirs{libdir}' 2>&1`;
	is($? >> 8, 0, 'a program builds against the installed libmoonbox') or diag $res;
	is(`'$tmp/c'`, "refused\n", 'and runs');
}

$out = `cd '$build' && $make uninstall DESTDIR='$dest' 2>&1`;
is($? >> 8, 0, 'make uninstall succeeds');
my @left = grep { -f } map { glob("$_/*") } map { "$root$dirs{$_}" }
    qw(bindir sbindir includedir);
is(scalar @left, 0, 'and leaves no program or header behind');

done_testing();
