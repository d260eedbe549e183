/* url_test - URLs, e-mail addresses and HTML text (shared/url.c, shared/html.c). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "core/cidr.h"
#include "mail/html.h"
#include "core/mem.h"
#include "core/sbuf.h"
#include "tap.h"
#include "mail/url.h"

#define BIG (1024 * 1024)

static struct url_list ul;
static struct email_list el;
static struct sbuf joined;	/* emails() result */
static char *last_text;		/* html() result */
static char *last_host;		/* norm() result */

/* URLs of s into ul (emptied first); how many. */
static size_t urls(const char *s)
{
	url_list_free(&ul);
	url_extract_text(s, strlen(s), &ul, 100);
	return ul.n;
}

/* The host of the only URL in s, or a word saying why not. */
static const char *host_of(const char *s)
{
	size_t n = urls(s);

	return n == 1 ? ul.v[0].host : n == 0 ? "(none)" : "(several)";
}

static const char *text_of(const char *s)
{
	return urls(s) == 1 ? ul.v[0].text : "(not one)";
}

static const char *path_of(const char *s)
{
	return urls(s) == 1 ? ul.v[0].path : "(not one)";
}

/* E-mail addresses of s, joined by spaces. */
static const char *emails(const char *s)
{
	email_list_free(&el);
	email_extract_text(s, strlen(s), &el, 100);
	sbuf_reset(&joined);
	for (size_t i = 0; i < el.n; i++)
		sbuf_printf(&joined, "%s%s", i ? " " : "", el.v[i]);
	return sbuf_cstr(&joined);
}

/* Text of HTML h; its links in ul (emptied first). */
static const char *html(const char *h)
{
	size_t n;

	free(last_text);
	url_list_free(&ul);
	last_text = html_to_text(h, strlen(h), &n, &ul, 100);
	return last_text;
}

static const char *norm(const char *h)
{
	free(last_host);
	last_host = url_host_normalise(h, strlen(h));
	return last_host ? last_host : "(null)";
}

static const char *host_ip(const char *h)
{
	static char buf[IP_TEXT_MAX];
	struct ip_addr ip;

	if (url_host_ip(h, strlen(h), &ip) < 0)
		return "(not an address)";
	ip_format(&ip, buf, sizeof(buf));
	return buf;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_url_parts(void)
{
	struct url *u;

	is_int(urls("Visit http://Example.COM:8080/Path?q=1#frag now"), 1, "one URL in prose");
	u = &ul.v[0];
	is_str(u->text, "http://Example.COM:8080/Path?q=1#frag", "text as found");
	is_str(u->scheme, "http", "scheme");
	is_str(u->host, "example.com", "host lower case, port dropped");
	is_str(u->path, "/Path?q=1", "path and query, no fragment");
	is_str(u->registrable, "example.com", "registrable domain");
	ok(!u->host_is_ip && !u->has_userinfo && !u->from_html && !u->display, "no flags");

	is_int(urls("HTTPS://WWW.EXAMPLE.CO.UK/"), 1, "upper-case URL");
	is_str(ul.v[0].scheme, "https", "...scheme lower case");
	is_str(ul.v[0].host, "www.example.co.uk", "...host lower case");
	is_str(ul.v[0].registrable, "example.co.uk", "...registrable under a public suffix");
	is_str(path_of("ftp://ftp.example.org"), "", "ftp, empty path");

	is_str(host_of("http://paypal.com@evil.example/login"), "evil.example", "userinfo");
	ok(ul.v[0].has_userinfo, "...flagged");
	is_str(ul.v[0].registrable, "evil.example", "...registrable of the real host");
	is_str(host_of("http://a@b@c.example/"), "c.example", "last '@' ends the userinfo");
	is_str(host_of("http://user:pw@d.example:81/"), "d.example", "user:password@host:port");

	is_str(host_of("see http://bücher.example/ok"), "xn--bcher-kva.example", "IDN to punycode");
	is_str(ul.v[0].registrable, "xn--bcher-kva.example", "...registrable in punycode");
	is_str(host_of("http://BÜCHER.example"), "xn--bcher-kva.example", "upper-case IDN");
	is_str(host_of("http://bücher.example./"), "xn--bcher-kva.example", "IDN, trailing dot");
	is_str(host_of("http://ＥＸＡＭＰＬＥ.com/"), "example.com", "full-width letters");
	is_str(host_of("http://例え.テスト/パス"), "xn--r8jz45g.xn--zckzah", "Japanese host and path");
	is_str(ul.v[0].path, "/パス", "...path kept as written");
	is_str(host_of("http://i❤.ws/"), "xn--i-7iq.ws", "emoji domain (browsers open it)");
	is_str(host_of("http://%65xample.com/"), "example.com", "percent-escapes in host decoded");
	is_str(host_of("http://example.com./x"), "example.com", "trailing dot dropped");
	is_str(host_of("http:\\\\evil.example\\x"), "evil.example", "backslashes");
	is_str(host_of("http:///three.example/"), "three.example", "extra slashes");
	is_str(host_of("http://foo.blogspot.com/"), "foo.blogspot.com", "private suffix");
	is_str(ul.v[0].registrable, "foo.blogspot.com", "...registrable one below it");
	is_str(host_of("http://co.uk/"), "co.uk", "a public suffix as host");
	ok(ul.v[0].registrable == NULL, "...has no registrable domain");
}

static void test_url_prose(void)
{
	is_str(path_of("(see http://a.example/x)."), "/x", "')' and '.' belong to the prose");
	is_str(text_of("(see http://a.example/x)."), "http://a.example/x", "...text too");
	is_str(path_of("http://en.wikipedia.org/wiki/Foo_(bar)"), "/wiki/Foo_(bar)",
	       "balanced ')' kept");
	is_str(text_of("Go to http://a.example."), "http://a.example", "full stop after host");
	is_str(text_of("Did you see http://a.example?"), "http://a.example", "question mark");
	is_str(text_of("at http://a.example:8080, or"), "http://a.example:8080", "comma");
	is_str(text_of("\"http://q.example/a\""), "http://q.example/a", "double quotes");
	is_str(text_of("'http://q.example/a'"), "http://q.example/a", "single quotes");
	is_str(text_of("<http://q.example/a>"), "http://q.example/a", "angle brackets");
	is_str(text_of("«http://q.example/a»"), "http://q.example/a", "guillemets");
	is_str(text_of("“http://q.example/a”"), "http://q.example/a", "typographic quotes");
	is_str(text_of("x\xc2\xa0http://q.example/a\xc2\xa0y"), "http://q.example/a", "NBSP");
	is_str(host_of("请访问http://example.com更多"), "example.com", "CJK around a URL");
	is_str(host_of("访问www.example.cn获取"), "www.example.cn", "CJK around a bare www.");

	is_str(text_of("Go to www.example.com."), "http://www.example.com", "bare www.");
	is_str(ul.v[0].scheme, "http", "...http assumed");
	is_str(ul.v[0].host, "www.example.com", "...host");
	is_str(text_of("(Www.Example.COM/a)"), "http://Www.Example.COM/a", "in ()");
	is_str(ul.v[0].host, "www.example.com", "...host lower case");
	is_str(host_of("www.paypal.com@evil.example/x"), "evil.example", "bare www. with userinfo");
	is_int(urls("foo.www.example.com"), 0, "www. inside a name is not a URL start");
	is_int(urls("mail user@www.example.com"), 0, "nor inside an address");
	is_int(urls("www.x"), 0, "www. with a one-letter tail is not a host");
	is_int(urls("a www. b"), 0, "www. alone");

	is_int(urls("http:// example"), 0, "space after scheme");
	is_int(urls("http://"), 0, "scheme alone");
	is_int(urls("xhttp://a.example/"), 0, "letters before the scheme");
	is_int(urls("hxxp://a.example/"), 0, "defanged");
	is_int(urls("gopher://a.example/"), 0, "other schemes");
	is_int(urls("http://a..b/"), 0, "empty label");
	is_int(urls("http://a.example:99999/"), 0, "port over 65535");
	is_int(urls("http://a.example:80x/"), 0, "port not a number");
	is_int(urls("http://exa!mple.com/"), 0, "bad host character");
	is_int(urls("http://1.2.3.999/"), 0, "host ending in a bad number");
	is_int(urls(""), 0, "empty text");
	url_list_free(&ul);
	url_extract_text(NULL, 0, &ul, 10);
	is_int(ul.n, 0, "NULL, 0");

	is_int(urls("http://a.example/ and https://b.example/x, www.c.example; ftp://d.example"), 4,
	       "four in one line");
	is_str(ul.v[3].host, "d.example", "...in order");
	is_int(urls("http://!x/http://ok.example/"), 1, "a bad URL before a good one");
	is_str(ul.v[0].host, "ok.example", "...finds the good one");
}

static void test_url_ip(void)
{
	is_str(host_of("http://192.0.2.1/"), "192.0.2.1", "dotted IPv4");
	ok(ul.v[0].host_is_ip && ul.v[0].registrable == NULL, "...is an IP, no registrable");
	is_str(host_of("http://[2001:DB8::1]/"), "[2001:db8::1]", "IPv6 literal");
	ok(ul.v[0].host_is_ip, "...is an IP");
	is_str(host_of("http://[2001:db8::1]:8080/x"), "[2001:db8::1]", "IPv6 with a port");
	is_str(host_of("http://0xC0000201/"), "0xc0000201", "hex IPv4 as written");
	ok(ul.v[0].host_is_ip, "...is an IP");
	is_str(host_ip(ul.v[0].host), "192.0.2.1", "...which is 192.0.2.1");
	is_str(host_of("http://3221225985/"), "3221225985", "integer IPv4");
	ok(ul.v[0].host_is_ip, "...is an IP");
	is_str(host_ip(ul.v[0].host), "192.0.2.1", "...which is 192.0.2.1");
	is_str(host_of("http://0300.0.02.01/"), "0300.0.02.01", "octal IPv4");
	ok(ul.v[0].host_is_ip, "...is an IP");
	is_str(host_ip(ul.v[0].host), "192.0.2.1", "...which is 192.0.2.1");
	is_str(host_ip("192.0x2.513"), "192.2.2.1", "mixed parts, last fills the rest");
	is_str(host_ip("1.2.3.4."), "1.2.3.4", "trailing dot");
	is_str(host_ip("1.2.3.256"), "(not an address)", "last part too big");
	is_str(host_ip("1.2.3.4.5"), "(not an address)", "five parts");
	is_str(host_ip("4294967296"), "(not an address)", "integer over 32 bits");
	is_str(host_ip("0x100000000"), "(not an address)", "hex over 32 bits");
	is_str(host_ip("08.1.1.1"), "(not an address)", "8 is not octal");
	is_str(host_ip("example.com"), "(not an address)", "a name");
	is_str(host_ip("[2001:db8::1]"), "2001:db8::1", "IPv6");
	is_str(host_ip("[192.0.2.1]"), "(not an address)", "IPv4 in brackets");
	is_str(host_of("http://１９２．０．２．１/"), "192.0.2.1", "full-width digits (IDN mapping)");
	ok(ul.v[0].host_is_ip, "...is an IP");
}

static void test_host_normalise(void)
{
	is_str(norm("Example.COM."), "example.com", "lower case, trailing dot");
	is_str(norm("xn--bcher-kva.example"), "xn--bcher-kva.example", "punycode unchanged");
	is_str(norm("例え.テスト"), "xn--r8jz45g.xn--zckzah", "Japanese IDN");
	is_str(norm("[2001:DB8::1]"), "[2001:db8::1]", "IPv6 literal");
	is_str(norm("a_b.example"), "a_b.example", "underscore (real DNS names have it)");
	is_str(norm("ab--cd.example"), "ab--cd.example", "ASCII '--' is fine");
	is_str(norm("intranet"), "intranet", "a single label is a host");
	is_str(norm(""), "(null)", "empty");
	is_str(norm("."), "(null)", "only a dot");
	is_str(norm("a b.example"), "(null)", "space");
	is_str(norm("a..example"), "(null)", "empty label");
	is_str(norm("[192.0.2.1]"), "(null)", "IPv4 in brackets");
	is_str(norm("[2001:db8::1"), "(null)", "unclosed bracket");
	is_str(norm("\xff\xfe.example"), "(null)", "invalid UTF-8");
	ok(url_host_normalise("a\0b.example", 11) == NULL, "NUL inside");
	{
		char label[80], name[400];

		memset(label, 'a', 64);
		label[64] = '\0';
		snprintf(name, sizeof(name), "%s.example", label);
		is_str(norm(name), "(null)", "64-byte label");
		label[63] = '\0';
		snprintf(name, sizeof(name), "%s.example", label);
		is_str(norm(name), name, "63-byte label");
		snprintf(name, sizeof(name), "%s.%s.%s.%s.example", label, label, label, label);
		is_str(norm(name), "(null)", "over 253 bytes");
	}
}

static void test_url_limits(void)
{
	struct sbuf sb;
	double t;

	sbuf_init(&sb);
	sbuf_puts(&sb, "x http://long.example/");
	for (int i = 0; i < 5000; i++)
		sbuf_putc(&sb, 'a' + i % 26);
	sbuf_puts(&sb, " then http://next.example/");
	is_int(urls(sbuf_cstr(&sb)), 2, "a 5000-byte URL and one after it");
	is_int(strlen(ul.v[0].text), URL_TEXT_MAX, "...text cut at URL_TEXT_MAX");
	ok(strlen(ul.v[0].path) <= URL_TEXT_MAX, "...path too");
	is_str(ul.v[0].host, "long.example", "...host intact");
	is_str(ul.v[1].host, "next.example", "...scan goes on behind it");

	sbuf_reset(&sb);
	sbuf_puts(&sb, "http://cut.example/");
	for (int i = 0; i < 1100; i++)
		sbuf_puts(&sb, "é");
	is_int(urls(sbuf_cstr(&sb)), 1, "long URL of 2-byte characters");
	ok(strlen(ul.v[0].text) <= URL_TEXT_MAX && strlen(ul.v[0].text) % 2 == 1,
	   "...cut between characters");

	sbuf_reset(&sb);
	for (int i = 0; i < 100000; i++)
		sbuf_printf(&sb, "http://h%d.example/p%d ", i, i);
	url_list_free(&ul);
	t = now();
	url_extract_text(sb.data, sb.len, &ul, 1000);
	t = now() - t;
	is_int(ul.n, 1000, "100000 URLs: max kept");
	is_int(ul.dropped, 99000, "...the rest counted");
	is_str(ul.v[999].host, "h999.example", "...the first ones");
	printf("# 100000 URLs (%zu bytes), max 1000: %.2f ms\n", sb.len, t * 1e3);
	url_list_free(&ul);
	url_extract_text(sb.data, sb.len, &ul, 30000);
	url_extract_text(sb.data, sb.len, &ul, 30000);
	is_int(ul.n, 30000, "max counts across calls");
	is_int(ul.dropped, 170000, "...and so does dropped");

	sbuf_reset(&sb);
	while (sb.len < BIG)
		sbuf_puts(&sb, "Lorem ipsum dolor sit amet, see http://www.example.com/a?b=c or "
			       "www.test.example. Mail a.b@example.org now.\n");
	url_list_free(&ul);
	t = now();
	url_extract_text(sb.data, sb.len, &ul, 100000);
	t = now() - t;
	printf("# 1 MB of prose, %zu URLs (all kept): %.2f ms\n", ul.n, t * 1e3);
	ok(t < 2, "1 MB of prose in linear time");
	email_list_free(&el);
	t = now();
	email_extract_text(sb.data, sb.len, &el, 100000);
	t = now() - t;
	printf("# 1 MB of prose, %zu addresses: %.2f ms\n", el.n, t * 1e3);
	ok(el.n > 9000, "addresses in the 1 MB");
	email_list_free(&el);
	sbuf_free(&sb);
}

/* Time and results of url and e-mail extraction on n copies of pattern. */
static void hostile(const char *pattern, const char *what)
{
	struct sbuf sb;
	double t;

	sbuf_init(&sb);
	while (sb.len < BIG)
		sbuf_puts(&sb, pattern);
	url_list_free(&ul);
	email_list_free(&el);
	t = now();
	url_extract_text(sb.data, sb.len, &ul, 1000);
	email_extract_text(sb.data, sb.len, &el, 1000);
	t = now() - t;
	printf("# 1 MB of \"%s\": %zu+%zu URLs, %zu+%zu addresses, %.2f ms\n", what, ul.n,
	       ul.dropped, el.n, el.dropped, t * 1e3);
	ok(t < 2, "1 MB of %s in linear time", what);
	url_list_free(&ul);
	email_list_free(&el);
	sbuf_free(&sb);
}

static void test_url_hostile(void)
{
	hostile("http://!x/", "http://!x/");
	hostile("http://", "http://");
	hostile(":", ":");
	hostile("www.(", "www.(");
	hostile("www.ü", "www.ü");
	hostile("w", "w");
	hostile("@", "@");
	hostile("a@", "a@");
	hostile("a.", "a.");
	hostile(".", ".");
	hostile(")", ")");
	hostile("http://a.example/)", "http://a.example/)");
	hostile("http://a@", "http://a@");
	hostile("x@x.example@", "x@x.example@");
}

static void test_email(void)
{
	is_str(emails("Write to <John.Doe+tag@Example.COM>."), "John.Doe+tag@example.com",
	       "angle brackets, + tag, domain lower case");
	is_str(emails("sales@example.co.uk, support@example.org."),
	       "sales@example.co.uk support@example.org", "two, punctuation after");
	is_str(emails("a@b"), "", "no dot in the domain");
	is_str(emails("a@b.c"), "", "one-letter top-level label");
	is_str(emails("root@localhost"), "", "localhost");
	is_str(emails("x@192.0.2.1"), "", "address literal without brackets");
	is_str(emails("mailto:info@bücher.example"), "info@xn--bcher-kva.example", "IDN domain");
	is_str(emails("unsubscribe?email=user@example.com"), "user@example.com", "in a query");
	is_str(emails("http://paypal.com@evil.example/"), "", "URL userinfo is not an address");
	is_str(emails("'quoted@example.com'"), "quoted@example.com", "in single quotes");
	is_str(emails("请联系user@example.com获取"), "user@example.com", "CJK around it");
	is_str(emails("Müller@example.com"), "", "not the tail of a non-ASCII local part");
	is_str(emails("«x@example.com»"), "x@example.com", "guillemets");
	is_str(emails("@@ a@@b.com @example.com a@.com"), "", "degenerate");
	is_str(emails("x@exa_mple.com"), "", "'_' ends a domain");
	{
		char buf[200];

		memset(buf, 'l', 65);
		strcpy(buf + 65, "@example.com");
		is_str(emails(buf), "", "65-byte local part");
		is_str(emails(buf + 1), buf + 1, "64-byte local part");
	}
	email_list_free(&el);
	email_extract_text("a@x.example b@x.example c@x.example d@x.example", 47, &el, 3);
	is_int(el.n, 3, "max kept");
	is_int(el.dropped, 1, "...the rest counted");
	email_list_free(&el);
}

static void test_html_text(void)
{
	is_str(html("<p>Hello <b>world</b></p><p>Next</p>"), "Hello world\nNext", "paragraphs");
	is_str(html("<div><span>a<i>b</div>c"), "ab\nc", "unclosed inline tags");
	is_str(html("a<!-- hidden <p> -->b"), "ab", "comment");
	is_str(html("a<!-->b"), "ab", "empty comment <!-->");
	is_str(html("a<!-- never closed <p>b"), "a", "unclosed comment runs to the end");
	is_str(html("<!DOCTYPE html><?xml x?>a</ b>c"), "ac", "doctype, processing instruction");
	is_str(html("a<script>var x='<p>b</p>';</script>c<style>p{x:y}</style>d"), "acd",
	       "script and style skipped");
	is_str(html("a<SCRIPT>x</script  >b<script>never closed"), "ab", "script end tag");
	is_str(html("<title>T</title>body"), "body", "title skipped");
	is_str(html("&amp; &lt; &gt; &quot; &#x41; &#65; &apos;"), "& < > \" A A '", "entities");
	is_str(html("a&nbsp;&nbsp; b"), "a b", "&nbsp; is white space");
	is_str(html("&foo; &amp &copy2 &ampx"), "&foo; & ©2 &x", "unknown kept, legacy without ;");
	is_str(html("&#150; &#x110000; &#0; &#; &#xZ"), "– \xef\xbf\xbd \xef\xbf\xbd &#; &#xZ",
	       "numeric: windows-1252, out of range, not numbers");
	is_str(html("&#99999999999999999999;"), "\xef\xbf\xbd", "huge number");
	is_str(html("V&shy;i&#8203;a\xe2\x80\x8bgra"), "Viagra", "invisible characters dropped");
	is_str(html("a < b and c > d"), "a < b and c > d", "'<' and '>' in text");
	is_str(html("<<<<a"), "<<<", "'<' before a tag");
	is_str(html("a<br>b<li>c</li><tr><td>d</td><td>e</td></tr><h1>f</h1>g<hr>h"),
	       "a\nb\nc\nd e\nf\ng\nh", "block elements as line breaks, cells spaced");
	is_str(html("  a \n\t b  <p>  <p> c  "), "a b\nc", "white space collapsed");
	is_str(html("x\x01y\x7fz\x1b"), "xyz", "controls dropped");
	is_str(html("a\xff\xc3(b"), "a\xef\xbf\xbd\xef\xbf\xbd(b", "bad UTF-8 replaced");
	is_str(html(""), "", "empty");
	is_str(html("<p>cut <a href=\"http://x.example"), "cut", "tag cut off by the end dropped");
	is_int(ul.n, 0, "...with its link");
	is_str(html("<p title='a>b'>x</p>"), "x", "'>' inside a quoted attribute");
	is_str(html("<p/class=a>x"), "x", "'/' between name and attributes");
	{
		size_t n;
		char *s = html_to_text("a<b>\0</b>c", 10, &n, NULL, 0);

		is_str(s, "ac", "NUL in input, no link list");
		is_int(n, 2, "...length");
		free(s);
	}
}

static void test_html_links(void)
{
	html("<a href='http://s.example/'>s</a> <A HREF=\"http://d.example/\">d</A> "
	     "<a href=http://u.example/>u</a>");
	is_int(ul.n, 3, "single, double, no quotes");
	if (ul.n == 3) {
		is_str(ul.v[0].host, "s.example", "...single");
		is_str(ul.v[1].host, "d.example", "...double, upper-case tag");
		is_str(ul.v[2].host, "u.example", "...unquoted");
		is_str(ul.v[2].display, "u", "...display text");
		ok(ul.v[0].from_html, "...from HTML");
	}
	html("<a href=\"http://x.example/?a=1&amp;b=2&copy=3\">x</a>");
	is_str(ul.v[0].path, "/?a=1&b=2&copy=3", "entities in href decoded, &copy= kept");
	is_str(html("<a href=\"http://evil.example\">http://bank.example</a>"),
	       "http://bank.example", "phishing link: text");
	is_str(ul.v[0].host, "evil.example", "...link host");
	is_str(ul.v[0].display, "http://bank.example", "...display text");
	html("<a href=\"http://a.example/\"> <b>click</b>\n<i>here</i> </a>");
	is_str(ul.v[0].display, "click here", "display of nested tags, white space collapsed");
	html("<a href=\"http://a.example\"><a href=\"http://b.example\">x</a>");
	is_int(ul.n, 2, "<a> inside <a>");
	ok(ul.n == 2 && ul.v[0].display == NULL, "...first closed without text");
	is_str(ul.v[1].display, "x", "...second has it");
	html("<a href=\"http://img.example/\"><img src=\"http://img.example/a.png\"></a>");
	is_int(ul.n, 2, "image link");
	ok(ul.n == 2 && ul.v[0].display == NULL && ul.v[1].display == NULL, "...no display text");
	html("<form action='https://phish.example/post'><input></form><area href=//pr.example/x>");
	is_int(ul.n, 2, "form action, area href");
	is_str(ul.v[1].text, "http://pr.example/x", "protocol-relative gets http:");
	html("<a href=\" http://a.exa\nmple/\t \">y</a>");
	is_str(ul.v[0].host, "a.example", "href: spaces around, newline inside (as browsers)");
	html("<a href=\"MAILTO:User@Example.COM?subject=hi\">mail</a>");
	is_str(ul.v[0].scheme, "mailto", "mailto link");
	is_str(ul.v[0].host, "example.com", "...host is the domain");
	is_str(ul.v[0].path, "?subject=hi", "...headers as path");
	html("<a href=\"/relative\">r</a><a href=\"javascript:x()\">j</a><a name=n>n</a>"
	     "<a href=\"data:text/html,x\">d</a><a href=''>e</a><img src=cid:part1>");
	is_int(ul.n, 0, "relative, javascript:, data:, cid:, empty: no links");
	html("<a href=\"http://first.example\" href=\"http://second.example\">x</a>");
	is_str(ul.v[0].host, "first.example", "first of two hrefs counts");
	html("<a title=\"href=http://no.example\" href=\"http://yes.example\">x</a>");
	is_str(ul.v[0].host, "yes.example", "href= inside another attribute is not one");
	html("<p>text</p>");
	is_int(ul.n, 0, "no links");
	{
		struct sbuf sb;

		sbuf_init(&sb);
		sbuf_puts(&sb, "<a href=\"http://a.example\">");
		for (int i = 0; i < 3000; i++)
			sbuf_puts(&sb, "ab ");
		html(sbuf_cstr(&sb));
		ok(ul.n == 1 && strlen(ul.v[0].display) <= URL_TEXT_MAX, "display text capped");
		sbuf_reset(&sb);
		for (int i = 0; i < 200; i++)
			sbuf_printf(&sb, "<a href=\"http://h%d.example/\">%d</a>", i, i);
		url_list_free(&ul);
		free(html_to_text(sb.data, sb.len, NULL, &ul, 150));
		is_int(ul.n, 150, "max links kept");
		is_int(ul.dropped, 50, "...the rest counted");
		is_str(ul.v[149].display, "149", "...displays with the right links");
		sbuf_free(&sb);
	}
}

/* Time html_to_text on 1 MB of pattern; each copy should give per_copy bytes of text. */
static void html_hostile(const char *pattern, const char *what, size_t per_copy)
{
	struct sbuf sb;
	size_t n, copies = 0;
	double t;
	char *s;

	sbuf_init(&sb);
	for (; sb.len < BIG; copies++)
		sbuf_puts(&sb, pattern);
	url_list_free(&ul);
	t = now();
	s = html_to_text(sb.data, sb.len, &n, &ul, 1000);
	t = now() - t;
	printf("# HTML, 1 MB of \"%s\": %zu bytes of text, %zu+%zu links, %.2f ms\n", what, n, ul.n,
	       ul.dropped, t * 1e3);
	ok(t < 2, "HTML: 1 MB of %s in linear time", what);
	if (per_copy != (size_t)-1)
		is_int(n, copies * per_copy, "...text length");
	free(s);
	sbuf_free(&sb);
}

static void test_html_hostile(void)
{
	html_hostile("<", "<", 1);
	html_hostile("<a href=", "<a href=", 0);
	html_hostile("<a href=\"", "<a href=\"", 0);
	html_hostile("<a href=x>", "<a href=x>", 0);
	html_hostile("<a href=\"http://a.example/\">x</a>", "<a href=http://a.example/>x</a>",
		     (size_t)-1);
	html_hostile("<!--", "<!--", 0);
	html_hostile("&amp;", "&amp;", 1);
	html_hostile("&#x", "&#x", 3);
	html_hostile("<script>", "<script>", 0);
	html_hostile("</", "</", 0);
	html_hostile("<p>", "<p>", 0);
	html_hostile("<p>x ", "<p>x", (size_t)-1);
	html_hostile("a b \xc3\xa9 ", "a b é", (size_t)-1);
	html_hostile("<a x='1' y=\"2\" z=3 ", "<a attrs", 0);
}

static void test_html_then_urls(void)
{
	char *s;
	size_t n;

	url_list_free(&ul);
	s = html_to_text("<p>Visit <b>www.shop.example</b>&#46;</p>", 40, &n, &ul, 10);
	is_str(s, "Visit www.shop.example.", "visible URL in HTML text");
	url_extract_text(s, n, &ul, 10);
	is_int(ul.n, 1, "...found by url_extract_text on the text");
	is_str(ul.v[0].host, "www.shop.example", "...host");
	ok(!ul.v[0].from_html, "...not from an href");
	free(s);
}

/* Valid UTF-8, no NUL, no white space at either end. */
static int clean_utf8(const char *s, size_t n)
{
	if (n > 0 && (s[0] == ' ' || s[0] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\n'))
		return 0;
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		size_t k = 0;

		if (c > 0 && c < 0x80)
			k = 1;
		else if (c >= 0xc2 && c <= 0xdf)
			k = 2;
		else if (c >= 0xe0 && c <= 0xef)
			k = 3;
		else if (c >= 0xf0 && c <= 0xf4)
			k = 4;
		if (k == 0 || i + k > n)
			return 0;
		for (size_t j = 1; j < k; j++)
			if (((unsigned char)s[i + j] & 0xc0) != 0x80)
				return 0;
		i += k;
	}
	return 1;
}

/* Every URL complete and within the caps. */
static int sane(const struct url_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct url *u = &l->v[i];

		if (!u->text || !u->scheme || !u->host || !u->path)
			return 0;
		if (strlen(u->text) > URL_TEXT_MAX || strlen(u->path) > URL_TEXT_MAX)
			return 0;
		if (u->display && strlen(u->display) > URL_TEXT_MAX)
			return 0;
	}
	return 1;
}

/* Random strings of the characters that matter, through everything (for ASan). */
static void test_random(void)
{
	static const char *const atoms[] = {
		"<", ">", "&", ";", "#", "x", "/", "a", "href", "=", "\"", "'", " ", ".", ":",
		"w", "@", "[", "]", "(", ")", "%", "é", "\xff", "\xe2\x80", "http://", "www.",
		"<a href=", "</a>", "<!--", "-->", "<script>", "</script>", "&amp", "&#x", "0x",
		"1", "\n", "?", "\\", "例", "com", "mailto:", "\0",
	};
	size_t natoms = sizeof(atoms) / sizeof(atoms[0]), n, bad = 0;
	unsigned seed = 12345;
	char buf[600], *s;

	for (int round = 0; round < 5000; round++) {
		size_t len = 0;

		for (int k = (int)((seed = seed * 1103515245 + 12345) >> 16) % 60; k > 0; k--) {
			const char *a = atoms[((seed = seed * 1103515245 + 12345) >> 16) % natoms];
			size_t al = a[0] ? strlen(a) : 1;	/* "\0" is one NUL byte */

			memcpy(buf + len, a, al);
			len += al;
		}
		url_list_free(&ul);
		email_list_free(&el);
		url_extract_text(buf, len, &ul, 5);
		email_extract_text(buf, len, &el, 5);
		s = html_to_text(buf, len, &n, &ul, 10);
		bad += !clean_utf8(s, n) || strlen(s) != n || !sane(&ul) || ul.n > 10 || el.n > 5;
		free(s);
	}
	is_int(bad, 0, "5000 random inputs: clean text, complete URLs, limits kept");
}

int main(void)
{
	url_list_init(&ul);
	email_list_init(&el);
	test_url_parts();
	test_url_prose();
	test_url_ip();
	test_host_normalise();
	test_url_limits();
	test_url_hostile();
	test_email();
	test_html_text();
	test_html_links();
	test_html_hostile();
	test_html_then_urls();
	test_random();
	url_list_free(&ul);
	email_list_free(&el);
	sbuf_free(&joined);
	free(last_text);
	free(last_host);
	return done_testing();
}
