#!/usr/bin/perl
# smtp-send.pl PORT COUNT SESSIONS TAG [DEADLINE_SECONDS [PAUSE]] - send COUNT
# messages to 127.0.0.1:PORT over SESSIONS parallel SMTP sessions, and
# retry every 4xx (and every broken connection) as a sending MTA would,
# until the message is accepted or the deadline passes. Message i carries
# "Message-ID: <TAG-i@moat.test>", so the receiving end can count each
# message exactly once. PAUSE seconds between a session's messages spread
# the mail over time (so a fault lands in the middle of it).
#
# Prints one line: sent=N accepted=A tempfails=T rejected=R given_up=G.
# Exit 0 when every message was accepted.
use strict;
use warnings;
use IO::Socket::INET;
use Time::HiRes qw(time sleep);

my ($port, $count, $sessions, $tag, $deadline, $pause) = @ARGV;
die "usage: smtp-send.pl PORT COUNT SESSIONS TAG [DEADLINE]\n" unless defined $tag;
$deadline = time + ($deadline // 120);
my $body = join('', map { "line $_ of a robustness test message, nothing to see here\r\n" } 1 .. 20);

# One SMTP reply: the last line's code (multi-line replies read whole).
sub reply {
	my ($s) = @_;
	my $line;
	while (defined($line = <$s>)) {
		return substr($line, 0, 3) if $line =~ /^\d{3} /;
		next if $line =~ /^\d{3}-/;
		return '000';
	}
	return '000';
}

sub cmd {
	my ($s, $text) = @_;
	print $s $text, "\r\n" or return '000';
	return reply($s);
}

sub session {
	my ($first, $step, $out) = @_;
	my ($s, %n);
	$n{$_} = 0 for qw(accepted tempfails rejected given_up);
	for (my $i = $first; $i < $count; $i += $step) {
		my $done = 0;
		while (!$done) {
			if (time > $deadline) { $n{given_up}++; last; }
			if (!$s) {
				$s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
					Timeout => 30);
				if (!$s || reply($s) ne '220' || cmd($s, 'EHLO robust.example') ne '250') {
					$s = undef;
					sleep 0.2;
					next;
				}
			}
			my $c = cmd($s, 'MAIL FROM:<robust@sender.example>');
			$c = cmd($s, 'RCPT TO:<user@example.com>') if $c eq '250';
			$c = cmd($s, 'DATA') if $c eq '250';
			if ($c eq '354') {
				print $s "From: <robust\@sender.example>\r\nTo: <user\@example.com>\r\n",
				    "Subject: robust $tag $i\r\nMessage-ID: <$tag-$i\@moat.test>\r\n",
				    "Date: Thu, 26 Nov 2026 00:00:00 +0000\r\n\r\n", $body, ".\r\n";
				$c = reply($s);
			}
			if ($c eq '250') {
				$n{accepted}++;
				$done = 1;
				sleep $pause if $pause;
			} elsif ($c =~ /^5/) {
				$n{rejected}++;
				cmd($s, 'RSET');
				$done = 1;
			} else {
				# 4xx or a broken connection: try again, as an MTA would.
				$n{tempfails}++;
				if ($c eq '000' || cmd($s, 'RSET') ne '250') {
					close($s) if $s;
					$s = undef;
				}
				sleep 0.2;
			}
		}
	}
	cmd($s, 'QUIT') if $s;
	open(my $fh, '>', $out) or die "$out: $!";
	print $fh join(' ', map { "$_=$n{$_}" } sort keys %n), "\n";
	close $fh;
}

my $tmp = "/tmp/smtp-send.$$";
my @kids;
for my $k (0 .. $sessions - 1) {
	my $pid = fork // die "fork: $!";
	if ($pid == 0) { session($k, $sessions, "$tmp.$k"); exit 0; }
	push @kids, $pid;
}
waitpid($_, 0) for @kids;
my %sum;
for my $k (0 .. $sessions - 1) {
	open(my $fh, '<', "$tmp.$k") or next;
	my $l = <$fh>;
	close $fh;
	unlink "$tmp.$k";
	$sum{$1} += $2 while $l =~ /(\w+)=(\d+)/g;
}
$sum{$_} //= 0 for qw(accepted tempfails rejected given_up);
print "sent=$count accepted=$sum{accepted} tempfails=$sum{tempfails} rejected=$sum{rejected}",
    " given_up=$sum{given_up}\n";
exit($sum{accepted} == $count ? 0 : 1);
