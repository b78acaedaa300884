/*
 * spawner.h: the process that forks workers (spawner.c). The master starts
 * it by executing its own binary afresh, so a worker begins from a clean
 * image that has never held a request, a rule or another tenant's data.
 */
#ifndef MB_SPAWNER_H
#define MB_SPAWNER_H

#define SPAWNER_FD	3	/* its channel, in the new image */
#define SPAWNER_ARG	"--spawner"

void	spawner_main(int) __attribute__((noreturn));

#endif
