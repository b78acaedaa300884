/*
 * proto.h: every message of moonbox's internal protocols, in one place.
 *
 * Channels are stream sockets (socketpairs). A frame is a 4-byte big-endian
 * length, then that many bytes holding exactly one msgpack array whose first
 * element is the message type. Decoding is strict, in this order: the length
 * is capped, a frame too short or with bytes left over is refused, then the
 * array's length and each field's type are checked, then the meaning
 * (msg.c). A message not permitted to its sender, or in the current phase,
 * ends the channel: the sender is killed and replaced.
 *
 * Numbering: the hundreds say who sends to whom.
 *   1xx master -> worker	2xx worker -> master
 *   3xx master -> spawner	4xx spawner -> master
 *
 * The client protocol (msgpack-RPC on the daemon's sockets) is not framed
 * this way; its methods are in rpc.c and moonboxd(8).
 */
#ifndef MB_PROTO_H
#define MB_PROTO_H

#define PROTO_FRAME_HEADER	4
#define PROTO_FRAME_MAX		(40u << 20)	/* input 16M + rule + slack */
#define PROTO_NAME_MAX		255		/* rule and pool names */
#define PROTO_ID_MAX		64		/* invocation ids */

enum proto_type {
	/*
	 * master -> worker: run one invocation.
	 * [100, id:str, rule:str, source:str, input:bin (one msgpack value;
	 *  empty: nil), limits:[memory, instructions, timeout_us, output, log]
	 *  (all uint)]
	 * Reply: PROTO_WK_RESULT with the same id. Permitted only when the
	 * worker is idle (it has sent READY or its last RESULT).
	 */
	PROTO_WK_INVOKE = 100,

	/*
	 * worker -> master: contained, a sandbox prepared, ready for work.
	 * [200]
	 * Sent once, first. The master knows the worker's pid from the
	 * spawner, never from the worker.
	 */
	PROTO_WK_READY = 200,

	/*
	 * worker -> master: the outcome of PROTO_WK_INVOKE.
	 * [201, id:str, kind:str, message:str, result:bin (empty unless ok),
	 *  usage:[instructions:uint|nil, memory:uint, cpu_us:uint,
	 *         wall_us:uint, log_dropped:uint],
	 *  log:[line:bin, ...]]
	 * Permitted only while an invocation is out, with its id.
	 */
	PROTO_WK_RESULT = 201,

	/*
	 * worker -> master: containment failed; the worker exits after it.
	 * [202, message:str]
	 * Permitted only before READY.
	 */
	PROTO_WK_FAILED = 202,

	/*
	 * master -> spawner: start a worker. One descriptor travels with it
	 * (SCM_RIGHTS): the worker's end of its master channel.
	 * [300, worker:uint, pool:str, uid:uint, gid:uint, chroot:str,
	 *  address_space:uint, cpu_seconds:uint]
	 * Reply: PROTO_SP_SPAWNED. uid, gid and chroot apply only when the
	 * spawner runs as root; 0, 0 and "" otherwise.
	 */
	PROTO_SP_SPAWN = 300,

	/*
	 * spawner -> master: the worker was forked.
	 * [400, worker:uint, pid:uint]
	 * The worker is then the master's child (the master is a
	 * subreaper and the spawner forks twice), so the master reaps it.
	 */
	PROTO_SP_SPAWNED = 400,

	/*
	 * spawner -> master: the fork failed.
	 * [401, worker:uint, message:str]
	 */
	PROTO_SP_FAILED = 401,
};

#endif
