/* SPDX-License-Identifier: MIT */
/*
 * core/sync_native.c - the native backend of core/sync.h: futexes for the
 * mutex (pthread under TSan) and the rwsem, pthreads for the spinlock,
 * liburcu (memb flavour) for RCU, C11/GNU atomics for the rest.
 *
 * Only this file (and the future sync_sched.c) includes pthread/urcu headers.
 *
 * ThreadSanitizer: pthread mutexes, condition variables and spinlocks are
 * intercepted by TSan, so those locks are visible to it as they stand (the
 * TSan build keeps the pthread mutex); the futex rwsem synchronises
 * through atomics, which TSan sees too.
 * liburcu is not instrumented: its read side is plain loads/stores plus
 * membarrier, its grace-period wait is invisible.  We use only its read
 * side and urcu_memb_synchronize_rcu(); call_rcu and rcu_barrier are our
 * own (pthread-based, hence visible).  tsan_acquire/tsan_release add the
 * happens-before edges RCU guarantees (see the RCU section of sync.h).
 */
#include "sync.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <urcu/urcu-memb.h>

#if defined(__SANITIZE_THREAD__)
#define MMF_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MMF_TSAN 1
#endif
#endif

/* For experiments only: -DMMF_SYNC_NO_TSAN_ANNOTATIONS shows what TSan
 * reports on a correct core when it is not told about grace periods. */
#ifdef MMF_SYNC_NO_TSAN_ANNOTATIONS
#undef MMF_TSAN
#endif

#ifdef MMF_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define tsan_acquire(a)	__tsan_acquire(a)
#define tsan_release(a)	__tsan_release(a)
#else
#define tsan_acquire(a)	((void)(a))
#define tsan_release(a)	((void)(a))
#endif

/* ---- per-thread state ------------------------------------------------------ */

static _Thread_local char self_token;
static _Thread_local int locks_held;
static _Thread_local int rcu_depth;
static _Thread_local int rcu_registered;	/* explicit register nesting + auto */
static _Thread_local int rcu_auto;		/* registered automatically */

const void *mmf_sync_self(void)
{
	return &self_token;
}

void mmf_sync_bug(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("mmf_sync_bug: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

static inline void held_inc(void)
{
	if (MMF_SYNC_DEBUG)
		locks_held++;
}

static inline void held_dec(const char *what, const void *obj)
{
	if (!MMF_SYNC_DEBUG)
		return;
	if (locks_held <= 0)
		mmf_sync_bug("%s %p released but this thread holds no lock", what, obj);
	locks_held--;
}

int mmf_sync_locks_held(void)
{
	return MMF_SYNC_DEBUG ? locks_held : -1;
}

int mmf_rcu_read_depth(void)
{
	return MMF_SYNC_DEBUG ? rcu_depth : -1;
}

static void check(int err, const char *what)
{
	if (err)
		mmf_sync_bug("%s: %s", what, strerror(err));
}

/* ---- futex lock word ------------------------------------------------------- */

/*
 * The classic three-state futex lock on a 32-bit word: 0 free, 1 held,
 * 2 held and maybe awaited.  A locker spins a little, then marks the word
 * 2 and sleeps; an unlock that finds 2 wakes one sleeper.  Acquire on
 * taking, release on dropping: TSan sees the hand-over through these
 * atomics.  Used by the mutex (but under TSan) and the raw lock.
 */
#define LOCKWORD_SPINS	64

static inline bool lockword_trylock(uint32_t *w)
{
	uint32_t c = 0;

	return __atomic_compare_exchange_n(w, &c, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

static void lockword_lock(uint32_t *w)
{
	int spins;

	if (lockword_trylock(w))
		return;
	for (spins = 0; spins < LOCKWORD_SPINS; spins++) {
		mmf_cpu_relax();
		if (!__atomic_load_n(w, __ATOMIC_RELAXED) && lockword_trylock(w))
			return;
	}
	/* sleep: mark it awaited (2); whoever frees it wakes one of us */
	while (__atomic_exchange_n(w, 2, __ATOMIC_ACQUIRE) != 0)
		syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
}

static inline void lockword_unlock(uint32_t *w)
{
	if (__atomic_exchange_n(w, 0, __ATOMIC_RELEASE) == 2)
		syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* ---- mutex ------------------------------------------------------------------ */

/*
 * A futex mutex (the classic three states: 0 free, 1 held, 2 held and
 * maybe awaited; a locker that must wait sets 2 and sleeps, an unlock that
 * finds 2 wakes one), a few instructions per uncontended round trip where
 * pthread_mutex_lock/unlock cost ~60 (exec-like churn takes world->lock
 * per file mmap).  Under TSan the pthread mutex is kept: TSan's deadlock
 * detector watches it, and nothing would watch the futex.
 */
#ifdef MMF_TSAN
struct mutex_impl {
	pthread_mutex_t m;
	const void *owner;	/* atomic; debug only */
};
#else
struct mutex_impl {
	uint32_t word;		/* 0 free, 1 held, 2 held with (maybe) sleepers */
	const void *owner;	/* atomic; debug only */
};
#endif
_Static_assert(sizeof(struct mutex_impl) <= sizeof(struct mmf_mutex), "mmf_mutex too small");
_Static_assert(_Alignof(struct mutex_impl) <= _Alignof(struct mmf_mutex), "mmf_mutex alignment");

#define MUTEX(x) ((struct mutex_impl *)(x)->impl_)

#ifdef MMF_TSAN
static void mutex_raw_init(struct mutex_impl *i)
{
	check(pthread_mutex_init(&i->m, NULL), "pthread_mutex_init");
}

static void mutex_raw_destroy(struct mutex_impl *i)
{
	check(pthread_mutex_destroy(&i->m), "pthread_mutex_destroy");
}

static void mutex_raw_lock(struct mutex_impl *i)
{
	check(pthread_mutex_lock(&i->m), "pthread_mutex_lock");
}

static bool mutex_raw_trylock(struct mutex_impl *i)
{
	int err = pthread_mutex_trylock(&i->m);

	if (err == EBUSY)
		return false;
	check(err, "pthread_mutex_trylock");
	return true;
}

static void mutex_raw_unlock(struct mutex_impl *i)
{
	check(pthread_mutex_unlock(&i->m), "pthread_mutex_unlock");
}
#else
static void mutex_raw_init(struct mutex_impl *i)
{
	i->word = 0;
}

static void mutex_raw_destroy(struct mutex_impl *i)
{
	if (__atomic_load_n(&i->word, __ATOMIC_RELAXED))
		mmf_sync_bug("mutex %p destroyed while held", (void *)i);
}

static bool mutex_raw_trylock(struct mutex_impl *i)
{
	return lockword_trylock(&i->word);
}

static void mutex_raw_lock(struct mutex_impl *i)
{
	lockword_lock(&i->word);
}

static void mutex_raw_unlock(struct mutex_impl *i)
{
	lockword_unlock(&i->word);
}
#endif

void mmf_mutex_init(struct mmf_mutex *m)
{
	memset(m, 0, sizeof(*m));
	mutex_raw_init(MUTEX(m));
}

void mmf_mutex_destroy(struct mmf_mutex *m)
{
	mutex_raw_destroy(MUTEX(m));
}

static inline void set_owner(const void **owner, const void *who)
{
	if (MMF_SYNC_DEBUG)
		__atomic_store_n(owner, who, __ATOMIC_RELAXED);
}

static inline const void *get_owner(const void *const *owner)
{
	return __atomic_load_n(owner, __ATOMIC_RELAXED);
}

void mmf_mutex_lock(struct mmf_mutex *m)
{
	struct mutex_impl *i = MUTEX(m);

	MMF_SYNC_POINT();
	if (MMF_SYNC_DEBUG && get_owner(&i->owner) == mmf_sync_self())
		mmf_sync_bug("mutex %p: recursive lock", (void *)m);
	mutex_raw_lock(i);
	set_owner(&i->owner, mmf_sync_self());
	held_inc();
}

bool mmf_mutex_trylock(struct mmf_mutex *m)
{
	struct mutex_impl *i = MUTEX(m);

	MMF_SYNC_POINT();
	if (!mutex_raw_trylock(i))
		return false;
	set_owner(&i->owner, mmf_sync_self());
	held_inc();
	return true;
}

void mmf_mutex_unlock(struct mmf_mutex *m)
{
	struct mutex_impl *i = MUTEX(m);

	if (MMF_SYNC_DEBUG && get_owner(&i->owner) != mmf_sync_self())
		mmf_sync_bug("mutex %p: unlocked by a thread that does not hold it", (void *)m);
	held_dec("mutex", m);
	set_owner(&i->owner, NULL);
	mutex_raw_unlock(i);
}

bool mmf_mutex_is_held(struct mmf_mutex *m)
{
	return !MMF_SYNC_DEBUG || get_owner(&MUTEX(m)->owner) == mmf_sync_self();
}

/* ---- rwsem ------------------------------------------------------------------ */

/*
 * A writer-preferring rwsem in one 32-bit word, sleeping on a futex.
 *
 *   bits 0-15   RW_READERS   readers holding it
 *   bits 16-29  RW_WWAIT     writers waiting (they stop new readers)
 *   bit  30     RW_WRITER    held for write
 *   bit  31     RW_SLEEPERS  somebody sleeps (or is about to) in FUTEX_WAIT
 *
 * Every change of the word is an atomic RMW: taking it is an acquire,
 * dropping it a release (TSan sees these, see below).
 * A waiter sets RW_SLEEPERS in the value it then waits on; FUTEX_WAIT
 * returns at once if the word changed meanwhile, so no wakeup is lost.  A
 * release that can let somebody in (the writer leaves, the last reader
 * leaves, a downgrade) and finds RW_SLEEPERS clears it and wakes every
 * sleeper; those that still cannot enter set it again and sleep again.
 * Contention is rare in the core (mmap_lock between ops of one process, a
 * VMA's lock between a fault and a writer), so waking all is simple and
 * cheap enough.  Before sleeping, a waiter spins a little (the holders'
 * sections are short).
 *
 * The word must not be taken twice by one thread for read (sync.h): a
 * writer waiting in between would deadlock it, as in the kernel.
 */
#define RW_READER	1u
#define RW_READERS	0xffffu
#define RW_WWAIT_ONE	(1u << 16)
#define RW_WWAIT	(0x3fffu << 16)
#define RW_WRITER	(1u << 30)
#define RW_SLEEPERS	(1u << 31)
#define RW_SPINS	64

struct rwsem_impl {
	uint32_t word;
	const void *owner;	/* writer; atomic; debug only */
};
_Static_assert(sizeof(struct rwsem_impl) <= sizeof(struct mmf_rwsem), "mmf_rwsem too small");
_Static_assert(_Alignof(struct rwsem_impl) <= _Alignof(struct mmf_rwsem), "mmf_rwsem alignment");

#define RWSEM(x) ((struct rwsem_impl *)(x)->impl_)

/*
 * TSan: the futex is invisible to it, but every hand-over goes through the
 * word's atomics (taking: an acquire CAS reading what the last release
 * wrote; every change an RMW, so the release sequences hold), and TSan
 * derives the happens-before from them as it does for any atomic.  The
 * rwsem is not also described with the __tsan_mutex_* annotations: they
 * make TSan's deadlock detector see rwsem holdings (which it never saw in
 * the pthread mutex+condvar version either), and it then reports fork's
 * world->lock -> child mmap_lock against exit's mmap_lock -> world->lock
 * as a lock-order inversion, though the child's lock is new and free when
 * fork takes it (core_fork), so no thread can wait on it there.
 */
static inline uint32_t rw_load(struct rwsem_impl *i)
{
	return __atomic_load_n(&i->word, __ATOMIC_RELAXED);
}

static inline bool rw_cas(struct rwsem_impl *i, uint32_t *old, uint32_t new_)
{
	return __atomic_compare_exchange_n(&i->word, old, new_, false, __ATOMIC_ACQUIRE,
					   __ATOMIC_RELAXED);
}

static inline bool read_may_enter(uint32_t w)
{
	return !(w & (RW_WRITER | RW_WWAIT)) && (w & RW_READERS) != RW_READERS;
}

static inline bool write_may_enter(uint32_t w)
{
	return !(w & (RW_WRITER | RW_READERS));
}

/*
 * The word is w and the caller cannot enter: spin a little, then announce
 * a sleeper and sleep until the word changes.  Returns the word to retry on.
 */
static uint32_t rw_wait(struct rwsem_impl *i, uint32_t w, int *spins)
{
	if ((*spins)++ < RW_SPINS) {
		mmf_cpu_relax();
		return rw_load(i);
	}
	if (!(w & RW_SLEEPERS) &&
	    !__atomic_compare_exchange_n(&i->word, &w, w | RW_SLEEPERS, false,
					 __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		return w;	/* it changed: look again */
	syscall(SYS_futex, &i->word, FUTEX_WAIT_PRIVATE, w | RW_SLEEPERS, NULL, NULL, 0);
	return rw_load(i);
}

/* A release found old (the word before it): wake the sleepers if any. */
static inline void rw_wake(struct rwsem_impl *i, uint32_t old)
{
	if (!(old & RW_SLEEPERS))
		return;
	__atomic_fetch_and(&i->word, ~RW_SLEEPERS, __ATOMIC_RELAXED);
	syscall(SYS_futex, &i->word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

void mmf_rwsem_init(struct mmf_rwsem *s)
{
	/* one rwsem per VMA: this is on fork's and mmap's paths, keep it a store */
	memset(s, 0, sizeof(struct rwsem_impl));
}

void mmf_rwsem_destroy(struct mmf_rwsem *s)
{
	uint32_t w = rw_load(RWSEM(s));

	if (w & (RW_WRITER | RW_READERS | RW_WWAIT))
		mmf_sync_bug("rwsem %p destroyed while held or awaited (word %#x)", (void *)s, w);
}

/* Take it for read; the caller is no writer of it.  try: give up instead of waiting. */
static bool read_acquire(struct rwsem_impl *i, bool try)
{
	uint32_t w = rw_load(i);
	int spins = 0;

	for (;;) {
		if (read_may_enter(w)) {
			if (rw_cas(i, &w, w + RW_READER))
				return true;
			continue;
		}
		if (try)
			return false;
		w = rw_wait(i, w, &spins);
	}
}

void mmf_down_read(struct mmf_rwsem *s)
{
	struct rwsem_impl *i = RWSEM(s);

	MMF_SYNC_POINT();
	if (MMF_SYNC_DEBUG && get_owner(&i->owner) == mmf_sync_self())
		mmf_sync_bug("rwsem %p: down_read while holding it for write", (void *)s);
	read_acquire(i, false);
	held_inc();
}

bool mmf_down_read_trylock(struct mmf_rwsem *s)
{
	struct rwsem_impl *i = RWSEM(s);
	bool ok;

	MMF_SYNC_POINT();
	ok = read_acquire(i, true);
	if (ok)
		held_inc();
	return ok;
}

void mmf_up_read(struct mmf_rwsem *s)
{
	struct rwsem_impl *i = RWSEM(s);
	uint32_t old;

	MMF_SYNC_POINT();
	held_dec("rwsem(read)", s);
	if (!(rw_load(i) & RW_READERS))
		mmf_sync_bug("rwsem %p: up_read but not read-locked (word %#x)", (void *)s,
			     rw_load(i));
	old = __atomic_fetch_sub(&i->word, RW_READER, __ATOMIC_RELEASE);
	/* only the last reader's leaving lets anybody in (a writer) */
	if ((old & RW_READERS) == RW_READER)
		rw_wake(i, old);
}

/* Take it for write.  try: only if free now, without queueing as a waiter. */
static bool write_acquire(struct rwsem_impl *i, bool try)
{
	uint32_t w = 0;
	int spins = 0;

	if (rw_cas(i, &w, RW_WRITER))
		return true;		/* uncontended */
	if (try) {
		while (write_may_enter(w))
			if (rw_cas(i, &w, w | RW_WRITER))
				return true;
		return false;
	}
	/* queue: new readers wait from here on (writer preference) */
	w = __atomic_add_fetch(&i->word, RW_WWAIT_ONE, __ATOMIC_RELAXED);
	for (;;) {
		if (write_may_enter(w)) {
			if (rw_cas(i, &w, (w - RW_WWAIT_ONE) | RW_WRITER))
				return true;
			continue;
		}
		w = rw_wait(i, w, &spins);
	}
}

void mmf_down_write(struct mmf_rwsem *s)
{
	struct rwsem_impl *i = RWSEM(s);

	MMF_SYNC_POINT();
	if (MMF_SYNC_DEBUG && get_owner(&i->owner) == mmf_sync_self())
		mmf_sync_bug("rwsem %p: recursive down_write", (void *)s);
	write_acquire(i, false);
	set_owner(&i->owner, mmf_sync_self());
	held_inc();
}

bool mmf_down_write_trylock(struct mmf_rwsem *s)
{
	struct rwsem_impl *i = RWSEM(s);
	bool ok;

	MMF_SYNC_POINT();
	ok = write_acquire(i, true);
	if (ok) {
		set_owner(&i->owner, mmf_sync_self());
		held_inc();
	}
	return ok;
}

static void write_owned_or_bug(struct mmf_rwsem *s, const char *what)
{
	struct rwsem_impl *i = RWSEM(s);

	if (!(rw_load(i) & RW_WRITER) ||
	    (MMF_SYNC_DEBUG && get_owner(&i->owner) != mmf_sync_self()))
		mmf_sync_bug("rwsem %p: %s by a thread that does not hold it for write",
			     (void *)s, what);
}

void mmf_up_write(struct mmf_rwsem *s)
{
	struct rwsem_impl *i = RWSEM(s);
	uint32_t old;

	MMF_SYNC_POINT();
	held_dec("rwsem(write)", s);
	write_owned_or_bug(s, "up_write");
	set_owner(&i->owner, NULL);
	old = __atomic_fetch_and(&i->word, ~RW_WRITER, __ATOMIC_RELEASE);
	rw_wake(i, old);
}

void mmf_downgrade_write(struct mmf_rwsem *s)
{
	struct rwsem_impl *i = RWSEM(s);
	uint32_t old;

	write_owned_or_bug(s, "downgrade_write");
	set_owner(&i->owner, NULL);
	/* writer -> one reader, in one step: no writer can get in between */
	old = __atomic_fetch_add(&i->word, RW_READER - RW_WRITER, __ATOMIC_RELEASE);
	rw_wake(i, old);		/* waiting readers may enter now */
}

bool mmf_rwsem_is_write_locked(struct mmf_rwsem *s)
{
	struct rwsem_impl *i = RWSEM(s);

	if (!MMF_SYNC_DEBUG)
		return true;
	return get_owner(&i->owner) == mmf_sync_self();
}

bool mmf_rwsem_is_locked(struct mmf_rwsem *s)
{
	return (__atomic_load_n(&RWSEM(s)->word, __ATOMIC_ACQUIRE) &
		(RW_WRITER | RW_READERS)) != 0;
}

/* ---- spinlock ----------------------------------------------------------------- */

struct spin_impl {
	pthread_spinlock_t l;
};
_Static_assert(sizeof(struct spin_impl) <= sizeof(struct mmf_spinlock), "mmf_spinlock too small");

#define SPIN(x) ((struct spin_impl *)(x)->impl_)

void mmf_spin_init(struct mmf_spinlock *l)
{
	memset(l, 0, sizeof(*l));
	check(pthread_spin_init(&SPIN(l)->l, PTHREAD_PROCESS_PRIVATE), "pthread_spin_init");
}

void mmf_spin_destroy(struct mmf_spinlock *l)
{
	check(pthread_spin_destroy(&SPIN(l)->l), "pthread_spin_destroy");
}

void mmf_spin_lock(struct mmf_spinlock *l)
{
	MMF_SYNC_POINT();
	check(pthread_spin_lock(&SPIN(l)->l), "pthread_spin_lock");
	held_inc();
}

bool mmf_spin_trylock(struct mmf_spinlock *l)
{
	if (pthread_spin_trylock(&SPIN(l)->l) != 0)
		return false;
	held_inc();
	return true;
}

void mmf_spin_unlock(struct mmf_spinlock *l)
{
	held_dec("spinlock", l);
	check(pthread_spin_unlock(&SPIN(l)->l), "pthread_spin_unlock");
}

/* ---- raw lock ----------------------------------------------------------------- */

/*
 * A futex lock word (above), not a pure spinlock: its sections are a few
 * instructions (a free-list push or pop), but a holder preempted inside
 * one (2 vCPUs, loaded) kept the other thread spinning for its time
 * slice: 7% of exec-like churn's time went to that spin.
 */
_Static_assert(sizeof(((struct mmf_rawlock *)0)->impl_) == sizeof(uint32_t), "raw lock word");

void mmf_raw_lock(struct mmf_rawlock *l)
{
	lockword_lock((uint32_t *)&l->impl_);
}

void mmf_raw_unlock(struct mmf_rawlock *l)
{
	lockword_unlock((uint32_t *)&l->impl_);
}

/* ---- RCU ---------------------------------------------------------------------- */

/*
 * TSan-only synchronisation object (its address is what matters):
 * rcu_clock collects every reader's history at read_unlock, and is acquired
 * wherever a grace period is known to have ended.
 */
static char rcu_clock;

/* Unregister an automatically registered thread when it exits. */
static pthread_key_t rcu_key;
static pthread_once_t rcu_key_once = PTHREAD_ONCE_INIT;

static void rcu_thread_exit(void *arg)
{
	(void)arg;
	if (rcu_auto) {
		rcu_auto = 0;
		if (--rcu_registered == 0)
			urcu_memb_unregister_thread();
	}
}

static void rcu_key_init(void)
{
	check(pthread_key_create(&rcu_key, rcu_thread_exit), "pthread_key_create");
}

static void rcu_ensure_registered(void)
{
	if (rcu_registered)
		return;
	pthread_once(&rcu_key_once, rcu_key_init);
	urcu_memb_register_thread();
	rcu_registered = 1;
	rcu_auto = 1;
	pthread_setspecific(rcu_key, &rcu_auto);	/* non-NULL: run the destructor */
}

void mmf_rcu_register_thread(void)
{
	if (rcu_registered++ == 0)
		urcu_memb_register_thread();
}

void mmf_rcu_unregister_thread(void)
{
	if (rcu_registered <= rcu_auto)
		mmf_sync_bug("mmf_rcu_unregister_thread without register");
	if (rcu_depth)
		mmf_sync_bug("mmf_rcu_unregister_thread inside a read-side section");
	if (--rcu_registered == 0)
		urcu_memb_unregister_thread();
}

void mmf_rcu_read_lock(void)
{
	MMF_SYNC_POINT();
	rcu_ensure_registered();
	urcu_memb_read_lock();
	rcu_depth++;
}

void mmf_rcu_read_unlock(void)
{
	MMF_SYNC_POINT();
	if (rcu_depth <= 0)
		mmf_sync_bug("mmf_rcu_read_unlock without mmf_rcu_read_lock");
	if (--rcu_depth == 0)
		tsan_release(&rcu_clock);	/* before the grace period can end */
	urcu_memb_read_unlock();
}

/*
 * call_rcu: our own callback worker rather than liburcu's call_rcu threads,
 * so that the queue and rcu_barrier are built from TSan-visible pthread
 * primitives (liburcu's barrier allocates and frees its completion records
 * through uninstrumented synchronisation, which TSan reports as races).
 * liburcu provides the grace period: the worker takes the whole queue,
 * waits one urcu_memb_synchronize_rcu() for the batch, then runs it.
 * Callbacks run in call order, on the worker thread.
 */
static pthread_mutex_t cb_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cb_more = PTHREAD_COND_INITIALIZER;	/* queue not empty */
static pthread_cond_t cb_progress = PTHREAD_COND_INITIALIZER;	/* cb_completed grew */
static struct mmf_rcu_head *cb_first, **cb_last = &cb_first;	/* under cb_lock */
static unsigned long cb_queued, cb_completed;			/* under cb_lock */
static bool cb_worker_running;					/* under cb_lock */
static bool cb_hurry;		/* under cb_lock: a barrier waits, stop gathering */

/*
 * How long the worker lets callbacks gather after the first one wakes it,
 * so that one grace period (and one wakeup of the worker) serves all of
 * them: an exec-like fork+mmap+exit loop queued two callbacks per exit,
 * and waking the worker for each (futex wake, context switch, grace
 * period) cost more than the operations.  mmf_rcu_barrier cuts it short.
 */
#define CB_GATHER_NS	1000000L
static bool cb_deferred;	/* deferred mode: run callbacks in mmf_rcu_barrier() */

#define CB_NEXT(h) (*(struct mmf_rcu_head **)&(h)->impl_[0])

/* Take the whole queue; cb_lock held. */
static struct mmf_rcu_head *cb_take_queue(void)
{
	struct mmf_rcu_head *batch = cb_first;

	cb_first = NULL;
	cb_last = &cb_first;
	return batch;
}

/* Wait a grace period, then run a batch in call order and account for it. */
static void cb_run_batch(struct mmf_rcu_head *batch)
{
	struct mmf_rcu_head *h, *next;
	unsigned long n = 0;

	urcu_memb_synchronize_rcu();
	tsan_acquire(&rcu_clock);	/* every reader that could see the batch */
	for (h = batch; h; h = next) {
		next = CB_NEXT(h);
		h->func(h);
		n++;
	}
	pthread_mutex_lock(&cb_lock);
	cb_completed += n;
	pthread_cond_broadcast(&cb_progress);
	pthread_mutex_unlock(&cb_lock);
}

/* Let more callbacks join the queue (CB_GATHER_NS), unless a barrier
 * waits; cb_lock held.  call_rcu signals cb_more only on an empty queue,
 * so only the barrier ends the wait early. */
static void cb_gather(void)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += CB_GATHER_NS;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (!cb_hurry &&
	       pthread_cond_timedwait(&cb_more, &cb_lock, &until) != ETIMEDOUT)
		;
}

static void *cb_worker(void *arg)
{
	struct mmf_rcu_head *batch;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&cb_lock);
		while (!cb_first)
			pthread_cond_wait(&cb_more, &cb_lock);
		cb_gather();
		batch = cb_take_queue();
		cb_hurry = false;	/* every callback queued so far is taken */
		pthread_mutex_unlock(&cb_lock);
		cb_run_batch(batch);
	}
	return NULL;
}

/*
 * A forked child has no callback worker (only the forking thread survives):
 * start from an empty queue there.  Callbacks pending at fork time are the
 * parent's business; the child never runs them.
 */
static void cb_atfork_child(void)
{
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t c = PTHREAD_COND_INITIALIZER;

	cb_lock = m;
	cb_more = c;
	cb_progress = c;
	cb_first = NULL;
	cb_last = &cb_first;
	cb_queued = cb_completed = 0;
	cb_worker_running = false;
	cb_hurry = false;
}

void mmf_call_rcu(struct mmf_rcu_head *head, void (*fn)(struct mmf_rcu_head *head))
{
	static bool atfork_done;

	bool was_empty;

	head->func = fn;
	CB_NEXT(head) = NULL;
	pthread_mutex_lock(&cb_lock);
	was_empty = !cb_first;
	*cb_last = head;
	cb_last = &CB_NEXT(head);
	cb_queued++;
	if (!cb_worker_running && !cb_deferred) {
		pthread_t th;
		pthread_attr_t attr;

		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		check(pthread_create(&th, &attr, cb_worker, NULL), "pthread_create(call_rcu worker)");
		pthread_attr_destroy(&attr);
		cb_worker_running = true;
		if (!atfork_done) {
			pthread_atfork(NULL, NULL, cb_atfork_child);
			atfork_done = true;
		}
	}
	/* the worker waits only on an empty queue: wake it on the first entry */
	if (was_empty)
		pthread_cond_signal(&cb_more);
	pthread_mutex_unlock(&cb_lock);
}

void mmf_synchronize_rcu(void)
{
	if (rcu_depth)
		mmf_sync_bug("mmf_synchronize_rcu inside a read-side section");
	urcu_memb_synchronize_rcu();
	tsan_acquire(&rcu_clock);
}

void mmf_rcu_defer_callbacks(bool on)
{
	cb_deferred = on;
}

/* Deferred mode: the caller runs the queue (and what its callbacks queue). */
static void cb_run_deferred(void)
{
	struct mmf_rcu_head *batch;

	for (;;) {
		pthread_mutex_lock(&cb_lock);
		batch = cb_take_queue();
		pthread_mutex_unlock(&cb_lock);
		if (!batch)
			return;
		cb_run_batch(batch);
	}
}

void mmf_rcu_barrier(void)
{
	unsigned long target;

	if (rcu_depth)
		mmf_sync_bug("mmf_rcu_barrier inside a read-side section");
	if (cb_deferred && !cb_worker_running) {
		cb_run_deferred();
		return;
	}
	pthread_mutex_lock(&cb_lock);
	target = cb_queued;
	if (cb_completed < target) {
		cb_hurry = true;	/* the worker may be gathering: no more */
		pthread_cond_signal(&cb_more);
	}
	while (cb_completed < target)
		pthread_cond_wait(&cb_progress, &cb_lock);
	pthread_mutex_unlock(&cb_lock);
}

/* ---- delay injection (sync.h: mmf_sync_jitter) ------------------------------ */

#ifdef MMF_SYNC_JITTER
#include <sched.h>
#include <time.h>

int mmf_jitter_rate;			/* per 1024 points; 0: off */
static unsigned long jitter_seed;
static unsigned long jitter_threads;	/* threads that have drawn so far */
static _Thread_local uint64_t jitter_state;

/* xorshift64*, seeded per thread from the seed and the order in which
 * threads first draw (the delays differ from run to run: a replay run
 * again tries other delays) */
static uint64_t jitter_next(void)
{
	uint64_t x = jitter_state;

	if (!x) {
		unsigned long n = __atomic_add_fetch(&jitter_threads, 1, __ATOMIC_RELAXED);

		x = (__atomic_load_n(&jitter_seed, __ATOMIC_RELAXED) + n) *
		    0x9e3779b97f4a7c15ULL | 1;
	}
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	jitter_state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

void mmf_jitter_point(void)
{
	uint64_t r = jitter_next();
	unsigned rate = (unsigned)__atomic_load_n(&mmf_jitter_rate, __ATOMIC_RELAXED);

	if ((r & 1023) >= rate)
		return;
	switch ((r >> 10) & 3) {
	case 0:
		sched_yield();
		break;
	case 1:
	case 2:
		for (unsigned n = (r >> 12) & 4095; n; n--)
			mmf_cpu_relax();
		break;
	default: {
		struct timespec ts = { 0, 1000 + (long)((r >> 12) % 50000) };

		nanosleep(&ts, NULL);
		break;
	}
	}
}

bool mmf_sync_jitter(unsigned rate, unsigned long seed)
{
	if (rate > 1024)
		rate = 1024;
	__atomic_store_n(&jitter_seed, seed, __ATOMIC_RELAXED);
	__atomic_store_n(&mmf_jitter_rate, (int)rate, __ATOMIC_RELAXED);
	return true;
}
#else
bool mmf_sync_jitter(unsigned rate, unsigned long seed)
{
	(void)rate;
	(void)seed;
	return false;
}
#endif
