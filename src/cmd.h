/*
 * cmd.h: the commands of moonbox(1), one file each (cmd_*.c), listed in one
 * table in moonbox.c.
 */
#ifndef MB_CMD_H
#define MB_CMD_H

struct cmd_entry {
	const char	*name;
	const char	*summary;
	int		(*exec)(int, char **);	/* argv[0] is the command */
};

int	cmd_run(int, char **);
int	cmd_test(int, char **);
int	cmd_call(int, char **);
int	cmd_ctl(int, char **);
int	cmd_policy(int, char **);
int	cmd_replay(int, char **);
int	cmd_check(int, char **);

/* A socket path: the option, else the environment variable, else the
 * default. */
const char *call_socket(const char *, const char *, const char *);
/* Connect, and present the token if one is given (the option, else
 * $MOONBOX_TOKEN_FILE). NULL after printing why; *status the exit status. */
struct mb_client *call_connect(const char *, const char *, int *);

#endif
