/*
 * replay.h: running a recording again (replay.c), for `moonbox replay`.
 * The rule runs in a contained worker, as `moonbox run` does, with the
 * recorded input, limits and math.random seed; its capability calls are
 * answered here from the recording, in order, each only if it matches the
 * recorded call; then the outcome is compared with the recorded one.
 */
#ifndef MB_REPLAY_H
#define MB_REPLAY_H

#include <stddef.h>

#include <jansson.h>

#include "invoke.h"
#include "record.h"

#define REPLAY_MAX_DIFFS	20	/* differences listed */
#define REPLAY_TEXT_MAX		160	/* bytes of a value in a message */

/* One difference: what differs, a line for people, and both sides. */
struct replay_diff {
	const char	*what;		/* kind message value log calls */
	char		*text;
	json_t		*recorded;	/* NULL when not a value */
	json_t		*now;
};

struct replay {
	const struct recording	*rec;
	struct rec_secrets	 secrets;	/* the recording's, known */
	size_t			 made;		/* calls the rule made */
	int			 diverged;	/* a call differed or was extra */
	char			 mismatch[1024];
	struct replay_diff	 diffs[REPLAY_MAX_DIFFS];
	int			 ndiffs, more;	/* more: left out */
};

/* secrets: values of the recording's redacted secrets to give the rule
 * (names it does not list are ignored); NULL: placeholders stay. */
int	replay_init(struct replay *, const struct recording *,
	    const struct rec_secrets *);
/* Run the recorded source, or source when not NULL. */
void	replay_run(struct replay *, const char *, size_t, struct inv_outcome *);
/* The differences from the recorded outcome; 0 when there are none. */
int	replay_compare(struct replay *, const struct inv_outcome *);
void	replay_free(struct replay *);
/* cap.method(args) as a rule wrote it, shortened. */
char	*replay_call_text(const char *, const char *, const json_t *);

#endif
