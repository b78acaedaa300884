/*
 * runopt.h: the options of `moonbox run` and how a rule file and its input
 * become an inv_request (runopt.c). t/runseq shares them.
 */
#ifndef MB_RUNOPT_H
#define MB_RUNOPT_H

#include <stdio.h>

#include <msgpack.h>

#include "invoke.h"

/* Which limits were given on the command line (moonbox call sends only
 * those). */
#define RUNOPT_GIVEN_MEMORY		0x01
#define RUNOPT_GIVEN_INSTRUCTIONS	0x02
#define RUNOPT_GIVEN_TIMEOUT		0x04
#define RUNOPT_GIVEN_OUTPUT		0x08
#define RUNOPT_GIVEN_LOG		0x10

struct runopt {
	struct lim_config	 limits;
	msgpack_sbuffer		 input;		/* empty: nil */
	int			 json;		/* --json */
	int			 stats;		/* --stats */
	int			 help, version;
	const char		*socket;	/* --socket (moonbox call) */
	const char		*token_file;	/* --token-file (moonbox call) */
	int			 record;	/* --record (moonbox call) */
	unsigned		 given;		/* RUNOPT_GIVEN_* */
	char			 error[512];	/* why runopt_parse failed */
};

/* Parse argv from optind; on error print `moonbox: …` and return -1. */
int	runopt_parse(int, char **, struct runopt *);
void	runopt_free(struct runopt *);
int	runopt_report(const struct runopt *, int, char **);
/* Read a rule file into a request (name, chunkname, source). The outcome
 * gets not_found or bad_request on failure. */
int	runopt_rule(const char *, struct inv_request *, char **,
	    struct inv_outcome *);
void	runopt_request(struct runopt *, struct inv_request *);
void	runopt_usage(FILE *);

#endif
