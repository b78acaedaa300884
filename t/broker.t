#!/usr/bin/perl
# The broker against workers that misbehave on their channels, driven by
# t/broker-probe (the real broker, executed as the master executes it):
# out-of-phase calls, garbage, frames over the cap, forged fields, a second
# call in flight. Each is refused and reported, the pool's policy holds,
# the broker stays up; and every decision is one line of the audit log.
use strict;
use warnings;
use Test::More;
use IO::Socket::INET;
use File::Temp qw(tempdir);

use lib ($ENV{top_srcdir} // '.') . '/t/lib';
use MB qw(write_file read_file json_decode);

my $builddir = $ENV{top_builddir} // '.';
my $probe = "$builddir/t/broker-probe";
my $moonboxd = $ENV{MOONBOXD} // "$builddir/src/moonboxd";

# A port that accepts connections and never answers.
my $hang = IO::Socket::INET->new(Listen => 5, LocalAddr => '127.0.0.1',
    LocalPort => 0, Proto => 'tcp') or die "listen: $!";
my $port = $hang->sockport;

my $dir = tempdir('/tmp/mbb-XXXXXX', CLEANUP => 1);
write_file("$dir/moonboxd.conf", <<"EOF");
policy "policy.conf"
rules "rules"
state "state"
secrets "secrets"
EOF
mkdir "$dir/rules";
write_file("$dir/policy.conf", <<"EOF");
pool default { rules "**" }
rule "probe" {
	allow kv read "c:"
	allow secret "granted"
	allow http GET "http://127.0.0.1:$port/*"
	quota kv 2 per invocation
}
EOF
write_file("$dir/secrets", "secret granted \"hunter2\"\n");
chmod 0600, "$dir/secrets";

open(my $fh, '-|', $probe, $moonboxd, "$dir/moonboxd.conf", $port)
    or die "$probe: $!";
my @lines = <$fh>;
close $fh;
my $n = 0;
for (@lines) {
	if (/^(not )?ok \d+ - (.*)$/) {
		$n++;
		ok(!defined $1, $2);
	} elsif (/^#/) {
		note($_);
	}
}
is($n, 22, 'the probe ran all its cases');

my @audit = map { json_decode($_) } split /\n/,
    eval { read_file("$dir/state/audit.log") } // '';
ok(@audit >= 8, 'decisions are written to the audit log');
my @denied = grep { $_->{decision} eq 'denied' } @audit;
ok(@denied >= 3, 'denied calls are audited too');
my ($secret) = grep { $_->{capability} eq 'secret.get' } @audit;
is($secret->{decision}, 'denied', 'a secret not granted is audited as denied');
ok(!grep({ /hunter2/ } map { read_file("$dir/state/audit.log") } 1),
    'no secret value appears in the audit log');
my ($kv) = grep { $_->{capability} eq 'kv.get' &&
    $_->{decision} eq 'allowed' } @audit;
like($kv->{line} // '', qr/policy\.conf:3$/,
    'an allowed call names the policy line that allowed it');
is($kv->{rule}, 'probe', 'a record names the rule from the master\'s word');
is($kv->{pool}, 'default', 'and the pool the worker was attached to');
is_deeply([sort keys %$kv], [sort qw(time invocation pool rule capability
    arguments decision line why outcome message duration_ms bytes_in
    bytes_out)], 'a record has the documented fields');

done_testing();
