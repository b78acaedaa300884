#!/usr/bin/perl
# moonboxd when its disks fill, on small tmpfs file systems of its own
# (root only): the kv store's, and the audit log's.
# - kv: a write that finds no space fails with a clear error (internal,
#   "no space left"), the broker stays up, every value acknowledged before
#   is still there (after a restart of the broker too), and writes work
#   again once there is space. A store past its kv-size fails as documented.
# - audit: the call whose record does not fit still gets its true answer;
#   the record is cut off the file, not left torn, and goes to the log;
#   every call after it is refused as denied until a reload, its record in
#   the log; after space is freed and a reload, calls are allowed and
#   audited again.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(sleep time);

use lib ($ENV{top_srcdir} // '.') . '/t/lib';
use MBD;

$SIG{PIPE} = 'IGNORE';
plan skip_all => 'mounting a tmpfs needs root' if $> != 0;

my $d = daemon_start(no_start => 1,
    rules => {
	'disk/set' => 'return function(e) return kv.set(e.k, e.v) end',
	'disk/get' => 'return function(e) return kv.get(e.k) end',
	'disk/log' => 'return function(e) log.info("n", { n = e.n }) return e.n end',
    },
    policy => <<'EOF_POLICY');
pool default {
	rules "**"
	workers 1 1
	calls 100000
}
rule "disk/*" {
	allow kv read write "d:"
	allow log
}
EOF_POLICY
my $dir = $d->{dir};
my @mounts;
for ([kvfs => '1m'], [auditfs => '512k']) {
	my ($name, $size) = @$_;
	mkdir "$dir/$name";
	system('mount', '-t', 'tmpfs', '-o', "size=$size,mode=0700", 'tmpfs',
	    "$dir/$name") == 0
	    or plan skip_all => "cannot mount a tmpfs on $dir/$name";
	push @mounts, "$dir/$name";
}
END { system('umount', '-l', $_) for @mounts }
$d->file('moonboxd.conf', "listen \"mb.sock\"\ncontrol \"ctl.sock\"\n" .
    "rules \"rules\"\npolicy \"policy.conf\"\nstate \"$dir/kvfs\"\n" .
    "audit \"$dir/auditfs/audit.log\"\nkv-size 1M\n");
$d->start;

# Fill a file system but for about $room bytes.
sub fill {
	my ($fs, $room) = @_;
	open my $fh, '>', "$fs/filler" or die "$fs/filler: $!";
	my $chunk = "\0" x 4096;
	1 while syswrite($fh, $chunk);
	close $fh;
	truncate("$fs/filler", (-s "$fs/filler") - $room) if $room;
}

sub set { $d->invoke('disk/set', { k => $_[0], v => $_[1] }) }

# --- the kv store ----------------------------------------------------------------
my (%acked, $full);
my $value = 'v' x 2000;
for my $i (1 .. 20) {
	my $r = set("d:$i", "$i$value");
	$acked{"d:$i"} = "$i$value" if $r && !defined $r->[0];
}
is(scalar keys %acked, 20, 'with space, every kv.set is acknowledged');
my $broker = $d->ctl('stats')->{broker_pid};
fill("$dir/kvfs", 0);
for my $i (21 .. 300) {
	my $r = set("d:$i", "$i$value");
	if ($r && defined $r->[0]) {
		$full = $r->[0];
		last;
	}
	$acked{"d:$i"} = "$i$value" if $r;
}
ok($full, 'on a full disk, kv.set fails');
is($full && $full->{kind}, 'internal', 'as internal, a fault of the host')
    or diag(explain($full));
like($full && $full->{message} // '', qr/no space left on the device/,
    'which says there is no space left') or diag(explain($full));
is($d->ctl('stats')->{broker_pid}, $broker, 'the broker stays up');
my @lost = grep {
	my $r = $d->invoke('disk/get', { k => $_ });
	!$r || ($r->[1]{value} // '') ne $acked{$_};
} sort keys %acked;
is_deeply(\@lost, [], 'every value acknowledged before is still there');
unlink "$dir/kvfs/filler";
my $r = set('d:after', 'x');
ok($r && !defined $r->[0], 'once there is space, writes work again')
    or diag(explain($r));
$acked{'d:after'} = 'x';
kill 'KILL', $broker;
my $back;
for (1 .. 100) {
	sleep 0.1;
	my $st = eval { $d->ctl('stats') } or next;
	next unless $st->{broker_pid} && $st->{broker_pid} != $broker;
	$r = $d->invoke('disk/get', { k => 'd:1' });
	if ($r && defined $r->[1]) { $back = 1; last }
}
ok($back, 'a broker started again serves the store');
@lost = grep {
	my $x = $d->invoke('disk/get', { k => $_ });
	!$x || ($x->[1]{value} // '') ne $acked{$_};
} sort keys %acked;
is_deeply(\@lost, [], 'and every value acknowledged is there: on disk, '
    . 'not in a broker that died');

# Past kv-size (1M) on a disk with room: the documented error.
my $big = 'b' x 60000;
my $mapfull;
for my $i (1 .. 40) {
	my $x = set("d:big$i", $big);
	if ($x && defined $x->[0]) { $mapfull = $x->[0]; last }
}
like($mapfull && $mapfull->{message} // '', qr/kv store is full .*raise kv-size/,
    'a store past its kv-size says to raise kv-size') or diag(explain($mapfull));
$r = $d->invoke('disk/get', { k => 'd:after' });
is($r && $r->[1]{value}, 'x', 'and keeps what it held');

# --- the audit log ------------------------------------------------------------
sub audit_lines {
	open my $fh, '<', "$dir/auditfs/audit.log" or return ();
	local $/;
	my $text = <$fh>;
	return ($text, split /\n/, $text);
}
fill("$dir/auditfs", 3000);
my ($ok, $refused, $first_refused, $refused_kind, $other) = (0, 0);
for my $n (1 .. 200) {
	my $x = $d->invoke('disk/log', { n => $n });
	if ($x && !defined $x->[0]) { $ok++ }
	elsif ($x && $x->[0]{message} =~
	    /refused: the audit log cannot be written/) {
		$refused++;
		$first_refused //= $n;
		$refused_kind = $x->[0]{kind};
	} elsif (!$other) {
		$other = $x;
	}
}
ok($ok > 0 && $refused > 0, "with the audit log's disk full, calls are "
    . "refused ($ok ran, $refused refused)") or diag(explain($other));
is($refused_kind, 'denied', 'as denied');
my ($text, @lines) = audit_lines();
ok($text =~ /\n\z/, 'the audit log ends with a whole line: the record that '
    . 'did not fit was cut off');
my @torn = grep { !/^\{.*\}$/ } @lines;
is(scalar @torn, 0, 'no record in the audit log is torn');
my $logged = () = $d->log_text =~ /cannot write the audit log .*No space left on device.*the record: \{/g;
is($logged, 1, 'the record that did not fit went to the log, once');
my $logged_refusals = () = $d->log_text =~ /audit record, while the audit log .* cannot be written: \{.*"outcome":"denied"/g;
is($logged_refusals, $refused, 'so did the record of each refusal');
my $audited = grep { /"capability":"log\.info"/ } @lines;
is($audited + $logged, $ok, 'every call that ran has its record, in the file '
    . 'or the log');
unlink "$dir/auditfs/filler";
my $rr = $d->call('reload', [], control => 1);
ok($rr && !defined $rr->[2], 'a reload after space is freed succeeds');
sleep 0.3;
$r = $d->invoke('disk/log', { n => 'again' });
ok($r && !defined $r->[0], 'and calls are allowed again') or diag(explain($r));
(undef, @lines) = audit_lines();
ok((grep { /"capability":"log\.info"/ && /"outcome":"ok"/ } @lines) > $audited,
    'and audited again');
ok($d->alive, 'the daemon lived through both');
is($d->stop('TERM'), 0, 'and exits 0');

done_testing();
