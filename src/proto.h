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
 *   5xx master -> broker	6xx broker -> master
 *   7xx worker -> broker	8xx broker -> worker
 *   9xx moonbox test's parent and its workers: tester.h, a tool's own
 *       channel that no daemon process speaks
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
	 *  empty: nil), limits:[memory, instructions, timeout_us, output, log,
	 *  calls] (all uint)]
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
	 *         wall_us:uint, calls:uint, log_dropped:uint],
	 *  log:[line:bin, ...], seed:[int, int]|nil (math.random's)]
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
	 * master -> spawner: start a worker. Two descriptors travel with it
	 * (SCM_RIGHTS): the worker's ends of its master channel and of its
	 * broker channel.
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

	/*
	 * master -> broker: a worker is coming; its channel travels with the
	 * message (SCM_RIGHTS). Everything arriving on that channel is from
	 * this worker of this pool.
	 * [500, worker:uint, pool:str]
	 */
	PROTO_BR_ATTACH = 500,

	/*
	 * master -> broker: the worker starts an invocation. Capability calls
	 * on its channel are now this invocation's, until END.
	 * [501, worker:uint, invocation:str, rule:str, calls:uint (limit),
	 *  deadline_ms:uint (what is left of it), record:bool]
	 * With record, the broker keeps the calls and their replies until
	 * PROTO_BR_RECORD, which then takes the place of END.
	 * Sent before the worker is given PROTO_WK_INVOKE.
	 */
	PROTO_BR_BEGIN = 501,

	/*
	 * master -> broker: the invocation ended (answered or its worker
	 * killed). Calls after this are out of phase.
	 * [502, worker:uint, invocation:str]
	 */
	PROTO_BR_END = 502,

	/*
	 * master -> broker: read the policy, the secrets and the settings
	 * again (SIGHUP). Reply: PROTO_BR_RELOADED.
	 * [503]
	 */
	PROTO_BR_RELOAD = 503,

	/*
	 * master -> broker: send your counters. Reply: PROTO_BR_STATS.
	 * [504]
	 */
	PROTO_BR_STATS_ASK = 504,

	/*
	 * master -> broker: a recorded invocation ended; write its recording
	 * (the broker holds the calls and the secrets to redact). Ends the
	 * invocation as END does.
	 * [505, worker:uint, invocation:str, rule:str, source:bin, input:bin,
	 *  limits:[6 uint, as in INVOKE], result:bin (a PROTO_WK_RESULT body;
	 *  empty when no worker answered), kind:str, message:str]
	 */
	PROTO_BR_RECORD = 505,

	/*
	 * broker -> master: a worker broke the protocol on its broker
	 * channel (garbage, an out-of-phase call); the master kills it.
	 * [600, worker:uint, message:str]
	 */
	PROTO_BR_VIOLATION = 600,

	/*
	 * broker -> master: the outcome of PROTO_BR_RELOAD.
	 * [601, ok:bool, message:str]
	 */
	PROTO_BR_RELOADED = 601,

	/*
	 * broker -> master: capability decisions so far, per capability.
	 * [602, [[capability:str, allowed:uint, denied:uint, refused:uint],
	 *  ...]] (refused: before the policy, for bad arguments)
	 */
	PROTO_BR_STATS = 602,

	/*
	 * worker -> broker: a capability call of the running invocation.
	 * [700, seq:uint, capability:str, method:str, args:array]
	 * Reply: PROTO_CAP_REPLY with the same seq. One call at a time.
	 */
	PROTO_CAP_CALL = 700,

	/*
	 * broker -> worker: the answer to PROTO_CAP_CALL.
	 * [800, seq:uint, kind:str ("ok" or an error kind), message:str,
	 *  value:any]
	 */
	PROTO_CAP_REPLY = 800,
};

#endif
