/* coro.h: the sandbox's coroutine switches, accounted (coro.c). */
#ifndef MB_CORO_H
#define MB_CORO_H

#include <lua.h>

void	coro_patch(lua_State *, int);

#endif
