/*
 * broker.h: the broker process (broker.c), the one process that performs
 * privileged operations: it checks each capability call of a worker
 * against the policy, performs it on its event loop, answers, and writes
 * one audit record per decision. The master starts it by executing its own
 * binary afresh.
 */
#ifndef MB_BROKER_H
#define MB_BROKER_H

#define BROKER_ARG	"--broker"

/* chan: to the master; conf: moonboxd.conf; whether to log to standard
 * error (else syslog). Never returns. */
void	broker_main(int, const char *, int) __attribute__((noreturn));

#endif
