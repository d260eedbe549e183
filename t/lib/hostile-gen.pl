#!/usr/bin/perl
# hostile-gen.pl CASE FILE - write one hostile message for t/hostile.t.
#
# Generated at test time rather than stored: the big ones would bloat the
# repository, and the generator says plainly what each case is. Every case
# has a Message-ID "<hostile-CASE@moat.test>" so a test can find it again.
#
#   big       50 MB text body (over the 20 MB scan_size_limit)
#   parts     10,000 MIME parts in one multipart
#   deep      multipart nested 10,000 deep
#   deep822   message/rfc822 nested 10,000 deep (forwarded inside forwarded ...)
#   headers   100,000 header lines
#   longhdr   one 1 MB header line (Subject), unfolded
#   badenc    broken base64 and quoted-printable in every part and header
#   nul       NUL bytes in header and body
#   utf8      invalid UTF-8 everywhere, declared as UTF-8
#   polhdr    100,000 forged X-Moat-Policy headers (each is removed by the milter)
#
# Lines end in LF (as the milter and moatctl see them); SIZE=N scales the
# big case (bytes) for a quick run.
use strict;
use warnings;

my ($case, $file) = @ARGV;
die "usage: hostile-gen.pl CASE FILE\n" unless defined $file;
open(my $fh, '>:raw', $file) or die "$file: $!\n";

sub head {
	my ($extra, $from) = @_;
	print $fh "From: ", $from // "Hostile <hostile\@sender.example>", "\n",
	    "To: victim\@example.com\n",
	    "Date: Thu, 26 Nov 2026 00:00:00 +0000\n",
	    "Message-ID: <hostile-$case\@moat.test>\n",
	    "MIME-Version: 1.0\n", $extra // '';
}

if ($case eq 'big') {
	my $size = $ENV{SIZE} // 50 * 1024 * 1024;
	head("Subject: big\nContent-Type: text/plain; charset=us-ascii\n\n");
	my $line = ('abcdefghij' x 7) . " http://big.example/x\n";
	my $block = $line x 1000;
	my $n = 0;
	while ($n < $size) { print $fh $block; $n += length $block; }
} elsif ($case eq 'parts') {
	head("Subject: parts\nContent-Type: multipart/mixed; boundary=\"b\"\n\n");
	for my $i (1 .. 10000) {
		print $fh "--b\nContent-Type: text/plain\n\npart $i http://p$i.example/\n";
	}
	print $fh "--b--\n";
} elsif ($case eq 'deep') {
	my $d = 10000;
	head("Subject: deep\nContent-Type: multipart/mixed; boundary=\"d0\"\n\n");
	for my $i (1 .. $d) {
		print $fh "--d", $i - 1, "\nContent-Type: multipart/mixed; boundary=\"d$i\"\n\n";
	}
	print $fh "--d$d\nContent-Type: text/plain\n\ninnermost\n--d$d--\n";
	for my $i (reverse 0 .. $d - 1) { print $fh "--d$i--\n"; }
} elsif ($case eq 'deep822') {
	my $d = 10000;
	head("Subject: deep822\nContent-Type: message/rfc822\n\n");
	for my $i (1 .. $d - 1) {
		print $fh "Subject: level $i\nContent-Type: message/rfc822\n\n";
	}
	print $fh "Subject: innermost\nContent-Type: text/plain\n\ninnermost\n";
} elsif ($case eq 'headers') {
	head("Subject: headers\n");
	for my $i (1 .. 100000) { print $fh "X-Hostile-$i: value $i\n"; }
	print $fh "\nbody\n";
} elsif ($case eq 'longhdr') {
	head("Subject: " . ('long ' x (1024 * 1024 / 5)) . "\n\nbody\n");
} elsif ($case eq 'badenc') {
	head("Subject: =?utf-8?B?!!!not*base64===?= =?utf-8?Q?=ZZ=4=?= =?x-none?B?AAAA?=\n"
	    . "Content-Type: multipart/mixed; boundary=\"e\"\n\n");
	for my $i (1 .. 200) {
		print $fh "--e\nContent-Type: text/html; charset=utf-8\n",
		    "Content-Transfer-Encoding: base64\n\n",
		    "PGh0bWw+!!!\@\@\@***====PGI+\n", "====\n", "QUJD" x 30, "=\n",
		    "--e\nContent-Type: text/plain; charset=iso-8859-1\n",
		    "Content-Transfer-Encoding: quoted-printable\n\n",
		    "broken =Z1 =4 =\n=\n==== soft=\n", "=" x 500, "\n",
		    "--e\nContent-Type: application/octet-stream; name=\"=?utf-8?B?***?=\"\n",
		    "Content-Transfer-Encoding: base64\n\n", "\x00\xff===", "A" x 1001, "\n";
	}
	print $fh "--e--\n";
} elsif ($case eq 'nul') {
	head("Subject: nul\x00here\nX-Nul: \x00\x00\x00\nContent-Type: text/html\n\n");
	print $fh "<a href=\"http://nul\x00.example/\">x\x00y</a>\n" x 1000;
	print $fh "\x00" x 100000, "\n";
} elsif ($case eq 'utf8') {
	head("Subject: \xc3\x28 \xa0\xa1 \xf0\x28\x8c\xbc \xed\xa0\x80 \xc0\xaf\n"
	    . "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n",
	    "\"\xfe\xff\xe2\x82\" <x\@\xc3.example>");
	print $fh "\xf8\x88\x80\x80\x80 \xe2\x28\xa1 http://\xc3\x28.example/ \xff\xfe\n" x 5000;
} elsif ($case eq 'polhdr') {
	head("Subject: polhdr\n");
	for my $i (1 .. 100000) { print $fh "X-Moat-Policy: FORGED(9.00)[$i]; ts=1; sig=0\n"; }
	print $fh "\nbody\n";
} else {
	die "unknown case $case\n";
}
close($fh) or die "$file: $!\n";
