/*
 * runopt.h: the options of `moonbox run` and how a rule file and its input
 * become an inv_request (runopt.c). t/runseq shares them.
 */
#ifndef MB_RUNOPT_H
#define MB_RUNOPT_H

#include <stdio.h>

#include <msgpack.h>

#include "invoke.h"

struct runopt {
	struct lim_config	 limits;
	msgpack_sbuffer		 input;		/* empty: nil */
	int			 json;		/* --json */
	int			 stats;		/* --stats */
	int			 help, version;
};

/* Parse argv from optind; on error print `moonbox: …` and return -1. */
int	runopt_parse(int, char **, struct runopt *);
void	runopt_free(struct runopt *);
/* Read a rule file into a request (name, chunkname, source). The outcome
 * gets not_found or bad_request on failure. */
int	runopt_rule(const char *, struct inv_request *, char **,
	    struct inv_outcome *);
void	runopt_request(struct runopt *, struct inv_request *);
void	runopt_usage(FILE *);

#endif
