/* sdnotify.h: READY=1, RELOADING=1, STOPPING=1 to systemd (sdnotify.c). */
#ifndef MB_SDNOTIFY_H
#define MB_SDNOTIFY_H

void	sd_tell(const char *);

#endif
