/* report.h: an outcome as moonbox(1) prints it (report.c). */
#ifndef MB_REPORT_H
#define MB_REPORT_H

#include <stdio.h>

#include <jansson.h>

#include "invoke.h"

/* The result as JSON text (malloc'ed); on failure the outcome turns into an
 * `output` error and NULL is returned. */
char	*report_result(struct inv_outcome *);
/* The --json object: {"ok":…,"result"|"error":…,"usage":{…},"log":[…]}. */
char	*report_json(struct inv_outcome *);
void	 report_log(FILE *, const struct inv_outcome *);
void	 report_stats(FILE *, const struct inv_outcome *);
/* Milliseconds as a JSON real, to the microsecond. */
json_t	*report_ms(double);

#endif
