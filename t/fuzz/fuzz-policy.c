/*
 * fuzz-policy.c: policy text through policy_parse (conf.c's LPeg grammar,
 * then policy.c's tables), as moonboxd and `moonbox policy check` read an
 * operator's file. A text either loads or is refused with a message of the
 * form path:line:col: or path:; a policy that loads is judged: a pool is
 * found for a few rule names and a few capability calls are decided, and
 * everything is freed.
 */
#include <stdlib.h>
#include <string.h>

#include "cap.h"
#include "fuzz.h"
#include "policy.h"
#include "utf8.h"

#define FUZZ_PATH	"fuzz.policy"

static void
fuzz_cap_call(struct cap_call *c, int kind, const char *target, int write)
{
	c->cap = (enum cap_kind)kind;
	c->write = write;
	switch (c->cap) {
	case CAP_HTTP:
		c->method = write ? "POST" : "GET";
		c->url = target;
		break;
	case CAP_KV:
		c->key = target;
		c->keylen = strlen(target);
		break;
	case CAP_SECRET:
		c->secret = target;
		break;
	default:
		break;
	}
}

static void
fuzz_judge(const struct policy *p)
{
	static const char *const rules[] = {
		"payments/fraud", "a", "a/b/c", "x.y-z_1"
	};
	static const struct { int kind; const char *target; int write; }
	    calls[] = {
		{ CAP_HTTP, "https://api.example.com/v1/charge", 0 },
		{ CAP_HTTP, "http://127.0.0.1:8080/", 0 },
		{ CAP_KV, "payments:card:42", 1 },
		{ CAP_KV, "x", 0 },
		{ CAP_SECRET, "stripe", 0 },
		{ CAP_LOG, "", 0 },
	};

	for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
		const struct pool_conf *pc = policy_pool_for(p, rules[i]);

		for (size_t k = 0; k < sizeof calls / sizeof calls[0]; k++) {
			struct cap_call c;
			struct cap_decision d;

			memset(&c, 0, sizeof c);
			c.rule = rules[i];
			c.pool = pc != NULL ? pc->name : "default";
			fuzz_cap_call(&c, calls[k].kind, calls[k].target,
			    calls[k].write);
			policy_decide(p, &c, &d);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy p;
	char err[1024];

	memset(&p, 0, sizeof p);
	err[0] = '\0';
	if (policy_parse(FUZZ_PATH, (const char *)data, size, &p, err,
	    sizeof err) < 0) {
		FUZZ_ASSERT(strncmp(err, FUZZ_PATH ":", strlen(FUZZ_PATH) + 1)
		    == 0, "a refusal that does not name the file: %s", err);
		return 0;
	}
	fuzz_judge(&p);
	policy_free(&p);
	return 0;
}
