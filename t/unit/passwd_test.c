/*
 * passwd_test - the controller's password hashes (shared/core/passwd.c).
 * Rspamd's own PBKDF2 hashes are checked against rspamadm in
 * t/controller.t; here the fixed vector below was made on this machine
 * with `rspamadm pw -t pbkdf2 -e -p 'correct horse'` (rspamd 3.4).
 */
#include "config.h"

#include <string.h>

#include "core/passwd.h"
#include "tap.h"

#define RSPAMD_HASH "$1$9tf8e71ot9jn7z4z7imag68xmj48dspb$z9dbgwpdcuicu6b8mn68mr58wf54w7k3k5ck5egciwjuifmp8cby"

int main(void)
{
	char h[PASSWD_HASH_MAX], err[256];

	ok(passwd_hash("s3cret", h, sizeof(h), err, sizeof(err)) == 0, "a yescrypt hash is made");
	like_str(h, "$y$", "...and is yescrypt");
	ok(passwd_verify("s3cret", 6, h), "the password matches its hash");
	ok(!passwd_verify("s3cre", 5, h), "a shorter one does not");
	ok(!passwd_verify("s3cret\0x", 8, h), "nor one with a NUL inside");
	ok(passwd_check_stored(h, err, sizeof(err)) == 0, "the hash is storable");
	ok(passwd_hash("q1", h, sizeof(h), err, sizeof(err)) < 0, "q1 is refused");
	ok(passwd_hash("", h, sizeof(h), err, sizeof(err)) < 0, "an empty password is refused");
	ok(!passwd_verify("q2", 2, "$6$saltsalt$xB4wEhwvd.Yi7nUehoi6exQ1C3jhMEaDb0d0eYPcTPs81v3L6c6Tdda3Ab5Ce2aHGfQiOmY9gqeyKr/6NQX8U."),
	   "q2 never matches, even its own hash");
	ok(passwd_verify("password", 8,
			 "$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/"),
	   "a SHA-512 crypt hash is accepted");
	ok(passwd_verify("correct horse", 13, RSPAMD_HASH), "Rspamd's PBKDF2 hash matches");
	ok(!passwd_verify("correct horsf", 13, RSPAMD_HASH), "...not for another password");
	ok(passwd_check_stored(RSPAMD_HASH, err, sizeof(err)) == 0, "...and is storable");
	ok(passwd_check_stored("$2$abc$def", err, sizeof(err)) < 0, "a Catena hash is refused");
	like_str(err, "Catena", "...by name");
	ok(passwd_check_stored("plaintext", err, sizeof(err)) < 0, "plain text is refused");
	ok(passwd_check_stored("$1$saltsalt$abcdefghijklmnopqrstuv", err, sizeof(err)) < 0,
	   "MD5-crypt (also $1$) is refused");
	ok(!passwd_verify("x", 1, "$1$saltsalt$abcdefghijklmnopqrstuv"), "...and never matches");
	return done_testing();
}
