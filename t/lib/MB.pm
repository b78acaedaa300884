package MB;
# Helpers for moonbox's TAP tests: run `moonbox` on a rule (a file or a
# source text) and read back what it printed. Every test is a behaviour a
# user sees, so tests go through the built binaries, never around them.
use strict;
use warnings;
use Exporter 'import';
use File::Temp qw(tempdir);
use IPC::Open3;
use JSON::PP;
use Symbol 'gensym';

our @EXPORT = qw(moonbox run_rule run_source tmpdir write_file read_file capture
    json_decode json_encode top_srcdir top_builddir);

my $json = JSON::PP->new->canonical->allow_nonref;

sub top_srcdir { $ENV{top_srcdir} // '.' }
sub top_builddir { $ENV{top_builddir} // '.' }
sub moonbox { $ENV{MOONBOX} // top_builddir() . '/src/moonbox' }

my $tmp;
sub tmpdir { $tmp //= tempdir('moonbox-t-XXXXXX', TMPDIR => 1, CLEANUP => 1) }

sub write_file {
	my ($path, $text) = @_;
	open my $fh, '>', $path or die "$path: $!";
	print $fh $text;
	close $fh or die "$path: $!";
	return $path;
}

sub read_file {
	my ($path) = @_;
	open my $fh, '<', $path or die "$path: $!";
	local $/;
	my $text = <$fh>;
	close $fh;
	return $text;
}

sub json_decode { $json->decode($_[0]) }
sub json_encode { $json->encode($_[0]) }

# Run a command with optional standard input; return (status, out, err).
# status is the raw wait status ($?).
sub capture {
	my ($stdin, @cmd) = @_;
	my $err = gensym;
	my $pid = open3(my $in, my $out, $err, @cmd);
	print $in $stdin if defined $stdin;
	close $in;
	my ($o, $e) = ('', '');
	# Read both streams without deadlock: stderr is small in practice,
	# but use select to be safe.
	my $sel = IO::Select->new($out, $err);
	while (my @ready = $sel->can_read) {
		for my $fh (@ready) {
			my $n = sysread($fh, my $buf, 65536);
			if (!$n) { $sel->remove($fh); next }
			if ($fh == $out) { $o .= $buf } else { $e .= $buf }
		}
	}
	waitpid($pid, 0);
	return ($?, $o, $e);
}

# run_rule(PATH, ARGS...): `moonbox run PATH --json ARGS`. Returns a hash:
# status (exit code, or 128+signal), out, err, and res (the decoded --json
# object, or undef when stdout is not JSON).
sub run_rule {
	my ($path, @args) = @_;
	my %o = (stdin => undef);
	if (@args && ref $args[-1] eq 'HASH') { %o = (%o, %{ pop @args }) }
	my @json = $o{plain} ? () : ('--json');
	my ($st, $out, $err) = capture($o{stdin}, moonbox(), 'run', $path,
	    @json, @args);
	my $code = $st & 127 ? 128 + ($st & 127) : $st >> 8;
	my $res = eval { $json->decode($out) };
	return { status => $code, out => $out, err => $err, res => $res };
}

# run_source(SOURCE, ARGS...): as run_rule, on a rule written to a file.
my $n = 0;
sub run_source {
	my ($src, @args) = @_;
	my $path = tmpdir() . '/rule' . ++$n . '.lua';
	write_file($path, $src);
	return run_rule($path, @args);
}

use IO::Select;

1;
