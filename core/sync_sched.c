/* SPDX-License-Identifier: MIT */
/*
 * core/sync_sched.c - the deterministic backend of core/sync.h, and the
 * scheduler control API of core/sched_ctl.h.
 *
 * Every "thread" of a run is a cooperative fiber on the calling OS thread
 * (its own malloc'd stack; a minimal stack switch on x86-64, ucontext
 * elsewhere).  A fiber runs until it reaches a scheduling point (every
 * primitive of sync.h: MMF_SYNC_POINT() in the inline ones, the entry of
 * every lock and RCU function here, the exit of every unlock), where the
 * scheduler may pass the CPU to another fiber; a fiber that must wait (a
 * contended lock, a grace period, an rcu_barrier) is blocked, not spinning,
 * until the event it waits for.  Nothing depends on time, addresses or the OS: the same
 * opts give the same run, step for step.
 *
 * ---------------------------------------------------------------------------
 * The schedule (struct mmf_sched_opts.schedule): one byte per DECISION.
 *
 * The scheduler keeps a run length: the number of scheduling points the
 * running fiber may still pass without a decision.  At a point where it is
 * used up, and whenever the running fiber blocks, finishes or spins, the
 * scheduler lists the CANDIDATES, in circular fiber-id order:
 *
 *   - the running fiber first, if it may keep running (not when it blocks,
 *     finishes or spins);
 *   - then every other runnable fiber, starting after the running one
 *     (fiber ids 0, 1, ... in spawn order);
 *   - the RCU runner (id -2) takes the place after the highest fiber id,
 *     and is a candidate only while it has work: a grace period whose
 *     pre-existing readers have all left, or a callback whose grace period
 *     is over.
 *
 * With one candidate there is no choice and no byte is read.  Otherwise
 * the next byte b decides:
 *
 *     b & 7     candidate index (b & 7) % nr_candidates; so 0 keeps the
 *               running fiber, 1 switches to the next runnable one, ...
 *     b >> 3    run length n of the chosen one: it passes n more points
 *               before the next decision.  0..15 as is; 16..31 mean
 *               (n - 15) * 16, i.e. 16, 32, ... 256.  For the RCU runner,
 *               the number of further work items (grace-period ends or
 *               callbacks) it does before the next decision.
 *
 * So zero bytes keep the running fiber going (one byte per point while
 * there is a choice), and each non-zero byte is one preemption at a chosen
 * distance: mutating a byte moves or retargets one context switch and
 * leaves the others.
 * (PCT-style priorities with change points were considered for the bytes;
 * they make a byte's meaning depend on every earlier one, which defeats the
 * fuzzer's byte-local mutations, while run lengths already place a
 * preemption at any depth.  The schedule search, fuzzers/sched_explore.c,
 * runs PCT and preemption-bounded schedules through opts.choose instead,
 * asked at every decision, and encodes each run back into these bytes.)
 *
 * When the bytes run out the scheduler goes round-robin: each decision
 * passes the CPU to the next candidate after the running one, which runs
 * SCHED_QUANTUM points.  So every schedule, even the empty one, ends: a
 * fiber that spins gets preempted, and after opts.max_steps points the run
 * ends in "livelock:".
 *
 * Spinning: mmf_cpu_relax() (sync.h; the seqcount reader's retry loop) is
 * mmf_sched_spin() here, a point at which the spinner always yields to
 * another candidate when there is one (the byte picks which one).
 * ---------------------------------------------------------------------------
 *
 * The scheduler loop runs in the main context (mmf_sched_run, on the
 * caller's stack): a fiber that switches goes back to it, and it resumes
 * the next one (two stack switches per fiber switch).  The RCU runner is
 * not a fiber: its work runs on the main stack, inside the loop.  Callbacks
 * run there with sync.h primitives that never yield (like the main
 * context).  One OS thread only: the first to use the backend owns it.
 *
 * Every point a fiber passes is a STEP: mmf_sched_clock() counts them (and
 * the RCU runner's work items), mmf_sched_trace_hash() mixes each step's
 * (fiber, site) and each decision's (choice, number of candidates), and
 * opts.record_trace keeps them.  Lock functions are points at their entry
 * (before they take or wait), RCU functions likewise; unlock functions
 * (mutex_unlock, up_read, up_write, downgrade_write, spin_unlock,
 * rcu_read_unlock) are points at their exit, after the release and the
 * wakeup of the waiters, as the kernel may preempt at the preempt_enable
 * of an unlock.  That is the window in which a use of what the lock kept
 * alive is a bug: a fault read page->anon after dropping page_table_lock
 * while truncate freed the page, and no schedule could show it while the
 * point came before the release (nothing else yields between the unlock
 * and such a plain load; corpus/regressions-sched/
 * fault_anon_check_vs_truncate.mmf).  A switch just before the release
 * showed others nothing they do not see just after it: lockless readers
 * see the same state, and lock takers only blocked.
 *
 * RCU (all state in `rcu` below): grace periods are numbered; gp_seq
 * counts those that ended, at most one is in progress.  A GP starts when
 * somebody needs one (call_rcu, synchronize_rcu) and none is in progress;
 * its HOLDOUTS are the fibers inside a read-side section at that moment.
 * A holdout leaves the set at its outermost read_unlock; the GP may end
 * once the set is empty, and the RCU runner ends it when the schedule
 * picks it.  A waiter registered while GP g is in progress needs GP g+1
 * (the kernel's rcu_seq_snap).  Callbacks run in call order, each once
 * the GP it needs has ended.
 *
 * Main context (outside mmf_sched_run, or no run at all): primitives do
 * not yield; a lock that would block is a bug; call_rcu queues; grace
 * periods are immediate (no fiber can be inside a reader) and
 * synchronize_rcu / rcu_barrier run the due callbacks at once.
 *
 * Sites: the return address of the scheduling point's caller (the core's
 * inlined atomic, or the caller of a lock function), as an offset from a
 * function of this file, so stable across runs of one binary despite
 * ASLR.  mmf_sched_site_str() symbolizes it with the sanitizer runtime's
 * symbolizer when one is linked.
 *
 * Sanitizers:
 *  - ASan: __sanitizer_{start,finish}_switch_fiber around every
 *    stack switch (a finished fiber passes NULL and drops its fake stack).
 *  - TSan: one TSan fiber per fiber, switches with
 *    __tsan_switch_to_fiber_no_sync, so that TSan sees fibers as threads
 *    that synchronise only through what the primitives annotate:
 *      mutex, spinlock      acquire when taken, release when dropped;
 *      rwsem                writers release/acquire the write clock and
 *                           acquire the read clock; readers acquire the
 *                           write clock and release the read clock;
 *      RCU                  as the native backend: outermost read_unlock
 *                           releases rcu_clock, a GP's end acquires it (in
 *                           synchronize_rcu, before every callback);
 *                           call_rcu releases the head, its callback
 *                           acquires it; callbacks release cb_clock,
 *                           rcu_barrier acquires it;
 *      spawn / exit         the spawner's history reaches the fiber; every
 *                           fiber's reaches the end of mmf_sched_run.
 *    This file is not instrumented (the pragma below): the scheduler's own
 *    state is used by every fiber without synchronisation by design (one
 *    OS thread), and TSan must not see that as races.  RCU callbacks and
 *    on_switch run in the main context's TSan fiber, as the native backend
 *    runs every callback on its one worker thread.
 *
 * Debug tracking (sync.h): per fiber (and for the main context and the
 * RCU runner) the locks held, as a stack with the site that took each, and
 * the read-side depth.  Beyond the native backend's checks, this one also
 * reports a sleeping lock, synchronize_rcu or rcu_barrier inside a
 * read-side section or under a spinlock (sync.h's rules), a spinlock
 * taken recursively or dropped by another fiber, and a fiber that returns
 * holding a lock or inside a read-side section.
 */
#include "sched_ctl.h"
#include "sync.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MMF_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#define MMF_TSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(MMF_ASAN)
#define MMF_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__) && !defined(MMF_TSAN)
#define MMF_TSAN 1
#endif

#ifdef __clang__
#pragma clang attribute push(__attribute__((no_sanitize("thread"))), apply_to = function)
#endif

#ifdef MMF_ASAN
void __sanitizer_start_switch_fiber(void **fake_stack_save, const void *bottom, size_t size);
void __sanitizer_finish_switch_fiber(void *fake_stack_save, const void **bottom_old,
				     size_t *size_old);
#define asan_start_switch(save, bottom, size)	__sanitizer_start_switch_fiber(save, bottom, size)
#define asan_finish_switch(save, bottom, size)	__sanitizer_finish_switch_fiber(save, bottom, size)
#else
#define asan_start_switch(save, bottom, size)	((void)(save), (void)(bottom), (void)(size))
#define asan_finish_switch(save, bottom, size)	((void)(save), (void)(bottom), (void)(size))
#endif

#ifdef MMF_TSAN
void *__tsan_get_current_fiber(void);
void *__tsan_create_fiber(unsigned flags);
void __tsan_destroy_fiber(void *fiber);
void __tsan_switch_to_fiber(void *fiber, unsigned flags);
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define TSAN_SWITCH_NO_SYNC	1	/* __tsan_switch_to_fiber_no_sync */
#define tsan_acquire(a)		__tsan_acquire((void *)(a))
#define tsan_release(a)		__tsan_release((void *)(a))
#else
#define tsan_acquire(a)		((void)(a))
#define tsan_release(a)		((void)(a))
#endif

/* The symbolizer of the sanitizer runtimes, when one is linked. */
void __sanitizer_symbolize_pc(void *pc, const char *fmt, char *out_buf, size_t out_buf_size)
	__attribute__((weak));

#ifndef MMF_SOURCE_DIR
#define MMF_SOURCE_DIR ""
#endif

/*
 * The context switch.  x86-64: a minimal stack switch (callee-saved
 * registers and the stack pointer): no signal-mask syscall, and no ASan
 * swapcontext interceptor, which clears the shadow of the whole target
 * stack at every switch (slow, and it drops the redzones of the frames
 * suspended there); the ASan fiber API below does the bookkeeping instead.
 * (Not compatible with a CET shadow stack, which no build here enables.)
 * Elsewhere: ucontext.
 */
#if defined(__x86_64__)
#define SCHED_ASM_SWITCH 1
struct context {
	void *sp;
};
/* Save callee-saved registers on the current stack and its sp in *save;
 * continue on the stack `sp` (saved the same way, or prepared by
 * context_init). */
void mmf_sched_stack_switch(void **save, void *sp);
__asm__(".text\n"
	".p2align 4\n"
	".globl mmf_sched_stack_switch\n"
	".hidden mmf_sched_stack_switch\n"
	".type mmf_sched_stack_switch, @function\n"
	"mmf_sched_stack_switch:\n"
	"	pushq %rbp\n"
	"	pushq %rbx\n"
	"	pushq %r12\n"
	"	pushq %r13\n"
	"	pushq %r14\n"
	"	pushq %r15\n"
	"	movq %rsp, (%rdi)\n"
	"	movq %rsi, %rsp\n"
	"	popq %r15\n"
	"	popq %r14\n"
	"	popq %r13\n"
	"	popq %r12\n"
	"	popq %rbx\n"
	"	popq %rbp\n"
	"	ret\n"
	".size mmf_sched_stack_switch, .-mmf_sched_stack_switch\n");
#else
struct context {
	ucontext_t uc;
};
#endif

#define SCHED_STACK_SIZE	(256u << 10)	/* per fiber; malloc'd */
#define SCHED_MAX_STEPS		1000000ULL	/* opts.max_steps == 0 */
#define SCHED_QUANTUM		64		/* round-robin, once the bytes ran out */
#define SCHED_MAX_HELD		32		/* lock stack entries recorded per fiber */
#define RCU_RUNNER_ID		(-2)
#define MAIN_ID			(-1)

/* ---- fibers ------------------------------------------------------------------ */

enum fiber_state {
	FIBER_RUNNABLE,		/* new, running or ready */
	FIBER_BLOCKED,		/* waits for `wait` below */
	FIBER_DONE,		/* returned */
};

enum wait_kind {
	WAIT_NONE,
	WAIT_MUTEX,
	WAIT_RWSEM_READ,
	WAIT_RWSEM_WRITE,
	WAIT_SPIN,
	WAIT_GP,		/* synchronize_rcu: gp_seq >= wait_target */
	WAIT_BARRIER,		/* rcu_barrier: callbacks run >= wait_target */
};

enum lock_kind {
	LK_MUTEX,
	LK_RWSEM_READ,
	LK_RWSEM_WRITE,
	LK_SPIN,
};

static const char *const lock_kind_name[] = {
	[LK_MUTEX] = "mutex",
	[LK_RWSEM_READ] = "rwsem(read)",
	[LK_RWSEM_WRITE] = "rwsem(write)",
	[LK_SPIN] = "spinlock",
};

struct held_lock {
	const void *obj;
	enum lock_kind kind;
	uint32_t site;		/* where it was taken */
};

/*
 * A fiber, or one of the two pseudo-fibers: the main context (id -1) and
 * the RCU runner (id -2), which have no stack of their own but track
 * their locks and read-side depth like any fiber.
 */
struct fiber {
	int id;
	enum fiber_state state;

	/* what a blocked fiber waits for */
	enum wait_kind wait;
	const void *wait_obj;
	uint64_t wait_target;
	uint32_t wait_site;

	/* sync.h debug tracking */
	int locks_held;			/* every lock held */
	int spins_held;			/* of which spinlocks */
	int nr_held;			/* entries in held[] (the first SCHED_MAX_HELD) */
	struct held_lock held[SCHED_MAX_HELD];
	int rcu_depth;
	int rcu_registered;
	bool gp_holdout;		/* the GP in progress waits for our read_unlock */

	/* execution (real fibers only) */
	mmf_fiber_fn fn;
	void *arg;
	struct context ctx;
	void *stack;
	void *asan_fake_stack;
	void *tsan_fiber;
	char tsan_sync;			/* spawn -> start, exit -> end of run */
};

/*
 * The scheduler.  One OS thread uses it (the fibers are cooperative), so
 * nothing here is locked; only the functions of this file touch it.
 */
static struct sched {
	struct fiber main;		/* the main context */
	struct fiber rcu;		/* the RCU runner */
	struct fiber *cur;		/* who is executing right now */

	struct fiber *fibers[MMF_SCHED_MAX_FIBERS];
	int nr_fibers;
	bool begun;			/* between begin and end */
	bool running;			/* inside mmf_sched_run */

	/* the schedule */
	uint8_t *bytes;
	size_t len, pos;
	uint64_t run_left;		/* points before the next decision */
	uint64_t max_steps;
	void (*on_switch)(void *ctx, uint32_t site, int from, int to);
	void *on_switch_ctx;
	bool record_trace;
	int (*choose)(void *ctx, const struct mmf_sched_choice *q);
	void *choose_ctx;

	/* what this run did */
	uint64_t clock;			/* scheduling steps */
	uint64_t hash;
	uint64_t switches;
	struct mmf_sched_step *trace;
	size_t nr_trace, cap_trace;

	/* a fiber leaving the CPU tells the scheduler loop whom to run next */
	struct fiber *next;
	uint32_t switch_site;

	/* the main context, as the fibers switch back to it */
	struct context main_ctx;
	void *main_fake_stack;
	const void *main_stack_bottom;
	size_t main_stack_size;
	void *main_tsan_fiber;
} sched = {
	.main = { .id = MAIN_ID },
	.rcu = { .id = RCU_RUNNER_ID },
	.cur = &sched.main,
};

/*
 * Simulated RCU.  gp_seq: grace periods ended; gp_active: GP gp_seq + 1 is
 * in progress, waiting for `holdouts` fibers to leave their read-side
 * sections; gp_needed: the highest GP number somebody waits for.  The
 * callback queue (call order) links heads through impl_[0]; impl_[1] holds
 * the GP number the callback waits for.  Survives begin/end: the main
 * context queues callbacks between runs.
 */
static struct {
	uint64_t gp_seq;
	bool gp_active;
	uint64_t gp_needed;
	int holdouts;
	struct mmf_rcu_head *cb_first, **cb_last;
	uint64_t cb_queued, cb_done;
} rcu = { .cb_last = &rcu.cb_first };

/* TSan-only synchronisation objects (their addresses matter). */
static char rcu_clock;		/* readers' history, acquired when a GP ends */
static char cb_clock;		/* callbacks' history, acquired by rcu_barrier */

#define CB_NEXT(h)	(*(struct mmf_rcu_head **)&(h)->impl_[0])
#define CB_GP(h)	(*(uintptr_t *)&(h)->impl_[1])

static void report_deadlock(void) __attribute__((noreturn));
static void report_livelock(uint32_t site) __attribute__((noreturn));

/* ---- sites, trace, hash -------------------------------------------------------- */

/* The anchor of site offsets: any function of this file. */
static void site_anchor(void)
{
}

static inline uint32_t site_of(const void *return_address)
{
	return (uint32_t)((uintptr_t)return_address - (uintptr_t)&site_anchor);
}

#define CALLER_SITE()	site_of(__builtin_return_address(0))

static const char *skip_source_dir(const char *s)
{
	size_t n = strlen(MMF_SOURCE_DIR);

	if (n && !strncmp(s, MMF_SOURCE_DIR, n))
		return s + n;
	return s;
}

static bool file_is_sync_h(const char *frame)
{
	const char *sp = strchr(frame, ' ');
	const char *colon;

	if (!sp)
		return false;
	colon = strrchr(sp, ':');
	return colon && colon - sp >= 6 && !strncmp(colon - 6, "sync.h", 6);
}

/*
 * "function file:line": the symbolizer lists the inlining chain innermost
 * first (NUL-separated, an empty string last); the first frame outside
 * sync.h is the core's call site.
 */
const char *mmf_sched_site_str(uint32_t site, char *buf, size_t len)
{
	char frames[1024];
	const char *f, *pick = NULL;

	if (!len)
		return buf;
	if (__sanitizer_symbolize_pc) {
		void *pc = (void *)((uintptr_t)&site_anchor + (uintptr_t)(intptr_t)(int32_t)site);

		memset(frames, 0, sizeof(frames));
		__sanitizer_symbolize_pc(pc, "%f %s:%l", frames, sizeof(frames) - 1);
		for (f = frames; *f && f < frames + sizeof(frames); f += strlen(f) + 1) {
			if (!pick)
				pick = f;	/* innermost, if nothing better */
			if (!file_is_sync_h(f)) {
				pick = f;
				break;
			}
		}
		if (pick && pick[0] != '<' && pick[0] != '?' && strstr(pick, ":0") == NULL) {
			const char *sp = strchr(pick, ' ');

			if (sp)
				snprintf(buf, len, "%.*s %s", (int)(sp - pick), pick,
					 skip_source_dir(sp + 1));
			else
				snprintf(buf, len, "%s", pick);
			return buf;
		}
	}
	snprintf(buf, len, "+0x%x", site);
	return buf;
}

static inline void hash_mix(uint64_t v)
{
	uint64_t h = (sched.hash ^ v) * 0x9e3779b97f4a7c15ULL;

	sched.hash = h ^ (h >> 31);
}

static void trace_add(int id, uint32_t site)
{
	if (sched.nr_trace == sched.cap_trace) {
		sched.cap_trace = sched.cap_trace ? 2 * sched.cap_trace : 4096;
		sched.trace = realloc(sched.trace, sched.cap_trace * sizeof(*sched.trace));
		if (!sched.trace)
			abort();
	}
	sched.trace[sched.nr_trace++] = (struct mmf_sched_step){
		.clock = sched.clock, .fiber = id, .site = site,
	};
}

/* One scheduling step: `id` passed a point at `site`. */
static void step(int id, uint32_t site)
{
	if (++sched.clock > sched.max_steps)
		report_livelock(site);
	hash_mix((uint64_t)(uint32_t)id << 32 | site);
	if (sched.record_trace)
		trace_add(id, site);
}

/*
 * One OS thread only: the first thread to reach a scheduling point owns the
 * backend (in a forked child, the thread that forked).  Another thread
 * would share sched.cur and every lock's state without synchronisation.
 */
static _Thread_local char thread_marker;
static const void *owner_thread;

static void check_os_thread(void)
{
	if (__builtin_expect(owner_thread == &thread_marker, 1))
		return;
	if (!owner_thread) {
		owner_thread = &thread_marker;
		return;
	}
	mmf_sync_bug("the sched backend (core/sync_sched.c) used from a second OS thread: "
		     "drive it from one thread, with fibers (core/sched_ctl.h)");
}

/* ---- choosing who runs ------------------------------------------------------- */

static bool rcu_has_work(void);

static bool can_run(struct fiber *f)
{
	if (f == &sched.rcu)
		return rcu_has_work();
	return f->state == FIBER_RUNNABLE;
}

/* Position in the circular order: fibers by id, then the RCU runner. */
static int position(struct fiber *f)
{
	if (f == &sched.rcu)
		return sched.nr_fibers;
	return f->id;		/* -1 for main: the order starts at fiber 0 */
}

static struct fiber *at_position(int p)
{
	return p == sched.nr_fibers ? &sched.rcu : sched.fibers[p];
}

/* The candidates after `from`, in order (see the top of the file). */
static int candidates(struct fiber *from, bool may_keep, struct fiber **out)
{
	int npos = sched.nr_fibers + 1, start = position(from), n = 0, j, p;

	if (may_keep && can_run(from))
		out[n++] = from;
	for (j = 1; j <= npos; j++) {
		p = start + j;
		if (p >= npos)
			p -= npos;
		if (p == start)
			break;
		if (can_run(at_position(p)))
			out[n++] = at_position(p);
	}
	return n;
}

static uint64_t run_length(unsigned n)
{
	return n < 16 ? n : (uint64_t)(n - 15) * 16;
}

enum decide_mode {
	MAY_KEEP,	/* from may keep running (its run length is used up) */
	MUST_LEAVE,	/* from blocked or finished (or: main starts the run) */
	SPIN,		/* from is runnable but spins: prefer anybody else */
};

/*
 * opts.choose instead of bytes: asked at every decide() (run lengths stay
 * 0, so at every point), told what a byte would face.  A point is
 * skippable when a run length could pass it without a decision (the
 * running fiber, or the RCU runner with work, may keep going).
 */
static struct fiber *decide_by_chooser(struct fiber *from, enum decide_mode mode,
				       struct fiber **c, int n)
{
	struct mmf_sched_choice q = {
		.clock = sched.clock,
		.nr_candidates = n,
		.skippable = mode == MAY_KEEP && can_run(from),
		.running = from->id,
	};
	int k;

	for (k = 0; k < n; k++)
		q.ids[k] = c[k]->id;
	k = sched.choose(sched.choose_ctx, &q);
	if (n == 0)
		return mode == SPIN ? from : NULL;
	sched.run_left = 0;
	k = (k < 0 ? 0 : k) % n;
	if (n > 1)
		hash_mix(0xdec1de00000000ULL | (uint64_t)(uint32_t)c[k]->id << 8 | n);
	return c[k];
}

/* Who runs next; NULL when nobody can (all done, or a deadlock). */
static struct fiber *decide(struct fiber *from, enum decide_mode mode)
{
	struct fiber *c[MMF_SCHED_MAX_FIBERS + 2], *choice;
	int n = candidates(from, mode == MAY_KEEP, c);

	if (sched.choose)
		return decide_by_chooser(from, mode, c, n);
	if (n == 0)
		return mode == SPIN ? from : NULL;
	if (n == 1) {
		sched.run_left = 0;
		return c[0];
	}
	if (sched.pos < sched.len) {
		uint8_t b = sched.bytes[sched.pos++];

		choice = c[(b & 7) % n];
		sched.run_left = run_length(b >> 3);
	} else {
		/* round-robin: the next one after `from` */
		choice = c[0] == from ? c[1] : c[0];
		sched.run_left = SCHED_QUANTUM - 1;
	}
	hash_mix(0xdec1de00000000ULL | (uint64_t)(uint32_t)choice->id << 8 | n);
	return choice;
}

/* ---- switching --------------------------------------------------------------- */

static void fiber_entry(void);

static void context_switch(struct context *save, struct context *to)
{
#ifdef SCHED_ASM_SWITCH
	mmf_sched_stack_switch(&save->sp, to->sp);
#else
	if (swapcontext(&save->uc, &to->uc))
		mmf_sync_bug("swapcontext failed");
#endif
}

/* A new fiber's context: its first switch lands in fiber_entry. */
static void context_init(struct context *c, void *stack, size_t size)
{
#ifdef SCHED_ASM_SWITCH
	uintptr_t top = ((uintptr_t)stack + size) & ~(uintptr_t)15;
	void **sp = (void **)top;

	*--sp = NULL;			/* fiber_entry's return address: never used */
	*--sp = (void *)fiber_entry;	/* where the switch's ret goes */
	for (int i = 0; i < 6; i++)	/* rbp rbx r12 r13 r14 r15 */
		*--sp = NULL;
	c->sp = sp;
#else
	if (getcontext(&c->uc))
		mmf_sync_bug("getcontext failed");
	c->uc.uc_stack.ss_sp = stack;
	c->uc.uc_stack.ss_size = size;
	c->uc.uc_link = NULL;
	makecontext(&c->uc, fiber_entry, 0);
#endif
}

/* Main context: run fiber f until it leaves the CPU. */
static void resume_fiber(struct fiber *f)
{
	sched.cur = f;
	asan_start_switch(&sched.main_fake_stack, f->stack, SCHED_STACK_SIZE);
#ifdef MMF_TSAN
	__tsan_switch_to_fiber(f->tsan_fiber, TSAN_SWITCH_NO_SYNC);
#endif
	context_switch(&sched.main_ctx, &f->ctx);
	asan_finish_switch(sched.main_fake_stack, NULL, NULL);
	sched.cur = &sched.main;
}

/* Fiber f leaves the CPU to `next` (NULL: nobody); returns when resumed. */
static void switch_out(struct fiber *f, struct fiber *next, uint32_t site, bool dying)
{
	sched.next = next;
	sched.switch_site = site;
	asan_start_switch(dying ? NULL : &f->asan_fake_stack,
			  sched.main_stack_bottom, sched.main_stack_size);
#ifdef MMF_TSAN
	__tsan_switch_to_fiber(sched.main_tsan_fiber, TSAN_SWITCH_NO_SYNC);
#endif
	context_switch(&f->ctx, &sched.main_ctx);
	asan_finish_switch(f->asan_fake_stack, NULL, NULL);
}

static void fiber_exit(struct fiber *f) __attribute__((noreturn));

/* The first code of every fiber (sched.cur is the fiber being started). */
static void fiber_entry(void)
{
	struct fiber *f = sched.cur;

	asan_finish_switch(NULL, &sched.main_stack_bottom, &sched.main_stack_size);
	tsan_acquire(&f->tsan_sync);
	f->fn(f->arg);
	fiber_exit(f);
}

static void fiber_exit(struct fiber *f)
{
	if (MMF_SYNC_DEBUG && f->locks_held)
		mmf_sync_bug("fiber %d returned holding %d lock(s)", f->id, f->locks_held);
	if (MMF_SYNC_DEBUG && f->rcu_depth)
		mmf_sync_bug("fiber %d returned inside an RCU read-side section", f->id);
	f->state = FIBER_DONE;
	tsan_release(&f->tsan_sync);
	switch_out(f, decide(f, MUST_LEAVE), 0, true);
	mmf_sync_bug("fiber %d resumed after it returned", f->id);
}

static inline bool in_fiber(void)
{
	return sched.running && sched.cur->id >= 0;
}

/*
 * A scheduling point at `site` of the running fiber.  Main context and
 * RCU callbacks: nothing.
 */
static void sched_point_at(uint32_t site)
{
	struct fiber *f = sched.cur, *next;

	check_os_thread();
	if (!in_fiber())
		return;
	step(f->id, site);
	if (sched.run_left) {
		sched.run_left--;
		return;
	}
	next = decide(f, MAY_KEEP);
	if (next != f)
		switch_out(f, next, site, false);
}

void mmf_sched_point(void)
{
	sched_point_at(CALLER_SITE());
}

void mmf_sched_spin(void)
{
	struct fiber *f = sched.cur, *next;
	uint32_t site = CALLER_SITE();

	if (!in_fiber())
		return;
	step(f->id, site);
	next = decide(f, SPIN);
	if (next != f)
		switch_out(f, next, site, false);
}

/* ---- blocking and waking ---------------------------------------------------------- */

static const char *who(const struct fiber *f, char *buf, size_t len)
{
	if (f->id == MAIN_ID)
		return "main";
	if (f->id == RCU_RUNNER_ID)
		return "rcu";
	snprintf(buf, len, "fiber %d", f->id);
	return buf;
}

static const char *const wait_name[] = {
	[WAIT_NONE] = "nothing",
	[WAIT_MUTEX] = "mutex",
	[WAIT_RWSEM_READ] = "rwsem(read)",
	[WAIT_RWSEM_WRITE] = "rwsem(write)",
	[WAIT_SPIN] = "spinlock",
	[WAIT_GP] = "grace period",
	[WAIT_BARRIER] = "rcu_barrier",
};

/*
 * The running fiber waits until wake_*() makes it runnable again, then
 * returns (the caller re-checks its condition).  Outside a fiber nothing
 * could ever wake it: a bug.
 */
static void block_on(enum wait_kind kind, const void *obj, uint64_t target, uint32_t site)
{
	struct fiber *f = sched.cur;
	char s[256];

	if (!in_fiber())
		mmf_sync_bug("%s %p would block in the %s context (at %s)", wait_name[kind], obj,
			     sched.running ? "RCU callback" : "main", mmf_sched_site_str(site, s, sizeof(s)));
	f->state = FIBER_BLOCKED;
	f->wait = kind;
	f->wait_obj = obj;
	f->wait_target = target;
	f->wait_site = site;
	switch_out(f, decide(f, MUST_LEAVE), site, false);
	f->wait = WAIT_NONE;
	f->wait_obj = NULL;
}

/* Every fiber blocked on lock `obj` becomes runnable (and re-checks). */
static void wake_lock_waiters(const void *obj)
{
	int i;

	for (i = 0; i < sched.nr_fibers; i++) {
		struct fiber *f = sched.fibers[i];

		if (f->state == FIBER_BLOCKED && f->wait_obj == obj &&
		    f->wait != WAIT_GP && f->wait != WAIT_BARRIER)
			f->state = FIBER_RUNNABLE;
	}
}

static void wake_counter_waiters(enum wait_kind kind, uint64_t reached)
{
	int i;

	for (i = 0; i < sched.nr_fibers; i++) {
		struct fiber *f = sched.fibers[i];

		if (f->state == FIBER_BLOCKED && f->wait == kind && f->wait_target <= reached)
			f->state = FIBER_RUNNABLE;
	}
}

static bool lock_has_waiters(const void *obj)
{
	int i;

	for (i = 0; i < sched.nr_fibers; i++)
		if (sched.fibers[i]->state == FIBER_BLOCKED && sched.fibers[i]->wait_obj == obj)
			return true;
	return false;
}

/* ---- debug tracking ---------------------------------------------------------------- */

const void *mmf_sync_self(void)
{
	return sched.cur;
}

int mmf_sync_locks_held(void)
{
	return MMF_SYNC_DEBUG ? sched.cur->locks_held : -1;
}

int mmf_rcu_read_depth(void)
{
	return MMF_SYNC_DEBUG ? sched.cur->rcu_depth : -1;
}

void mmf_sync_bug(const char *fmt, ...)
{
	va_list ap;
	char b[32];

	fflush(stdout);
	fputs("mmf_sync_bug: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (sched.running)
		fprintf(stderr, " [%s, step %llu]", who(sched.cur, b, sizeof(b)),
			(unsigned long long)sched.clock);
	fputc('\n', stderr);
	fflush(stderr);
	abort();
}

static void held_push(struct fiber *f, const void *obj, enum lock_kind kind, uint32_t site)
{
	f->locks_held++;
	if (kind == LK_SPIN)
		f->spins_held++;
	if (f->nr_held < SCHED_MAX_HELD)
		f->held[f->nr_held++] = (struct held_lock){ .obj = obj, .kind = kind, .site = site };
}

static void held_pop(struct fiber *f, const void *obj, enum lock_kind kind)
{
	int i;

	if (f->locks_held <= 0) {
		if (MMF_SYNC_DEBUG)
			mmf_sync_bug("%s %p released but this thread holds no lock",
				     lock_kind_name[kind], obj);
		return;
	}
	f->locks_held--;
	if (kind == LK_SPIN)
		f->spins_held--;
	for (i = f->nr_held - 1; i >= 0; i--) {
		if (f->held[i].obj == obj && f->held[i].kind == kind) {
			memmove(&f->held[i], &f->held[i + 1],
				(f->nr_held - i - 1) * sizeof(f->held[0]));
			f->nr_held--;
			return;
		}
	}
}

static void held_downgrade(struct fiber *f, const void *obj)
{
	int i;

	for (i = f->nr_held - 1; i >= 0; i--) {
		if (f->held[i].obj == obj && f->held[i].kind == LK_RWSEM_WRITE) {
			f->held[i].kind = LK_RWSEM_READ;
			return;
		}
	}
}

/* A sleeping operation: not inside a read-side section, not under a spinlock. */
static void might_sleep(const char *what, const void *obj)
{
	if (!MMF_SYNC_DEBUG)
		return;
	if (sched.cur->rcu_depth)
		mmf_sync_bug("%s %p inside an RCU read-side section", what, obj);
	if (sched.cur->spins_held)
		mmf_sync_bug("%s %p under a spinlock", what, obj);
}

/* ---- mutex ------------------------------------------------------------------------ */

/* owner: the holder (a fiber or pseudo-fiber), NULL when free. */
struct mutex_impl {
	struct fiber *owner;
	uint32_t site;			/* where the owner took it */
};
_Static_assert(sizeof(struct mutex_impl) <= sizeof(struct mmf_mutex), "mmf_mutex too small");
_Static_assert(_Alignof(struct mutex_impl) <= _Alignof(struct mmf_mutex), "mmf_mutex alignment");

#define MUTEX(x) ((struct mutex_impl *)(x)->impl_)

/* Field by field, no memset: TSan intercepts memset even from here. */
void mmf_mutex_init(struct mmf_mutex *m)
{
	MUTEX(m)->owner = NULL;
	MUTEX(m)->site = 0;
}

void mmf_mutex_destroy(struct mmf_mutex *m)
{
	if (MUTEX(m)->owner)
		mmf_sync_bug("mutex %p destroyed while held", (void *)m);
	if (lock_has_waiters(m))
		mmf_sync_bug("mutex %p destroyed while a fiber waits for it", (void *)m);
}

static void mutex_take(struct mmf_mutex *m, uint32_t site)
{
	struct mutex_impl *i = MUTEX(m);

	i->owner = sched.cur;
	i->site = site;
	held_push(sched.cur, m, LK_MUTEX, site);
	tsan_acquire(m);
}

void mmf_mutex_lock(struct mmf_mutex *m)
{
	struct mutex_impl *i = MUTEX(m);
	uint32_t site = CALLER_SITE();

	sched_point_at(site);
	if (MMF_SYNC_DEBUG && i->owner == sched.cur)
		mmf_sync_bug("mutex %p: recursive lock", (void *)m);
	might_sleep("mutex_lock", m);
	while (i->owner)
		block_on(WAIT_MUTEX, m, 0, site);
	mutex_take(m, site);
}

bool mmf_mutex_trylock(struct mmf_mutex *m)
{
	uint32_t site = CALLER_SITE();

	sched_point_at(site);
	if (MUTEX(m)->owner)
		return false;
	mutex_take(m, site);
	return true;
}

void mmf_mutex_unlock(struct mmf_mutex *m)
{
	struct mutex_impl *i = MUTEX(m);

	if (!i->owner || (MMF_SYNC_DEBUG && i->owner != sched.cur))
		mmf_sync_bug("mutex %p: unlocked by a thread that does not hold it", (void *)m);
	held_pop(sched.cur, m, LK_MUTEX);
	tsan_release(m);
	i->owner = NULL;
	wake_lock_waiters(m);
	sched_point_at(CALLER_SITE());	/* after the release: see "STEP" above */
}

bool mmf_mutex_is_held(struct mmf_mutex *m)
{
	return !MMF_SYNC_DEBUG || MUTEX(m)->owner == sched.cur;
}

/* ---- rwsem ------------------------------------------------------------------------ */

/*
 * Writer-preferring, as the native one: count > 0 readers, -1 a writer;
 * writers_waiting > 0 stops new readers and read trylocks.  The TSan
 * clocks: &count collects writers' history (acquired by everyone),
 * &owner readers' history (acquired by writers only).
 */
struct rwsem_impl {
	int count;
	int writers_waiting;
	struct fiber *owner;		/* the writer */
	uint32_t site;			/* where the writer took it */
};
_Static_assert(sizeof(struct rwsem_impl) <= sizeof(struct mmf_rwsem), "mmf_rwsem too small");
_Static_assert(_Alignof(struct rwsem_impl) <= _Alignof(struct mmf_rwsem), "mmf_rwsem alignment");

#define RWSEM(x) ((struct rwsem_impl *)(x)->impl_)
#define WCLOCK(i) (&(i)->count)
#define RCLOCK(i) (&(i)->owner)

void mmf_rwsem_init(struct mmf_rwsem *s)
{
	struct rwsem_impl *i = RWSEM(s);

	i->count = 0;
	i->writers_waiting = 0;
	i->owner = NULL;
	i->site = 0;
}

void mmf_rwsem_destroy(struct mmf_rwsem *s)
{
	struct rwsem_impl *i = RWSEM(s);

	if (i->count != 0)
		mmf_sync_bug("rwsem %p destroyed while held (count %d)", (void *)s, i->count);
	if (lock_has_waiters(s))
		mmf_sync_bug("rwsem %p destroyed while a fiber waits for it", (void *)s);
}

static void read_take(struct mmf_rwsem *s, uint32_t site)
{
	struct rwsem_impl *i = RWSEM(s);

	i->count++;
	held_push(sched.cur, s, LK_RWSEM_READ, site);
	tsan_acquire(WCLOCK(i));
}

static void write_take(struct mmf_rwsem *s, uint32_t site)
{
	struct rwsem_impl *i = RWSEM(s);

	i->count = -1;
	i->owner = sched.cur;
	i->site = site;
	held_push(sched.cur, s, LK_RWSEM_WRITE, site);
	tsan_acquire(WCLOCK(i));
	tsan_acquire(RCLOCK(i));
}

static inline bool read_may_enter(struct rwsem_impl *i)
{
	return i->count >= 0 && i->writers_waiting == 0;
}

void mmf_down_read(struct mmf_rwsem *s)
{
	struct rwsem_impl *i = RWSEM(s);
	uint32_t site = CALLER_SITE();

	sched_point_at(site);
	if (MMF_SYNC_DEBUG && i->owner == sched.cur)
		mmf_sync_bug("rwsem %p: down_read while holding it for write", (void *)s);
	might_sleep("down_read", s);
	while (!read_may_enter(i))
		block_on(WAIT_RWSEM_READ, s, 0, site);
	read_take(s, site);
}

bool mmf_down_read_trylock(struct mmf_rwsem *s)
{
	uint32_t site = CALLER_SITE();

	sched_point_at(site);
	if (!read_may_enter(RWSEM(s)))
		return false;
	read_take(s, site);
	return true;
}

void mmf_up_read(struct mmf_rwsem *s)
{
	struct rwsem_impl *i = RWSEM(s);

	held_pop(sched.cur, s, LK_RWSEM_READ);
	if (i->count <= 0)
		mmf_sync_bug("rwsem %p: up_read but not read-locked (count %d)", (void *)s, i->count);
	tsan_release(RCLOCK(i));
	if (--i->count == 0)
		wake_lock_waiters(s);
	sched_point_at(CALLER_SITE());	/* after the release: see "STEP" above */
}

void mmf_down_write(struct mmf_rwsem *s)
{
	struct rwsem_impl *i = RWSEM(s);
	uint32_t site = CALLER_SITE();

	sched_point_at(site);
	if (MMF_SYNC_DEBUG && i->owner == sched.cur)
		mmf_sync_bug("rwsem %p: recursive down_write", (void *)s);
	might_sleep("down_write", s);
	i->writers_waiting++;
	while (i->count != 0)
		block_on(WAIT_RWSEM_WRITE, s, 0, site);
	i->writers_waiting--;
	write_take(s, site);
}

bool mmf_down_write_trylock(struct mmf_rwsem *s)
{
	uint32_t site = CALLER_SITE();

	sched_point_at(site);
	if (RWSEM(s)->count != 0)
		return false;
	write_take(s, site);
	return true;
}

static void write_owned_or_bug(struct mmf_rwsem *s, const char *what)
{
	struct rwsem_impl *i = RWSEM(s);

	if (i->count != -1 || (MMF_SYNC_DEBUG && i->owner != sched.cur))
		mmf_sync_bug("rwsem %p: %s", (void *)s, what);
}

void mmf_up_write(struct mmf_rwsem *s)
{
	struct rwsem_impl *i = RWSEM(s);

	held_pop(sched.cur, s, LK_RWSEM_WRITE);
	write_owned_or_bug(s, "up_write by a thread that does not hold it for write");
	tsan_release(WCLOCK(i));
	i->count = 0;
	i->owner = NULL;
	wake_lock_waiters(s);
	sched_point_at(CALLER_SITE());	/* after the release: see "STEP" above */
}

void mmf_downgrade_write(struct mmf_rwsem *s)
{
	struct rwsem_impl *i = RWSEM(s);

	write_owned_or_bug(s, "downgrade_write without holding it for write");
	tsan_release(WCLOCK(i));	/* the readers let in now see the writer's history */
	i->count = 1;
	i->owner = NULL;
	held_downgrade(sched.cur, s);
	wake_lock_waiters(s);		/* waiting readers may enter now */
	sched_point_at(CALLER_SITE());	/* after the release: see "STEP" above */
}

bool mmf_rwsem_is_write_locked(struct mmf_rwsem *s)
{
	return !MMF_SYNC_DEBUG || RWSEM(s)->owner == sched.cur;
}

bool mmf_rwsem_is_locked(struct mmf_rwsem *s)
{
	sched_point_at(CALLER_SITE());
	return RWSEM(s)->count != 0;
}

/* ---- spinlock ------------------------------------------------------------------------ */

/* A spinning waiter is a blocked fiber here: it cannot run before the unlock. */
struct spin_impl {
	struct fiber *owner;
	uint32_t site;
};
_Static_assert(sizeof(struct spin_impl) <= sizeof(struct mmf_spinlock), "mmf_spinlock too small");

#define SPIN(x) ((struct spin_impl *)(x)->impl_)

void mmf_spin_init(struct mmf_spinlock *l)
{
	SPIN(l)->owner = NULL;
	SPIN(l)->site = 0;
}

void mmf_spin_destroy(struct mmf_spinlock *l)
{
	if (SPIN(l)->owner)
		mmf_sync_bug("spinlock %p destroyed while held", (void *)l);
	if (lock_has_waiters(l))
		mmf_sync_bug("spinlock %p destroyed while a fiber waits for it", (void *)l);
}

static void spin_take(struct mmf_spinlock *l, uint32_t site)
{
	SPIN(l)->owner = sched.cur;
	SPIN(l)->site = site;
	held_push(sched.cur, l, LK_SPIN, site);
	tsan_acquire(l);
}

void mmf_spin_lock(struct mmf_spinlock *l)
{
	struct spin_impl *i = SPIN(l);
	uint32_t site = CALLER_SITE();

	sched_point_at(site);
	if (MMF_SYNC_DEBUG && i->owner == sched.cur)
		mmf_sync_bug("spinlock %p: recursive lock", (void *)l);
	while (i->owner)
		block_on(WAIT_SPIN, l, 0, site);
	spin_take(l, site);
}

bool mmf_spin_trylock(struct mmf_spinlock *l)
{
	uint32_t site = CALLER_SITE();

	sched_point_at(site);
	if (SPIN(l)->owner)
		return false;
	spin_take(l, site);
	return true;
}

void mmf_spin_unlock(struct mmf_spinlock *l)
{
	struct spin_impl *i = SPIN(l);

	if (!i->owner || (MMF_SYNC_DEBUG && i->owner != sched.cur))
		mmf_sync_bug("spinlock %p: unlocked by a thread that does not hold it", (void *)l);
	held_pop(sched.cur, l, LK_SPIN);
	tsan_release(l);
	i->owner = NULL;
	wake_lock_waiters(l);
	sched_point_at(CALLER_SITE());	/* after the release: see "STEP" above */
}

/* ---- raw lock -------------------------------------------------------------------------- */

/*
 * Not a scheduling point (sync.h): one OS thread runs every fiber, and no
 * fiber can be switched out inside a raw lock's section (it holds no
 * point), so the lock is never found held; if it is, a section did yield.
 * TSan: acquire and release, as the other locks here.
 */
void mmf_raw_lock(struct mmf_rawlock *l)
{
	if (l->impl_)
		mmf_sync_bug("raw lock %p found held: a scheduling point inside its section",
			     (void *)l);
	l->impl_ = 1;
	tsan_acquire(l);
}

void mmf_raw_unlock(struct mmf_rawlock *l)
{
	if (!l->impl_)
		mmf_sync_bug("raw lock %p: unlocked but not held", (void *)l);
	tsan_release(l);
	l->impl_ = 0;
}

/* ---- RCU ----------------------------------------------------------------------------- */

/* The GP a waiter registered now needs (kernel: rcu_seq_snap). */
static uint64_t gp_snap(void)
{
	return rcu.gp_seq + (rcu.gp_active ? 2 : 1);
}

/* Every thread of the run inside a read-side section now must leave it. */
static void gp_start(void)
{
	int i;

	rcu.gp_active = true;
	rcu.holdouts = 0;
	sched.main.gp_holdout = sched.main.rcu_depth > 0;
	rcu.holdouts += sched.main.gp_holdout;
	for (i = 0; i < sched.nr_fibers; i++) {
		struct fiber *f = sched.fibers[i];

		f->gp_holdout = f->rcu_depth > 0;
		rcu.holdouts += f->gp_holdout;
	}
}

static void gp_request(uint64_t gp)
{
	if (gp > rcu.gp_needed)
		rcu.gp_needed = gp;
	if (!rcu.gp_active && rcu.gp_needed > rcu.gp_seq)
		gp_start();
}

/* Only once holdouts == 0. */
static void gp_end(void)
{
	rcu.gp_seq++;
	rcu.gp_active = false;
	wake_counter_waiters(WAIT_GP, rcu.gp_seq);
	if (rcu.gp_needed > rcu.gp_seq)
		gp_start();
}

static void rcu_quiescent(struct fiber *f)
{
	if (f->gp_holdout) {
		f->gp_holdout = false;
		rcu.holdouts--;
	}
}

static bool cb_due(void)
{
	return rcu.cb_first && CB_GP(rcu.cb_first) <= rcu.gp_seq;
}

static bool rcu_has_work(void)
{
	return (rcu.gp_active && rcu.holdouts == 0) || cb_due();
}

/* Run the first callback (its GP is over) as the RCU runner. */
static uint32_t cb_run_first(void)
{
	struct mmf_rcu_head *h = rcu.cb_first;
	struct fiber *prev = sched.cur;
	/* +1: the symbolizer looks up the byte before a return address */
	uint32_t site = site_of((const char *)(uintptr_t)h->func + 1);

	rcu.cb_first = CB_NEXT(h);
	if (!rcu.cb_first)
		rcu.cb_last = &rcu.cb_first;
	sched.cur = &sched.rcu;
	tsan_acquire(&rcu_clock);	/* every reader that could see what it frees */
	tsan_acquire(h);		/* the caller of mmf_call_rcu */
	h->func(h);
	tsan_release(&cb_clock);
	if (MMF_SYNC_DEBUG && (sched.rcu.locks_held || sched.rcu.rcu_depth))
		mmf_sync_bug("RCU callback %+d returned holding a lock or inside a read-side section",
			     (int)site);
	sched.cur = prev;
	rcu.cb_done++;
	wake_counter_waiters(WAIT_BARRIER, rcu.cb_done);
	return site;
}

/* One item of the RCU runner's work, as a scheduling step. */
static uint32_t rcu_step(void)
{
	uint32_t site = 0;

	if (rcu.gp_active && rcu.holdouts == 0)
		gp_end();
	else
		site = cb_run_first();
	step(RCU_RUNNER_ID, site);
	return site;
}

/* Main context: no fiber is inside a reader, so grace periods are immediate. */
static void main_complete_gps(uint64_t upto)
{
	while (rcu.gp_seq < upto || rcu.gp_active) {
		if (!rcu.gp_active)
			gp_start();
		if (rcu.holdouts)
			mmf_sync_bug("grace period in the main context while %d thread(s) are in a read-side section",
				     rcu.holdouts);
		gp_end();
	}
}

/* Main context: every callback queued, and those they queue. */
static void main_run_callbacks(void)
{
	while (rcu.cb_first) {
		main_complete_gps(CB_GP(rcu.cb_first));
		cb_run_first();
	}
}

void mmf_rcu_defer_callbacks(bool on)
{
	(void)on;	/* callbacks never run asynchronously here */
}

void mmf_rcu_register_thread(void)
{
	sched.cur->rcu_registered++;
}

void mmf_rcu_unregister_thread(void)
{
	if (sched.cur->rcu_registered <= 0)
		mmf_sync_bug("mmf_rcu_unregister_thread without register");
	if (sched.cur->rcu_depth)
		mmf_sync_bug("mmf_rcu_unregister_thread inside a read-side section");
	sched.cur->rcu_registered--;
}

void mmf_rcu_read_lock(void)
{
	sched_point_at(CALLER_SITE());
	sched.cur->rcu_depth++;
}

void mmf_rcu_read_unlock(void)
{
	struct fiber *f;

	f = sched.cur;
	if (f->rcu_depth <= 0)
		mmf_sync_bug("mmf_rcu_read_unlock without mmf_rcu_read_lock");
	if (--f->rcu_depth == 0) {
		tsan_release(&rcu_clock);	/* before the grace period can end */
		rcu_quiescent(f);
	}
	sched_point_at(CALLER_SITE());	/* after the release: see "STEP" above */
}

void mmf_call_rcu(struct mmf_rcu_head *head, void (*fn)(struct mmf_rcu_head *head))
{
	sched_point_at(CALLER_SITE());
	head->func = fn;
	CB_NEXT(head) = NULL;
	CB_GP(head) = gp_snap();
	*rcu.cb_last = head;
	rcu.cb_last = &CB_NEXT(head);
	rcu.cb_queued++;
	tsan_release(head);
	gp_request(CB_GP(head));
}

void mmf_synchronize_rcu(void)
{
	uint64_t gp;

	sched_point_at(CALLER_SITE());
	if (sched.cur->rcu_depth)
		mmf_sync_bug("mmf_synchronize_rcu inside a read-side section");
	might_sleep("synchronize_rcu", NULL);
	if (sched.running && !in_fiber())
		mmf_sync_bug("mmf_synchronize_rcu inside an RCU callback");
	gp = gp_snap();
	if (!in_fiber()) {
		main_complete_gps(gp);
		main_run_callbacks();
	} else {
		gp_request(gp);
		while (rcu.gp_seq < gp)
			block_on(WAIT_GP, NULL, gp, CALLER_SITE());
	}
	tsan_acquire(&rcu_clock);
}

void mmf_rcu_barrier(void)
{
	uint64_t target;

	sched_point_at(CALLER_SITE());
	if (sched.cur->rcu_depth)
		mmf_sync_bug("mmf_rcu_barrier inside a read-side section");
	might_sleep("rcu_barrier", NULL);
	if (!in_fiber()) {
		if (sched.running)
			mmf_sync_bug("mmf_rcu_barrier inside an RCU callback");
		main_run_callbacks();
	} else {
		target = rcu.cb_queued;
		while (rcu.cb_done < target)
			block_on(WAIT_BARRIER, NULL, target, CALLER_SITE());
	}
	tsan_acquire(&cb_clock);
}

/* ---- reports ------------------------------------------------------------------------- */

/* Who holds lock obj, as "fiber 1" / "fiber 0, fiber 2 (read)" / "nobody". */
static void holders(const void *obj, char *buf, size_t len)
{
	struct fiber *all[MMF_SCHED_MAX_FIBERS + 2];
	size_t off = 0;
	int n = 0, i, j;

	all[n++] = &sched.main;
	for (i = 0; i < sched.nr_fibers; i++)
		all[n++] = sched.fibers[i];
	buf[0] = 0;
	for (i = 0; i < n; i++) {
		for (j = 0; j < all[i]->nr_held; j++) {
			char b[32];

			if (all[i]->held[j].obj != obj || off >= len)
				continue;
			off += snprintf(buf + off, len - off, "%s%s%s", off ? ", " : "",
					who(all[i], b, sizeof(b)),
					all[i]->held[j].kind == LK_RWSEM_READ ? " (read)" : "");
			break;
		}
	}
	if (!off)
		snprintf(buf, len, "nobody");
}

/* What blocked fiber f waits for, in one line (no addresses: a signature). */
static void describe_wait(const struct fiber *f, char *buf, size_t len)
{
	char site[256], h[128];
	int i;

	mmf_sched_site_str(f->wait_site, site, sizeof(site));
	switch (f->wait) {
	case WAIT_GP: {
		size_t off = 0;

		h[0] = 0;
		for (i = 0; i < sched.nr_fibers && off < sizeof(h); i++)
			if (sched.fibers[i]->gp_holdout)
				off += snprintf(h + off, sizeof(h) - off, " %d", sched.fibers[i]->id);
		snprintf(buf, len, "waits for grace period %llu at %s (readers still inside:%s)",
			 (unsigned long long)f->wait_target, site, off ? h : " none");
		break;
	}
	case WAIT_BARRIER:
		snprintf(buf, len, "waits in rcu_barrier at %s (%llu of %llu callbacks run)", site,
			 (unsigned long long)rcu.cb_done, (unsigned long long)f->wait_target);
		break;
	default:
		holders(f->wait_obj, h, sizeof(h));
		snprintf(buf, len, "waits for %s at %s (held by %s)", wait_name[f->wait], site, h);
		break;
	}
}

static void dump_one(FILE *out, const struct fiber *f)
{
	static const char *const state[] = { "runnable", "blocked", "done" };
	char b[32], line[512], site[256];
	int i;

	fprintf(out, "  %s: %s", who(f, b, sizeof(b)), f->id >= 0 ? state[f->state] : "");
	if (f->id >= 0 && f->state == FIBER_BLOCKED) {
		describe_wait(f, line, sizeof(line));
		fprintf(out, ", %s", line);
		if (f->wait_obj)
			fprintf(out, " on %p", f->wait_obj);
	}
	if (f->rcu_depth)
		fprintf(out, ", inside an RCU read-side section (depth %d)", f->rcu_depth);
	fputc('\n', out);
	for (i = f->nr_held - 1; i >= 0; i--)
		fprintf(out, "    holds %s %p, taken at %s\n", lock_kind_name[f->held[i].kind],
			f->held[i].obj, mmf_sched_site_str(f->held[i].site, site, sizeof(site)));
	if (f->locks_held > f->nr_held)
		fprintf(out, "    ... and %d more\n", f->locks_held - f->nr_held);
}

static void dump_state(FILE *out)
{
	int i;

	fprintf(out, "mmf_sched: step %llu, %d fibers, schedule byte %zu of %zu, "
		"grace periods ended %llu%s, callbacks run %llu of %llu\n",
		(unsigned long long)sched.clock, sched.nr_fibers, sched.pos, sched.len,
		(unsigned long long)rcu.gp_seq, rcu.gp_active ? " (one in progress)" : "",
		(unsigned long long)rcu.cb_done, (unsigned long long)rcu.cb_queued);
	for (i = 0; i < sched.nr_fibers; i++)
		dump_one(out, sched.fibers[i]);
	if (sched.main.locks_held || sched.main.rcu_depth)
		dump_one(out, &sched.main);
}

static void report_deadlock(void)
{
	char msg[1024], line[512];
	size_t off = 0;
	int i;

	fflush(stdout);
	fprintf(stderr, "mmf_sched: deadlock: no fiber can run\n");
	dump_state(stderr);
	msg[0] = 0;
	for (i = 0; i < sched.nr_fibers && off < sizeof(msg); i++) {
		struct fiber *f = sched.fibers[i];

		if (f->state != FIBER_BLOCKED)
			continue;
		describe_wait(f, line, sizeof(line));
		off += snprintf(msg + off, sizeof(msg) - off, "%sfiber %d %s", off ? "; " : "",
				f->id, line);
	}
	mmf_sync_bug("deadlock: %s", msg);
}

static void report_livelock(uint32_t site)
{
	char s[256], b[32];

	fflush(stdout);
	fprintf(stderr, "mmf_sched: livelock: more than %llu steps\n",
		(unsigned long long)sched.max_steps);
	dump_state(stderr);
	mmf_sync_bug("livelock: more than %llu scheduling steps; %s at %s",
		     (unsigned long long)sched.max_steps, who(sched.cur, b, sizeof(b)),
		     mmf_sched_site_str(site, s, sizeof(s)));
}

/* ---- fiber stacks ------------------------------------------------------------------------ */

/*
 * Stacks are malloc'd.  mmf_sched_end keeps up to MMF_SCHED_MAX_FIBERS of
 * them for the next run (a fuzzer runs thousands per second; allocating
 * 256 KiB blocks and handing them back dominated a run under ASan).
 * A reused stack is unpoisoned for ASan (the frames of the fiber that
 * ended on it never returned, their redzones are still poisoned).  TSan
 * needs nothing: every access of the fiber that ended happens-before the
 * next fiber on its stack (its exit releases tsan_sync, the end of the run
 * acquires it, spawn releases the new fiber's, which its entry acquires),
 * and the switch code that runs after the exit's release is not
 * instrumented.
 */
#ifdef MMF_ASAN
void __asan_unpoison_memory_region(const volatile void *addr, size_t size);
#endif

static void *stack_cache[MMF_SCHED_MAX_FIBERS];
static int nr_stack_cache;

static void *stack_alloc(void)
{
	void *stack;

	if (nr_stack_cache) {
		stack = stack_cache[--nr_stack_cache];
#ifdef MMF_ASAN
		__asan_unpoison_memory_region(stack, SCHED_STACK_SIZE);
#endif
		return stack;
	}
	stack = malloc(SCHED_STACK_SIZE);
	if (!stack)
		abort();
	return stack;
}

static void stack_free(void *stack)
{
	if (nr_stack_cache < MMF_SCHED_MAX_FIBERS) {
		stack_cache[nr_stack_cache++] = stack;
		return;
	}
	free(stack);
}

/* ---- control (sched.h) ----------------------------------------------------------------- */

static void free_fibers(void)
{
	int i;

	for (i = 0; i < sched.nr_fibers; i++) {
		struct fiber *f = sched.fibers[i];

#ifdef MMF_TSAN
		__tsan_destroy_fiber(f->tsan_fiber);
#endif
		stack_free(f->stack);
		free(f);
		sched.fibers[i] = NULL;
	}
	sched.nr_fibers = 0;
}

void mmf_sched_begin(const struct mmf_sched_opts *opts)
{
	if (sched.running)
		mmf_sync_bug("mmf_sched_begin inside mmf_sched_run");
	if (sched.begun)
		mmf_sched_end();
	free(sched.bytes);
	sched.bytes = NULL;
	sched.len = sched.pos = 0;
	if (opts->schedule_len) {
		sched.bytes = malloc(opts->schedule_len);
		if (!sched.bytes)
			abort();
		memcpy(sched.bytes, opts->schedule, opts->schedule_len);
		sched.len = opts->schedule_len;
	}
	sched.max_steps = opts->max_steps ? opts->max_steps : SCHED_MAX_STEPS;
	sched.on_switch = opts->on_switch;
	sched.on_switch_ctx = opts->ctx;
	sched.record_trace = opts->record_trace;
	sched.choose = opts->choose;
	sched.choose_ctx = opts->choose_ctx;
	sched.run_left = 0;
	sched.clock = 0;
	sched.hash = 0xcbf29ce484222325ULL;
	sched.switches = 0;
	sched.nr_trace = 0;
	sched.begun = true;
#ifdef MMF_TSAN
	sched.main_tsan_fiber = __tsan_get_current_fiber();
#endif
}

int mmf_sched_spawn(mmf_fiber_fn fn, void *arg)
{
	struct fiber *f;

	if (!sched.begun)
		mmf_sync_bug("mmf_sched_spawn before mmf_sched_begin");
	if (sched.nr_fibers == MMF_SCHED_MAX_FIBERS)
		mmf_sync_bug("mmf_sched_spawn: more than %d fibers", MMF_SCHED_MAX_FIBERS);
	f = calloc(1, sizeof(*f));
	if (!f)
		abort();
	f->stack = stack_alloc();
	f->id = sched.nr_fibers;
	f->state = FIBER_RUNNABLE;
	f->fn = fn;
	f->arg = arg;
	context_init(&f->ctx, f->stack, SCHED_STACK_SIZE);
#ifdef MMF_TSAN
	f->tsan_fiber = __tsan_create_fiber(0);
#endif
	tsan_release(&f->tsan_sync);	/* the spawner's history reaches the fiber */
	sched.fibers[sched.nr_fibers++] = f;
	return f->id;
}

static void note_switch(uint32_t site, struct fiber *from, struct fiber *to)
{
	sched.switches++;
	if (sched.on_switch)
		sched.on_switch(sched.on_switch_ctx, site, from->id, to->id);
}

/*
 * The scheduler loop, in the main context.  `next` is chosen by whoever
 * left the CPU (a fiber at its point, block or exit; the RCU runner
 * here); NULL means nobody can run: done, or a deadlock.
 */
void mmf_sched_run(void)
{
	struct fiber *prev = NULL, *next;
	uint32_t site = 0;
	int i;

	if (!sched.begun)
		mmf_sync_bug("mmf_sched_run before mmf_sched_begin");
	if (sched.running || sched.cur != &sched.main)
		mmf_sync_bug("mmf_sched_run called from a fiber");
	/* a grace period could never end: callbacks and synchronize_rcu would hang */
	if (sched.main.rcu_depth)
		mmf_sync_bug("mmf_sched_run inside an RCU read-side section");
	sched.running = true;
	next = decide(&sched.main, MUST_LEAVE);
	while (next) {
		if (prev && prev != next)
			note_switch(site, prev, next);
		prev = next;
		if (next == &sched.rcu) {
			site = rcu_step();
			if (sched.run_left && rcu_has_work())
				sched.run_left--;
			else
				next = decide(&sched.rcu, MAY_KEEP);
			continue;
		}
		resume_fiber(next);
		next = sched.next;
		site = sched.switch_site;
	}
	for (i = 0; i < sched.nr_fibers; i++)
		if (sched.fibers[i]->state != FIBER_DONE)
			report_deadlock();
	if (rcu.cb_first || rcu.gp_active)
		mmf_sync_bug("mmf_sched_run: RCU work left (%llu of %llu callbacks run)",
			     (unsigned long long)rcu.cb_done, (unsigned long long)rcu.cb_queued);
	sched.running = false;
	for (i = 0; i < sched.nr_fibers; i++)
		tsan_acquire(&sched.fibers[i]->tsan_sync);
}

void mmf_sched_end(void)
{
	if (sched.running)
		mmf_sync_bug("mmf_sched_end inside mmf_sched_run");
	free_fibers();
	free(sched.bytes);
	sched.bytes = NULL;
	sched.len = sched.pos = 0;
	sched.begun = false;
}

int mmf_sched_current(void)
{
	return sched.running ? sched.cur->id : MAIN_ID;
}

uint64_t mmf_sched_clock(void)
{
	return sched.clock;
}

uint64_t mmf_sched_trace_hash(void)
{
	return sched.hash;
}

uint64_t mmf_sched_switches(void)
{
	return sched.switches;
}

size_t mmf_sched_bytes_used(void)
{
	return sched.pos;
}

const struct mmf_sched_step *mmf_sched_trace(size_t *nr_steps)
{
	*nr_steps = sched.nr_trace;
	return sched.trace;
}

#ifdef __clang__
#pragma clang attribute pop
#endif

/* sync.h: delay injection is for real threads; the schedule is the input here */
bool mmf_sync_jitter(unsigned rate, unsigned long seed)
{
	(void)rate;
	(void)seed;
	return false;
}
