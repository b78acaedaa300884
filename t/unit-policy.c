/*
 * unit-policy.c: the policy file as operators write it and the broker uses
 * it: load-time errors at their exact file:line:col, decisions and their
 * deciding lines, URLs as an attacker would write them, kv prefixes and
 * access, secrets, log, and the quota book. Uses policy.c, url.c, quota.c,
 * cap.c and t/tap.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "cap.h"
#include "policy.h"
#include "quota.h"
#include "tap.h"
#include "url.h"

#define SEC	1000000ull
#define T0	(19675ull * 86400 * SEC)	/* a whole day, so minute and hour */

static char err[1024];

static int
load(struct policy *p, const char *text)
{
	err[0] = '\0';
	return policy_parse("t.policy", text, strlen(text), p, err, sizeof err);
}

/* The load error of a text, "" if it loads. */
static const char *
load_err(const char *text)
{
	struct policy p;

	if (load(&p, text) == 0) {
		policy_free(&p);
		return "";
	}
	return err;
}

/* A policy of one pool running every rule, then the given text. */
static int
load_rules(struct policy *p, const char *rules)
{
	char text[8192];

	snprintf(text, sizeof text, "pool all {\n\trules \"**\"\n}\n%s", rules);
	if (load(p, text) < 0) {
		diag("load: %s", err);
		return -1;
	}
	return 0;
}

/* The error of a rule block of one statement: its line is 2. */
static const char *
stmt_err(const char *stmt)
{
	char text[4096];

	snprintf(text, sizeof text, "rule \"a/*\" {\n%s\n}\npool p {\n\t"
	    "rules \"**\"\n}\n", stmt);
	return load_err(text);
}

static void
http_call(const struct policy *p, const char *rule, const char *method,
    const char *url, struct cap_decision *d)
{
	struct cap_call c = { .cap = CAP_HTTP, .rule = rule, .method = method,
	    .url = url };

	policy_decide(p, &c, d);
}

static int
http_ok(const struct policy *p, const char *rule, const char *method,
    const char *url)
{
	struct cap_decision d;

	http_call(p, rule, method, url, &d);
	return d.allowed;
}

static void
kv_call(const struct policy *p, const char *rule, const char *key,
    size_t keylen, int write, struct cap_decision *d)
{
	struct cap_call c = { .cap = CAP_KV, .rule = rule, .key = key,
	    .keylen = keylen, .write = write };

	policy_decide(p, &c, d);
}

static int
kv_ok(const struct policy *p, const char *key, int write)
{
	struct cap_decision d;

	kv_call(p, "pay/x", key, strlen(key), write, &d);
	return d.allowed;
}

static void
secret_call(const struct policy *p, const char *rule, const char *name,
    struct cap_decision *d)
{
	struct cap_call c = { .cap = CAP_SECRET, .rule = rule, .secret = name };

	policy_decide(p, &c, d);
}

static int
has(const char *s, const char *part)
{
	if (strstr(s, part) != NULL)
		return 1;
	diag("'%s' does not hold '%s'", s, part);
	return 0;
}

/* ---- capabilities ---- */

static void
test_cap_names(void)
{
	enum cap_kind k;
	int round = 1;

	for (int i = 0; i < CAP_KIND_COUNT; i++)
		round &= cap_from_name(cap_name((enum cap_kind)i), &k) == 0 &&
		    k == (enum cap_kind)i;
	ok(round, "every capability's name reads back as the capability");
	is_str(cap_name(CAP_SECRET), "secret", "CAP_SECRET is named secret");
	ok(cap_from_name("secrets", &k) < 0, "cap_from_name refuses a name "
	    "that is no capability");
	is_str(cap_name(CAP_KIND_COUNT), "unknown", "cap_name of no "
	    "capability is 'unknown'");
}

/* ---- load-time errors ---- */

static void
test_errors_allow(void)
{
	is_str(stmt_err("\tallow htp GET \"https://x.example/\""),
	    "t.policy:2:8: 'allow': htp: unknown capability: expected http, "
	    "kv, secret or log", "an unknown capability is refused at its "
	    "column");
	ok(has(stmt_err("\tallow http FETCH \"https://x.example/\""),
	    "t.policy:2:13: 'allow': FETCH: expected a method in upper case"),
	    "an unknown method is refused at its column");
	ok(has(stmt_err("\tallow http get \"https://x.example/\""),
	    "t.policy:2:13: 'allow': get: expected a method in upper case"),
	    "a method in lower case is refused");
	ok(has(stmt_err("\tallow http \"https://x.example/\""),
	    "t.policy:2:2: 'allow http' names methods, then URL patterns"),
	    "allow http without methods is refused at the statement");
	ok(has(stmt_err("\tallow http GET"), "t.policy:2:2: 'allow http' "
	    "needs a URL pattern"), "allow http without URL patterns is "
	    "refused");
	ok(has(stmt_err("\tallow http GET \"https://x.example/\" private "
	    "\"https://y.example/\""), "t.policy:2:38: 'allow': private: "
	    "expected a URL pattern"), "'private' anywhere but last is "
	    "refused");
	ok(has(stmt_err("\tallow kv \"payments:\""), "t.policy:2:2: 'allow kv' "
	    "says read, write or both"), "allow kv without read or write is "
	    "refused");
	ok(has(stmt_err("\tallow kv read write"), "t.policy:2:2: 'allow kv' "
	    "needs key prefixes"), "allow kv without a prefix is refused");
	is_str(stmt_err("\tallow kv read \"\""), "t.policy:2:16: 'allow kv': "
	    "the key prefix is empty: name the keys the rule may use, like "
	    "\"payments:\"", "an empty key prefix is refused at its column");
	ok(has(stmt_err("\tallow secret"), "t.policy:2:2: 'allow secret' "
	    "names the secrets"), "allow secret without names is refused");
	ok(has(stmt_err("\tallow secret \"\""), "t.policy:2:15: 'allow "
	    "secret': the secret's name is empty"), "an empty secret name is "
	    "refused");
	is_str(stmt_err("\tallow secret \"a\" \"a\""), "", "a secret named "
	    "twice is fine");
	ok(has(stmt_err("\tallow log 100"), "t.policy:2:12: 'allow': 100: "
	    "'allow log' takes nothing, or a rate"), "allow log with a stray "
	    "argument is refused");
	ok(has(stmt_err("\tallow log rate 100 per 1x"), "t.policy:2:25: "
	    "'allow': 1x: expected a window like 1s"), "a log rate with a bad "
	    "window is refused at the window");
	ok(has(stmt_err("\tallow log rate 100 per invocation"),
	    "t.policy:2:25: 'allow': invocation: expected a window"),
	    "a log rate is per a time window, not per invocation");
}

static void
test_errors_url(void)
{
	static const struct { const char *pat, *why, *name; } cases[] = {
		{ "ftp://x.example/", "starts with http:// or https://",
		    "a pattern of another scheme" },
		{ "https://user@x.example/", "userinfo (user@host) is never "
		    "allowed", "a pattern with userinfo" },
		{ "https://api.*.example/", "a '*' in a host stands only for "
		    "its first labels", "a '*' inside a host" },
		{ "https://*.com/", "keep at least two labels",
		    "a wildcard over a top-level domain" },
		{ "https://x.example./", "without a final dot",
		    "a host with a final dot" },
		{ "https://x.example:0/", "a port from 1 to 65535",
		    "port 0" },
		{ "https://x.example:99999/", "a port from 1 to 65535",
		    "a port past 65535" },
		{ "https://x.example:/", "a port from 1 to 65535",
		    "an empty port" },
		{ "http://2130706433/", "not an IPv4 address in dotted-quad",
		    "an IPv4 address as one decimal number" },
		{ "http://0x7f.1/", "not an IPv4 address in dotted-quad",
		    "an IPv4 address in hex" },
		{ "http://[::1/", "the host holds '['", "an unclosed IPv6 "
		    "literal" },
		{ "http://[fe80::1%25eth0]/", "is not an IPv6 address",
		    "an IPv6 zone id" },
		{ "https://x.example/v1/../admin", "a . or .. segment",
		    "a path with a dot segment" },
		{ "https://x.example/v1/%2e%2e/admin", "a . or .. segment",
		    "a path with an encoded dot segment" },
		{ "https://x.example/v1/#x", "no fragment", "a pattern with a "
		    "fragment" },
		{ "https://x.example/a%zz", "must start an escape",
		    "a path with a broken escape" },
		{ "https:///v1/*", "the pattern has no host", "a pattern without "
		    "a host" },
	};
	char stmt[512], want[512];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(stmt, sizeof stmt, "\tallow http GET \"%s\"",
		    cases[i].pat);
		snprintf(want, sizeof want, "t.policy:2:17: 'allow': %s: ",
		    cases[i].pat);
		const char *e = stmt_err(stmt);
		ok(has(e, want) && has(e, cases[i].why), "%s is refused at "
		    "load time", cases[i].name);
	}
}

static void
test_errors_quota(void)
{
	ok(has(stmt_err("\tquota htp 10 per 1m"), "t.policy:2:8: 'quota': "
	    "htp: unknown capability: expected http, kv, secret, log, or "
	    "calls"), "a quota of an unknown capability is refused");
	ok(has(stmt_err("\tquota http ten per 1m"), "t.policy:2:13: 'quota': "
	    "ten: expected a whole number"), "a quota that is not a number is "
	    "refused");
	ok(has(stmt_err("\tquota http 10 in 1m"), "t.policy:2:16: 'quota': "
	    "in: expected 'per'"), "a quota without 'per' is refused");
	ok(has(stmt_err("\tquota http 10 per 1.5h"), "t.policy:2:20: "
	    "'quota': 1.5h: expected a window like 1s, 10m, 1h or 1d (from 1s "
	    "to 7d), or 'invocation'"), "a fractional window is refused");
	ok(has(stmt_err("\tquota http 10 per 0s"), "t.policy:2:20: 'quota': "
	    "0s: expected a window"), "a window of 0 is refused");
	ok(has(stmt_err("\tquota http 10 per 8d"), "t.policy:2:20: 'quota': "
	    "8d: expected a window"), "a window past 7 days is refused");
	ok(has(stmt_err("\tquota http 10 per 500ms"), "expected a window"),
	    "a window under a second is refused");
	ok(has(stmt_err("\tquota http 10 per invocations"), "t.policy:2:20: "
	    "'quota': invocations: expected a window"), "a misspelt "
	    "'invocation' is refused");
	ok(has(stmt_err("\tquota http 10 per"), "t.policy:2:2: 'quota' takes "
	    "4 arguments"), "a quota with too few words is refused");
	is_str(stmt_err("\tquota calls 5 per invocation\n\tquota kv 7 per 7d"),
	    "", "quotas per invocation and per 7d load");
	ok(has(load_err("pool p {\n\trules \"**\"\n\tquota http 10 per 1y\n}\n"),
	    "t.policy:3:20: 'quota': 1y: expected a window"), "a pool's quota "
	    "is checked as a rule block's");
}

static void
test_errors_blocks(void)
{
	is_str(stmt_err("\tallw http GET \"https://x.example/\""),
	    "t.policy:2:2: unknown keyword 'allw' in a rule block: expected "
	    "allow or quota", "an unknown keyword in a rule block lists what "
	    "a rule block takes");
	ok(has(load_err("pool p {\n\trules \"**\"\n\tquotas http 1 per 1s\n}\n"),
	    "t.policy:3:2: unknown keyword 'quotas' in a pool block: expected "
	    "rules, workers,"), "an unknown keyword in a pool block lists the "
	    "pool's keywords");
	ok(has(load_err("rules \"**\"\n"), "t.policy:1:1: unknown keyword "
	    "'rules' at the top level: expected pool or rule"), "a pool "
	    "keyword at the top level is refused");
	is_str(load_err("pool p { rules \"**\" }\nrule \"a/*\"\n"),
	    "t.policy:2:1: 'rule' needs a block { ... }", "a rule without a "
	    "block is refused");
	ok(has(load_err("pool p { rules \"**\" }\nrule \"pay ments\" { }\n"),
	    "t.policy:2:6: 'rule': pay ments: expected a rule-name pattern"),
	    "a rule pattern with a space is refused");
	is_str(load_err("pool p { rules \"**\" }\nrule \"a/*\" {\n\tallow "
	    "http GET \"https://x.example/\n}\n"), "t.policy:3:36: syntax "
	    "error: expected a closing quote on the same line", "a syntax "
	    "error gives its line, column and what was expected");
	is_str(load_err("pool default {\n\trules \"**\"\n\tworkers 1 2\n}\n"), "",
	    "a policy of pools only still loads");
	is_str(load_err("pool p { rules \"**\" }\nrule \"a/*\" { }\n"), "",
	    "an empty rule block loads");
	is_str(load_err("pool p { rules \"**\" }\nrule { }\n"), "t.policy:2:1: "
	    "'rule' names rule-name patterns: rule \"payments/*\" { ... }",
	    "a rule block without patterns is refused");
	is_str(stmt_err("\tallow"), "t.policy:2:2: 'allow' names a capability: "
	    "http, kv, secret or log", "allow without a capability is "
	    "refused");
	is_str(load_err("pool p {\n\trules\n}\n"), "t.policy:2:2: 'rules' "
	    "names rule-name patterns: rules \"payments/*\"", "a pool's rules "
	    "without patterns is refused");
	{
		struct policy p;

		ok(load(&p, "pool p {\n\trules \"**\"\n\tmemory 16M\n}\n") == 0 &&
		    p.pools[0].limits.memory == 16u << 20, "a pool's memory "
		    "limit of 16M loads");
		if (err[0] == '\0')
			policy_free(&p);
	}
}

/* ---- decisions ---- */

static const char http_policy[] =
    "rule \"pay/*\" \"billing/**\" {\n"					/* 4 */
    "\tallow http GET POST \"https://api.stripe.com/v1/*\"\n"		/* 5 */
    "\tallow http GET \"http://127.0.0.1:8080/hooks/*\"\n"		/* 6 */
    "\tallow http GET \"https://*.corp.example/*\" private\n"		/* 7 */
    "\tallow http PUT \"https://any.example:*/x\" \"http://[::1]/v6/*\"\n" /* 8 */
    "\tallow http GET \"https://exact.example/v1/charges\"\n"		/* 9 */
    "\tallow http GET \"https://port.example:8443/*\"\n"		/* 10 */
    "}\n"
    "rule \"pay/special\" {\n"						/* 12 */
    "\tallow http DELETE \"https://api.stripe.com/v1/*\"\n"		/* 13 */
    "}\n";

static void
test_decide_http(void)
{
	struct policy p;
	struct cap_decision d;

	if (load_rules(&p, http_policy) < 0)
		return;
	http_call(&p, "pay/charge", "POST", "https://api.stripe.com/v1/charges",
	    &d);
	ok(d.allowed && d.line == 5 && !d.allow_private, "a call that an "
	    "allow statement matches is allowed by its line");
	is_str(d.why, "allowed by line 5", "the decision says which line "
	    "allowed it");
	http_call(&p, "billing/eu/monthly", "GET",
	    "https://api.stripe.com/v1/x", &d);
	ok(d.allowed && d.line == 5, "'**' in a rule pattern matches across "
	    "segments");
	http_call(&p, "pay/a/b", "GET", "https://api.stripe.com/v1/x", &d);
	ok(!d.allowed, "'*' in a rule pattern does not cross a '/'");
	http_call(&p, "other", "GET", "https://api.stripe.com/v1/x", &d);
	ok(!d.allowed && d.line == 0, "a rule no block matches is denied by "
	    "default");
	is_str(d.why, "denied by default: no allow statement for http matches "
	    "rule other", "the default denial names the capability and the "
	    "rule");
	http_call(&p, "pay/special", "DELETE", "https://api.stripe.com/v1/x",
	    &d);
	ok(d.allowed && d.line == 13, "allows of several matching blocks are "
	    "a union");
	http_call(&p, "pay/special", "GET", "https://api.stripe.com/v1/x", &d);
	ok(d.allowed && d.line == 5, "the deciding line is the first "
	    "matching allow in file order");
	http_call(&p, "pay/x", "DELETE", "https://api.stripe.com/v1/x", &d);
	ok(!d.allowed && has(d.why, "nearest: line 5 wants method GET POST, "
	    "not DELETE"), "a wrong method is named as the failed constraint");
	http_call(&p, "pay/x", "GET", "http://api.stripe.com/v1/x", &d);
	ok(!d.allowed && has(d.why, "wants scheme https, not http"),
	    "a wrong scheme is named");
	http_call(&p, "pay/x", "GET", "https://api.stripe.com:8443/v1/x", &d);
	ok(!d.allowed && has(d.why, "line 5 wants port 443 (the default), not "
	    "8443"), "a wrong port is named");
	http_call(&p, "pay/x", "GET", "https://api.stripe.com/v2/x", &d);
	ok(!d.allowed && has(d.why, "line 5 wants path /v1/*, not /v2/x"),
	    "a wrong path is named");
	http_call(&p, "pay/x", "GET", "https://evil.example/v1/x", &d);
	ok(!d.allowed && has(d.why, "wants host"), "a wrong host is named");
	http_call(&p, "pay/x", "TRACE", "https://api.stripe.com/v1/x", &d);
	ok(!d.allowed && has(d.why, "method TRACE is not one a policy allows"),
	    "a method no policy can allow is denied");
	http_call(&p, "pay/x", NULL, "https://api.stripe.com/v1/x", &d);
	ok(!d.allowed, "a call without a method is denied");
	http_call(&p, "pay/x", "GET", NULL, &d);
	ok(!d.allowed && has(d.why, "bad URL"), "a call without a URL is "
	    "denied");
	http_call(&p, "pay/x", "GET", "https://api.stripe.com@evil.net/", &d);
	ok(!d.allowed && has(d.why, "denied: bad URL: userinfo"), "a bad URL "
	    "is denied and says why");
	http_call(&p, NULL, "GET", "https://api.stripe.com/v1/x", &d);
	ok(!d.allowed, "a call without a rule is denied");
	policy_free(&p);
}

static void
test_decide_private(void)
{
	struct policy p;
	struct cap_decision d;

	if (load_rules(&p, http_policy) < 0)
		return;
	http_call(&p, "pay/x", "GET", "http://127.0.0.1:8080/hooks/a", &d);
	ok(d.allowed && d.line == 6 && d.allow_private, "a literal IPv4 "
	    "address in the deciding pattern sets allow_private");
	http_call(&p, "pay/x", "GET", "https://a.corp.example/x", &d);
	ok(d.allowed && d.line == 7 && d.allow_private, "'private' on the "
	    "deciding statement sets allow_private");
	http_call(&p, "pay/x", "PUT", "http://[::1]/v6/a", &d);
	ok(d.allowed && d.line == 8 && d.allow_private, "a literal IPv6 "
	    "address in the deciding pattern sets allow_private");
	http_call(&p, "pay/x", "PUT", "https://any.example:9999/x", &d);
	ok(d.allowed && !d.allow_private, "another pattern of the same "
	    "statement, a name, does not set allow_private");
	policy_free(&p);
}

/* ---- URLs as an attacker writes them ---- */

static const char *
norm(const char *in)
{
	static struct url u;
	static char why[256];

	if (url_parse(in, &u, why, sizeof why) < 0) {
		snprintf(u.normalized, sizeof u.normalized, "ERROR %s", why);
		return u.normalized;
	}
	return u.normalized;
}

static int
refused(const char *in, const char *why_part)
{
	struct url u;
	char why[256];

	if (url_parse(in, &u, why, sizeof why) == 0) {
		diag("%s was accepted as %s", in, u.normalized);
		return 0;
	}
	return has(why, why_part);
}

static void
test_url_attacks(void)
{
	struct policy p;

	is_str(norm("https://api.stripe.com.evil.net/v1/x"),
	    "https://api.stripe.com.evil.net/v1/x", "a trusted name as a "
	    "prefix of another host stays that other host");
	ok(refused("https://api.stripe.com@evil.net/v1/x", "userinfo"),
	    "userinfo before the host is refused");
	ok(refused("https://u:p@api.stripe.com/v1/x", "userinfo"),
	    "a user and password are refused");
	is_str(norm("https://evil.net#@api.stripe.com/v1/x"),
	    "https://evil.net/", "an '@' after '#' is a fragment: the host "
	    "is evil.net and the fragment is dropped");
	is_str(norm("https://API.STRIPE.COM/v1/x"), "https://api.stripe.com/v1/x",
	    "the host is lower-cased");
	is_str(norm("HTTPS://api.stripe.com/v1/x"),
	    "https://api.stripe.com/v1/x", "the scheme is lower-cased");
	is_str(norm("https://api.stripe.com:443/v1/x"),
	    "https://api.stripe.com/v1/x", "the default port is dropped");
	is_str(norm("https://api.stripe.com:08443/v1/x"),
	    "https://api.stripe.com:8443/v1/x", "a port with a leading zero "
	    "is read as decimal");
	is_str(norm("https://api.stripe.com/v1/../admin"),
	    "https://api.stripe.com/admin", "a dot segment is resolved before "
	    "matching");
	is_str(norm("https://api.stripe.com/v1/./x/."),
	    "https://api.stripe.com/v1/x/", "'.' segments are removed");
	ok(refused("https://api.stripe.com/v1/%2e%2e/admin", ". or .."),
	    "an encoded '..' segment is refused");
	ok(refused("https://api.stripe.com/v1/%2E%2e%2Fadmin", ". or .."),
	    "an encoded '..' with an encoded '/' is refused");
	ok(refused("https://api.stripe.com/v1/%252e%252e/admin", ". or .."),
	    "a doubly encoded '..' is refused");
	ok(refused("https://api.stripe.com/v1/..;/admin", ". or .."),
	    "'..;' (read as '..' by some servers) is refused");
	ok(refused("https://api.stripe.com/v1/..%5cadmin", ". or .."),
	    "'..' before an encoded backslash is refused");
	ok(refused("https://api.stripe.com/v1\\..\\admin", ". or .."),
	    "'..' between backslashes is refused");
	ok(refused("https://api.stripe.com/v1/x%00.json", "NUL"),
	    "an encoded NUL in the path is refused");
	ok(refused("https://api.stripe.com/v1/%zz", "escape"),
	    "a '%%' that starts no escape is refused in the path");
	is_str(norm("https://api.stripe.com/v1/a%2fb?q=%2f"),
	    "https://api.stripe.com/v1/a%2Fb?q=%2F", "escapes are written "
	    "in upper case");
	ok(refused("https://api.stripe.com/v1/\tx", "control character"),
	    "a tab in a URL is refused");
	ok(refused("https://api.stripe.com/v1/x\n", "control character"),
	    "a newline in a URL is refused");
	ok(refused("https://api.stripe.com/v1/x\r", "control character"),
	    "a carriage return in a URL is refused");
	ok(refused("https://api.stripe.com/v1/a b", "a space"),
	    "a space in a URL is refused");
	ok(refused(" https://api.stripe.com/", "a space"),
	    "a leading space is refused");
	ok(refused("https://api.stripe.com/\xc3\xa9", "not ASCII"),
	    "a non-ASCII byte is refused");
	{
		static const char nul[] = "https://api.stripe.com/v1/x\0@evil";
		struct url u;
		char why[256];

		ok(url_parsen(nul, sizeof nul - 1, &u, why, sizeof why) < 0 &&
		    has(why, "a NUL"), "a NUL inside the URL's bytes is refused");
	}
	is_str(norm("http://[::1]/x"), "http://[::1]/x", "an IPv6 literal "
	    "keeps its brackets");
	is_str(norm("http://[0:0:0:0:0:0:0:1]:80/x"), "http://[::1]/x",
	    "an IPv6 literal is written in its canonical form");
	is_str(norm("http://[::FFFF:127.0.0.1]/"), "http://[::ffff:127.0.0.1]/",
	    "an IPv4-mapped IPv6 literal stays IPv6");
	ok(refused("http://[fe80::1%25eth0]/", "zone"), "an IPv6 zone id is "
	    "refused");
	is_str(norm("http://2130706433/"), "http://127.0.0.1/", "an IPv4 "
	    "address as one decimal number is normalized to dotted quad");
	is_str(norm("http://0x7f.1/"), "http://127.0.0.1/", "a hex IPv4 "
	    "address is normalized");
	is_str(norm("http://0177.0.0.1/"), "http://127.0.0.1/", "an octal "
	    "IPv4 address is normalized");
	is_str(norm("http://127.1/"), "http://127.0.0.1/", "a short IPv4 "
	    "address is normalized");
	ok(refused("http://1.2.3.4.5/", "dotted-quad"), "five numbers are "
	    "no IPv4 address and no name");
	ok(refused("http://999.1.1.1/", "dotted-quad"), "a host that ends "
	    "in a number but is no address is refused");
	is_str(norm("https://api.stripe.com./v1/x"),
	    "https://api.stripe.com/v1/x", "one final dot of a host is "
	    "dropped");
	ok(refused("https://api.stripe.com../v1/x", "label"), "two final dots "
	    "are refused");
	is_str(norm("https://%61pi.stripe.com/"), "https://api.stripe.com/",
	    "an encoded host is decoded");
	ok(refused("https://\xc3\xa9xample.com/", "not ASCII"), "a raw "
	    "international host is refused");
	ok(refused("ftp://api.stripe.com/", "http:// or https://"),
	    "an ftp URL is refused");
	ok(refused("javascript:alert(1)", "http:// or https://"),
	    "a javascript: URL is refused");
	ok(refused("https:///x", "no host"), "'https:///x' has an empty host "
	    "and is refused");
	ok(refused("https://:443/", "no host"), "a URL with a port but no host "
	    "is refused");
	ok(refused("https:/api.stripe.com/", "http:// or https://"), "a "
	    "scheme with one slash is refused");
	ok(refused("https://h\\x/y", ""), "a backslash in the host is "
	    "refused");
	ok(refused("https://api.stripe.com:0/", "port"), "port 0 is refused");
	ok(refused("https://api.stripe.com:99999/", "65535"), "a port past "
	    "65535 is refused");
	ok(refused("https://api.stripe.com:-1/", "65535"), "a negative port "
	    "is refused");

	if (load_rules(&p, http_policy) < 0)
		return;
	ok(!http_ok(&p, "pay/x", "GET", "https://api.stripe.com.evil.net/v1/x"),
	    "api.stripe.com.evil.net is not api.stripe.com");
	ok(!http_ok(&p, "pay/x", "GET", "https://evil.net#@api.stripe.com/v1/"),
	    "a fragment cannot smuggle a trusted host");
	ok(http_ok(&p, "pay/x", "GET", "https://API.STRIPE.COM/v1/x"),
	    "a host in upper case matches its pattern");
	ok(http_ok(&p, "pay/x", "GET", "https://api.stripe.com:443/v1/x"),
	    "the default port written out matches a pattern without a port");
	ok(!http_ok(&p, "pay/x", "GET", "https://api.stripe.com/v1/../admin"),
	    "a dot segment cannot climb out of the pattern's path");
	ok(!http_ok(&p, "pay/x", "GET", "https://api.stripe.com/v1/%2e%2e/a"),
	    "an encoded dot segment cannot climb out either");
	ok(!http_ok(&p, "pay/x", "GET", "http://2130706433:8080/x"),
	    "a decimal loopback address matches only patterns of 127.0.0.1");
	ok(http_ok(&p, "pay/x", "GET", "http://2130706433:8080/hooks/a"),
	    "a decimal 127.0.0.1 is the same address as the literal pattern");
	ok(http_ok(&p, "pay/x", "PUT", "http://[0::1]/v6/a"), "an IPv6 "
	    "address matches a pattern of the same address in another form");
	ok(!http_ok(&p, "pay/x", "PUT", "http://[::ffff:127.0.0.1]/v6/a"),
	    "an IPv4-mapped address does not match ::1");
	ok(http_ok(&p, "pay/x", "GET", "https://api.stripe.com./v1/x"),
	    "a host with a final dot matches its pattern");
	policy_free(&p);
}

static void
test_url_idempotent(void)
{
	static const char *const urls[] = {
		"https://API.stripe.com:443/v1/../x?a=%2f#f",
		"http://0x7f.1:8080/hooks/a",
		"http://[0:0::1]/x?y",
		"https://a.corp.example./p/./q/",
		"https://h.example/?",
		"https://h.example",
		"http://[::FFFF:127.0.0.1]:8080/%7e%2f?q=%2f",
		"https://h.example/a%2fb/%41",
	};
	int all = 1;

	for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
		char once[URL_MAX + 1];

		snprintf(once, sizeof once, "%s", norm(urls[i]));
		all &= strcmp(norm(once), once) == 0;
		if (strcmp(norm(once), once) != 0)
			diag("%s -> %s -> %s", urls[i], once, norm(once));
	}
	ok(all, "a normalized URL normalizes to itself");
	all = 1;
	for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
		const char *n = norm(urls[i]);
		CURLU *h = curl_url();
		char *text = NULL;

		if (h == NULL || curl_url_set(h, CURLUPART_URL, n, 0) != 0 ||
		    curl_url_get(h, CURLUPART_URL, &text, 0) != 0 ||
		    strcmp(text, n) != 0) {
			diag("%s: curl writes %s", n, text ? text : "nothing");
			all = 0;
		}
		curl_free(text);
		curl_url_cleanup(h);
	}
	ok(all, "a normalized URL is written as libcurl writes it, so the "
	    "HTTP engine takes it as it is");
	is_str(norm("https://h.example"), "https://h.example/", "a URL without "
	    "a path gets '/'");
}

static void
test_url_patterns(void)
{
	struct policy p;

	if (load_rules(&p, http_policy) < 0)
		return;
	ok(http_ok(&p, "pay/x", "GET", "https://a.corp.example/x"),
	    "'*.corp.example' matches one label before it");
	ok(http_ok(&p, "pay/x", "GET", "https://a.b.corp.example/x"),
	    "'*.corp.example' matches several labels before it");
	ok(!http_ok(&p, "pay/x", "GET", "https://corp.example/x"),
	    "'*.corp.example' does not match the bare domain");
	ok(!http_ok(&p, "pay/x", "GET", "https://evilcorp.example/x"),
	    "'*.corp.example' does not match a name ending in corp.example");
	ok(!http_ok(&p, "pay/x", "GET", "https://a.corp.example.evil/x"),
	    "'*.corp.example' does not match a name continuing past it");
	ok(http_ok(&p, "pay/x", "PUT", "https://any.example:1/x") &&
	    http_ok(&p, "pay/x", "PUT", "https://any.example/x"),
	    "':*' matches any port, the default included");
	ok(http_ok(&p, "pay/x", "GET", "https://port.example:8443/a") &&
	    !http_ok(&p, "pay/x", "GET", "https://port.example/a"),
	    "an explicit port matches that port only");
	ok(!http_ok(&p, "pay/x", "GET", "https://api.stripe.com:8443/v1/x"),
	    "a pattern without a port matches the default port only");
	ok(http_ok(&p, "pay/x", "GET", "https://api.stripe.com/v1/a/b?c=d/e"),
	    "'*' in a path matches across '/' and into the query");
	ok(http_ok(&p, "pay/x", "GET", "https://exact.example/v1/charges"),
	    "a path without '*' matches itself");
	ok(!http_ok(&p, "pay/x", "GET", "https://exact.example/v1/charges?x=1"),
	    "a path without '*' does not match it with a query");
	ok(!http_ok(&p, "pay/x", "GET", "https://exact.example/v1/chargesX"),
	    "a path without '*' does not match a longer path");
	ok(!http_ok(&p, "pay/x", "GET", "https://exact.example/V1/charges"),
	    "paths are matched case-sensitively");
	ok(!http_ok(&p, "pay/x", "GET", "http://api.stripe.com/v1/x"),
	    "an https pattern does not match http");
	policy_free(&p);
	ok(url_glob("/a*b*c", "/axxbyyc") && !url_glob("/a*b*c", "/axxbyy") &&
	    url_glob("*", "") && url_glob("/**", "/x"),
	    "globs with several stars match as they should");
}

/* ---- kv, secrets, log ---- */

static const char kv_policy[] =
    "rule \"pay/*\" {\n"					/* 4 */
    "\tallow kv read \"payments:\"\n"				/* 5 */
    "\tallow kv write \"payments:cache:\"\n"			/* 6 */
    "\tallow kv read write \"shared:\" \"common:\"\n"		/* 7 */
    "\tallow kv read \"read\"\n"				/* 8 */
    "\tallow secret \"stripe_key\" \"webhook_secret\"\n"	/* 9 */
    "\tallow log\n"						/* 10 */
    "}\n";

static void
test_kv(void)
{
	struct policy p;
	struct cap_decision d;

	if (load_rules(&p, kv_policy) < 0)
		return;
	ok(kv_ok(&p, "payments:x", 0), "kv read allows a get under its "
	    "prefix");
	kv_call(&p, "pay/x", "payments:x", 10, 1, &d);
	ok(!d.allowed && has(d.why, "nearest: line 5 wants access read under "
	    "prefix payments:, not a write"), "kv read does not allow a "
	    "write, and says so");
	ok(kv_ok(&p, "payments:cache:y", 1), "kv write allows a write under "
	    "its prefix");
	ok(kv_ok(&p, "payments:cache:y", 0), "a read under the write prefix "
	    "is allowed by the read prefix around it");
	ok(kv_ok(&p, "shared:a", 0) && kv_ok(&p, "shared:a", 1) &&
	    kv_ok(&p, "common:b", 1), "kv read write allows both, under each "
	    "of its prefixes");
	kv_call(&p, "pay/x", "other:x", 7, 0, &d);
	ok(!d.allowed && has(d.why, "wants prefix payments:, not key other:x"),
	    "a key under no prefix is denied, naming the prefix");
	ok(!kv_ok(&p, "payments", 0), "a key shorter than the prefix is "
	    "denied");
	ok(!kv_ok(&p, "", 0), "an empty key is denied");
	ok(kv_ok(&p, "read:1", 0), "a quoted prefix may be the word read");
	kv_call(&p, "pay/x", "payments:\0x", 11, 0, &d);
	ok(d.allowed, "a key is compared as bytes, by its length");
	kv_call(&p, "pay/x", "pay\0ments:", 10, 0, &d);
	ok(!d.allowed && has(d.why, "pay\\x00ments:"), "a NUL in a key is "
	    "shown escaped in the reason, and does not match");
	kv_call(&p, "pay/x", NULL, 0, 0, &d);
	ok(!d.allowed, "a kv call without a key is denied");
	kv_call(&p, "zzz", "payments:x", 10, 0, &d);
	ok(!d.allowed && has(d.why, "no allow statement for kv matches rule "
	    "zzz"), "kv of a rule with no block is denied by default");
	policy_free(&p);
}

static void
test_secret_log(void)
{
	struct policy p;
	struct cap_decision d;
	struct cap_call log = { .cap = CAP_LOG, .rule = "pay/x" };

	if (load_rules(&p, kv_policy) < 0)
		return;
	secret_call(&p, "pay/x", "webhook_secret", &d);
	ok(d.allowed && d.line == 9, "a secret named by an allow secret is "
	    "allowed");
	secret_call(&p, "pay/x", "stripe_key2", &d);
	ok(!d.allowed && has(d.why, "wants name stripe_key"), "a secret's name "
	    "must match exactly, and the reason says name");
	secret_call(&p, "pay/x", "stripe", &d);
	ok(!d.allowed, "a prefix of a secret's name is not the secret");
	secret_call(&p, "pay/x", NULL, &d);
	ok(!d.allowed, "a secret call without a name is denied");
	policy_decide(&p, &log, &d);
	ok(d.allowed && d.line == 10, "allow log allows log calls");
	log.rule = "other";
	policy_decide(&p, &log, &d);
	ok(!d.allowed && has(d.why, "no allow statement for log"), "log is "
	    "denied by default too");
	policy_free(&p);
}

/* ---- quotas ---- */

static const char quota_policy[] =
    "pool shared {\n"						/* 1 */
    "\trules \"pool/*\"\n"
    "\tquota http 3 per 1m\n"					/* 3 */
    "}\n"
    "pool all {\n"
    "\trules \"**\"\n"
    "}\n"
    "rule \"inv/*\" {\n"					/* 8 */
    "\tallow http GET \"https://x.example/*\"\n"
    "\tquota http 2 per invocation\n"				/* 10 */
    "\tquota calls 3 per invocation\n"				/* 11 */
    "\tallow kv read \"k\"\n"
    "}\n"
    "rule \"win/*\" {\n"
    "\tquota http 3 per 1m\n"					/* 15 */
    "}\n"
    "rule \"win/*\" \"both/*\" {\n"
    "\tquota http 5 per 1m\n"					/* 18 */
    "}\n"
    "rule \"log/*\" {\n"
    "\tallow log rate 2 per 1s\n"				/* 21 */
    "}\n";

static int
charge_in(struct quota_book *b, const struct policy *p, const char *rule,
    const char *pool, enum cap_kind cap, uint64_t now,
    struct quota_inv *inv, struct cap_decision *d)
{
	struct cap_call c = { .cap = cap, .rule = rule, .pool = pool };

	memset(d, 0, sizeof *d);
	d->allowed = 1;
	return quota_charge(b, p, &c, now, inv, d);
}

static int
charge(struct quota_book *b, const struct policy *p, const char *rule,
    enum cap_kind cap, uint64_t now, struct quota_inv *inv,
    struct cap_decision *d)
{
	return charge_in(b, p, rule, NULL, cap, now, inv, d);
}

/* How many calls pass before the first refusal, up to max. */
static int
passes(struct quota_book *b, const struct policy *p, const char *rule,
    enum cap_kind cap, uint64_t now, struct quota_inv *inv, int max,
    struct cap_decision *d)
{
	int n = 0;

	while (n < max && charge(b, p, rule, cap, now, inv, d) == 0)
		n++;
	return n;
}

static void
test_quota_invocation(const struct policy *p, struct quota_book *b)
{
	struct quota_inv inv;
	struct cap_decision d;

	quota_inv_reset(&inv);
	is_int(passes(b, p, "inv/a", CAP_HTTP, T0, &inv, 10, &d), 2,
	    "a per-invocation quota lets its number of calls through");
	ok(!d.allowed && d.line == 10 && has(d.why, "over quota: line 10 "
	    "(quota http 2 per invocation): 2 of 2 calls used in this "
	    "invocation"), "the call past it is refused, naming the line");
	is_int(inv.calls[CAP_HTTP], 2, "a refused call is not counted");
	quota_inv_reset(&inv);
	ok(charge(b, p, "inv/a", CAP_HTTP, T0, &inv, &d) == 0, "the next "
	    "invocation starts from zero");
	ok(charge(b, p, "inv/a", CAP_KV, T0, &inv, &d) == 0, "a kv call passes "
	    "an http quota");
	ok(inv.calls[CAP_HTTP] == 1 && inv.calls[CAP_KV] == 1 &&
	    inv.calls[POLICY_CALLS] == 2, "each capability is counted apart, "
	    "and calls counts them all");
	ok(charge(b, p, "inv/a", CAP_KV, T0, &inv, &d) == 0 &&
	    charge(b, p, "inv/a", CAP_KV, T0, &inv, &d) < 0 && d.line == 11,
	    "a calls quota refuses the call past its number, of any "
	    "capability");
	is_int(quota_book_count(b), 0, "per-invocation quotas keep nothing in "
	    "the book");
}

static void
test_quota_window(const struct policy *p, struct quota_book *b)
{
	struct quota_inv inv;
	struct cap_decision d;
	uint64_t t = T0 + 10 * SEC;

	quota_inv_reset(&inv);
	is_int(passes(b, p, "win/a", CAP_HTTP, t, &inv, 10, &d), 3,
	    "two window quotas on the same calls count each call once: the "
	    "smaller one decides");
	ok(d.line == 15 && has(d.why, "3 of 3 calls used by rule win/a in "
	    "this 1m window"), "the refusal names the window quota's line and "
	    "the rule");
	ok(charge(b, p, "win/a", CAP_HTTP, T0 + 59 * SEC + 999999, &inv, &d) < 0,
	    "the window holds until its last microsecond");
	ok(charge(b, p, "win/a", CAP_HTTP, T0 + 60 * SEC, &inv, &d) == 0,
	    "a fixed window starts afresh at a multiple of its length");
	is_int(passes(b, p, "win/b", CAP_HTTP, t, &inv, 10, &d), 3,
	    "each rule a rule block matches has a counter of its own");
	is_int(passes(b, p, "both/a", CAP_HTTP, t, &inv, 10, &d), 5,
	    "a rule matching only the larger quota gets its number");
	ok(charge(b, p, "win/c", CAP_KV, t, &inv, &d) == 0, "a window quota "
	    "on http does not count kv");
}

static void
test_quota_pool(const struct policy *p, struct quota_book *b)
{
	struct quota_inv inv;
	struct cap_decision d;

	quota_inv_reset(&inv);
	ok(charge(b, p, "pool/a", CAP_HTTP, T0, &inv, &d) == 0 &&
	    charge(b, p, "pool/a", CAP_HTTP, T0, &inv, &d) == 0 &&
	    charge(b, p, "pool/b", CAP_HTTP, T0, &inv, &d) == 0,
	    "a pool's quota lets its number through, from any of its rules");
	ok(charge(b, p, "pool/c", CAP_HTTP, T0, &inv, &d) < 0 && d.line == 3 &&
	    has(d.why, "by the rules of pool shared in this 1m window"),
	    "the pool's rules share one counter, and the refusal says so");
	ok(charge_in(b, p, "pool/c", "all", CAP_HTTP, T0, &inv, &d) == 0,
	    "the pool the broker names is the one counted");
	ok(charge_in(b, p, "pool/c", "gone", CAP_HTTP, T0, &inv, &d) < 0 &&
	    d.line == 3, "a pool the policy no longer names is counted as the "
	    "pool that runs the rule now");
	ok(charge_in(b, p, NULL, NULL, CAP_HTTP, T0, &inv, &d) < 0 &&
	    charge_in(b, p, "pool/a", NULL, CAP_KIND_COUNT, T0, &inv, &d) < 0,
	    "a charge without a rule or a capability is refused");
}

static void
test_quota_log(const struct policy *p, struct quota_book *b)
{
	struct quota_inv inv;
	struct cap_decision d;

	quota_inv_reset(&inv);
	is_int(passes(b, p, "log/a", CAP_LOG, T0, &inv, 10, &d), 2,
	    "a log rate lets its number through in a window");
	ok(d.line == 21 && has(d.why, "allow log rate 2 per 1s"), "the log "
	    "rate's refusal names the allow statement");
	ok(charge(b, p, "log/a", CAP_LOG, T0 + SEC, &inv, &d) == 0, "the log "
	    "rate allows again in the next second");
}

static void
test_quota_eviction(const struct policy *p)
{
	struct quota_book *b = quota_book_new_max(2), *big;
	struct quota_inv inv;
	struct cap_decision d;
	size_t most = 0;

	quota_inv_reset(&inv);
	ok(b != NULL && charge(b, p, "win/a", CAP_HTTP, T0, &inv, &d) == 0 &&
	    charge(b, p, "win/b", CAP_HTTP, T0, &inv, &d) == 0,
	    "a small book takes counters up to its size");
	is_int(quota_book_count(b), 2, "two window quotas on the same calls "
	    "of a rule share one counter");
	quota_book_free(b);

	b = quota_book_new_max(2);
	ok(charge(b, p, "log/a", CAP_LOG, T0, &inv, &d) == 0 &&
	    charge(b, p, "log/b", CAP_LOG, T0, &inv, &d) == 0,
	    "two counters fill a book of two");
	ok(charge(b, p, "log/c", CAP_LOG, T0, &inv, &d) < 0 &&
	    has(d.why, "quota book is full"), "a full book of live counters "
	    "refuses rather than forget a count");
	ok(charge(b, p, "log/c", CAP_LOG, T0 + SEC, &inv, &d) == 0 &&
	    quota_book_count(b) == 1, "once their window has passed, idle "
	    "counters are evicted to make room");
	quota_sweep(b, T0 + 2 * SEC);
	is_int(quota_book_count(b), 0, "a sweep evicts every counter whose "
	    "window has passed");
	quota_book_free(b);

	big = quota_book_new();
	for (int i = 0; i < 20000; i++) {
		char rule[32];

		snprintf(rule, sizeof rule, "log/r%d", i);
		if (charge(big, p, rule, CAP_LOG, T0 + (uint64_t)i * SEC, &inv,
		    &d) < 0)
			break;
		if (quota_book_count(big) > most)
			most = quota_book_count(big);
	}
	ok(most <= 2048, "with ever new rule names, the book stays bounded "
	    "(%zu counters at most)", most);
	quota_book_free(big);
}

static void
test_quotas(void)
{
	struct policy p;
	struct quota_book *b;

	if (load(&p, quota_policy) < 0) {
		diag("%s", err);
		return;
	}
	b = quota_book_new();
	test_quota_invocation(&p, b);
	test_quota_window(&p, b);
	test_quota_pool(&p, b);
	test_quota_log(&p, b);
	quota_book_free(b);
	test_quota_eviction(&p);
	policy_free(&p);
}

int
main(void)
{
	test_cap_names();
	test_errors_allow();
	test_errors_url();
	test_errors_quota();
	test_errors_blocks();
	test_decide_http();
	test_decide_private();
	test_url_attacks();
	test_url_idempotent();
	test_url_patterns();
	test_kv();
	test_secret_log();
	test_quotas();
	return done_testing();
}
