/* SPDX-License-Identifier: MIT */
/*
 * core/sync.h - the synchronisation layer of the optimized core.
 *
 * This is the ONLY header through which core/ code synchronises.  Core files
 * never include <pthread.h>, <urcu/...> or <stdatomic.h> themselves, so that
 * the backend can be swapped by a build switch:
 *
 *   native (core/sync_native.c)  pthreads + liburcu (memb flavour).  Under
 *                                ThreadSanitizer the backend tells TSan what
 *                                RCU guarantees (see "RCU" below).
 *   sched  (core/sync_sched.c)   deterministic cooperative fibers on one OS
 *                                thread, driven through core/sched_ctl.h.
 *                                Every primitive is a scheduling point:
 *                                MMF_SYNC_POINT() below, and the entry of
 *                                every out-of-line function (the exit, after
 *                                the release, of every unlock).
 *
 * Every object type here is the same size for both backends: the backend
 * keeps its own state in the opaque `impl_` storage and checks at compile
 * time that it fits.  Objects must be initialised with their *_init()
 * function and torn down with *_destroy() (no static initialisers).
 *
 * Naming: the kernel's names with an `mmf_` prefix (mmf_down_read,
 * mmf_call_rcu, ...), so that kernel readers recognise them and nothing
 * collides with liburcu's own rcu_* / call_rcu symbols.
 *
 * ---------------------------------------------------------------------------
 * Lock rules (what the primitives promise; where each lock of the core lives
 * and what it protects is documented at the object that embeds it, and the
 * lock ORDER is written once at the top of the file owning mmap_lock):
 *
 *  mmf_mutex     sleeping lock, not recursive.  Must be released by the thread
 *                that took it.  May not be taken inside an RCU read-side
 *                section (it may sleep).
 *  mmf_rwsem     sleeping reader/writer semaphore, writer-preferring: once a
 *                writer waits, new readers (and read trylocks) wait/fail, so
 *                a thread must never take the same rwsem for read twice.
 *                down_read_trylock / down_write_trylock never block and may
 *                be used inside an RCU read-side section (the per-VMA lock
 *                fast path does exactly that).  downgrade_write turns a held
 *                write lock into a read lock atomically.  Owner-checked in
 *                debug builds (mmf_rwsem_assert_write_locked).
 *  mmf_spinlock  short, non-sleeping; may be taken inside an RCU read-side
 *                section; never sleep or take a sleeping lock under it.
 *  mmf_rawlock   the innermost lock, for allocator bookkeeping only
 *                (core/objcache.c): a short section that uses no other
 *                primitive of this header and waits for nothing (it may
 *                call malloc; native: a waiter spins briefly, then sleeps
 *                on a futex, in case the holder was preempted).  NOT a
 *                scheduling point in the sched backend (so putting one on
 *                a path leaves every saved schedule as it was; the section
 *                cannot be contended there, having no point inside).  May
 *                be taken anywhere: under any lock, inside RCU read-side
 *                sections, in RCU callbacks.  Not counted by
 *                mmf_sync_locks_held().
 *  mmf_seqcount  writers must be serialised by a lock of their own; readers
 *                retry.  Data read under a seqcount must be read with
 *                mmf_read_once() (and written with mmf_write_once()), so that
 *                a torn read is a retry and not a data race for TSan.
 *  RCU           read-side sections nest, never block, never take a sleeping
 *                lock (trylocks are fine).  Memory unpublished by a writer may
 *                be freed only by an mmf_call_rcu() callback or after
 *                mmf_synchronize_rcu().  mmf_synchronize_rcu / mmf_rcu_barrier
 *                must not be called inside a read-side section.
 *
 * The locks of the core (where they live; the next step implements them and
 * writes the authoritative order at the top of the file owning mmap_lock):
 *
 *  mm->mmap_lock       mmf_rwsem in the mm.  Write: every change of the VMA
 *                      tree (vma_tree.h: writers hold it for write), of VMA
 *                      bounds/flags, map_count.  Read: faults that fell back,
 *                      snapshot.  Unlocking for write also ends every VMA
 *                      write lock at once by advancing mm->mm_lock_seq.
 *  vma->vm_lock        mmf_rwsem per VMA + vma->vm_lock_seq + vm_readers
 *                      (per-VMA locks, core/vma_lock.c).  Readers: announce
 *                      in vm_readers, mmf_down_read_trylock under RCU only,
 *                      re-check vm_lock_seq, attachment, mm, and range.
 *                      Writers: hold mmap_lock for write, set vm_lock_seq =
 *                      mm_lock_seq, and take vm_lock for write briefly only
 *                      when a reader is announced (to wait for it).
 *  file->i_mmap_rwsem  mmf_rwsem per file: the file's i_mmap set (rmap walk
 *                      by truncate takes it for read, (un)link for write).
 *  mm free list lock   protects the per-mm list of VMAs awaiting call_rcu
 *                      (throttled vm_area_free); innermost, never sleeps.
 *  RCU                 the VMA tree's nodes, VMAs and mms are freed through
 *                      mmf_call_rcu; names are refcounted (mmf_refcount).
 *  Order (outer first): mmap_lock -> vm_lock -> i_mmap_rwsem -> spinlocks.
 *
 * Debug tracking (MMF_SYNC_DEBUG, default on): the backend counts, per thread
 * (per fiber for the sched backend), the sleeping/spinning locks held and the
 * RCU read-side nesting depth, so that the invariant checker can assert "no
 * lock held between ops" (mmf_sync_locks_held() == 0 &&
 * mmf_rcu_read_depth() == 0).  Misuse (unlocking what is not held, refcount
 * underflow, synchronize_rcu inside a reader) ends in mmf_sync_bug().
 */
#ifndef MMF_CORE_SYNC_H
#define MMF_CORE_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef MMF_SYNC_DEBUG
#define MMF_SYNC_DEBUG 1
#endif

/*
 * MMF_SYNC_POINT(): a scheduling point.  Native: nothing (the OS schedules).
 * Sched: the fiber scheduler may switch to another fiber here.  Every lock,
 * RCU and atomic operation below passes through one.
 */
#if defined(MMF_SYNC_SCHED)
void mmf_sched_point(void);
void mmf_sched_spin(void);
#define MMF_SYNC_POINT()	mmf_sched_point()
#elif defined(MMF_SYNC_JITTER)
/* Native with delay injection (TSan builds, MMF_SYNC_JITTER in
 * core/CMakeLists.txt): one relaxed load per point until mmf_sync_jitter()
 * turns the delays on. */
extern int mmf_jitter_rate;
void mmf_jitter_point(void);
#define MMF_SYNC_POINT()						\
	(__builtin_expect(__atomic_load_n(&mmf_jitter_rate, __ATOMIC_RELAXED) != 0, 0) \
	 ? mmf_jitter_point() : (void)0)
#else
#define MMF_SYNC_POINT()	((void)0)
#endif

/*
 * Native backend: delay injection.  mmf_sync_jitter(rate, seed) makes every
 * scheduling point of every thread (each lock, unlock, RCU and atomic
 * operation) delay the thread with probability rate/1024: a yield, a spin
 * of up to a few thousand pauses, or a sleep of a few microseconds, drawn
 * from a per-thread generator seeded from `seed` and the thread's creation
 * order.  A race whose window is a few instructions wide on real threads
 * is then hit in a fair share of runs (race_replay --jitter), as rr's chaos
 * mode and the kernel's KCSAN delays widen windows.  rate 0 turns it off.
 * Returns false (and does nothing) when the build has no injection points
 * (not MMF_SYNC_JITTER) or the backend is sched.
 */
bool mmf_sync_jitter(unsigned rate, unsigned long seed);

/*
 * The inline primitives below are always inlined, even at -O0, so that the
 * sched backend's scheduling point sees the core's call site (the caller of
 * mmf_sched_point) rather than one out-of-line copy per translation unit.
 */
#define MMF_SYNC_INLINE	static inline __attribute__((always_inline))

/* Report a misuse of the synchronisation layer (or a core bug) and abort. */
void mmf_sync_bug(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));

/* An opaque token identifying the running thread (fiber, for sched). */
const void *mmf_sync_self(void);

/* ---- Debug tracking ------------------------------------------------------- */

/* Locks (mutex, rwsem read or write, spinlock) the calling thread holds;
 * -1 when the build does not track (MMF_SYNC_DEBUG=0). */
int mmf_sync_locks_held(void);
/* RCU read-side nesting depth of the calling thread (-1: not tracked). */
int mmf_rcu_read_depth(void);

/* ---- mutex ---------------------------------------------------------------- */

struct mmf_mutex {
	_Alignas(16) unsigned char impl_[64];
};

void mmf_mutex_init(struct mmf_mutex *m);
void mmf_mutex_destroy(struct mmf_mutex *m);
void mmf_mutex_lock(struct mmf_mutex *m);
void mmf_mutex_unlock(struct mmf_mutex *m);
bool mmf_mutex_trylock(struct mmf_mutex *m);		/* true: taken */
/* Debug builds: true when the calling thread holds m (always true otherwise). */
bool mmf_mutex_is_held(struct mmf_mutex *m);

/* ---- rwsem ---------------------------------------------------------------- */

/* 32 bytes: one per VMA, so its size is the VMA's (both backends fit;
 * the native one is a futex word and the debug owner) */
struct mmf_rwsem {
	_Alignas(8) unsigned char impl_[32];
};

void mmf_rwsem_init(struct mmf_rwsem *s);
void mmf_rwsem_destroy(struct mmf_rwsem *s);
void mmf_down_read(struct mmf_rwsem *s);
void mmf_up_read(struct mmf_rwsem *s);
void mmf_down_write(struct mmf_rwsem *s);
void mmf_up_write(struct mmf_rwsem *s);
bool mmf_down_read_trylock(struct mmf_rwsem *s);	/* true: taken */
bool mmf_down_write_trylock(struct mmf_rwsem *s);	/* true: taken */
/* Held for write by the caller -> held for read, with no writer in between. */
void mmf_downgrade_write(struct mmf_rwsem *s);
/* Debug builds: true when the calling thread holds s for write (the owner is
 * tracked); true for any read-or-write holder state when not tracked. */
bool mmf_rwsem_is_write_locked(struct mmf_rwsem *s);
/* true when somebody holds s (read or write); racy unless the caller holds it. */
bool mmf_rwsem_is_locked(struct mmf_rwsem *s);

#define mmf_rwsem_assert_write_locked(s)					\
	do {									\
		if (MMF_SYNC_DEBUG && !mmf_rwsem_is_write_locked(s))		\
			mmf_sync_bug("%s:%d: rwsem %p not write-locked by caller", \
				     __FILE__, __LINE__, (void *)(s));		\
	} while (0)

/* ---- spinlock ------------------------------------------------------------- */

struct mmf_spinlock {
	_Alignas(16) unsigned char impl_[16];
};

void mmf_spin_init(struct mmf_spinlock *l);
void mmf_spin_destroy(struct mmf_spinlock *l);
void mmf_spin_lock(struct mmf_spinlock *l);
void mmf_spin_unlock(struct mmf_spinlock *l);
bool mmf_spin_trylock(struct mmf_spinlock *l);		/* true: taken */

/* ---- raw lock (allocator bookkeeping; not a scheduling point) ------------- */

struct mmf_rawlock {
	int impl_;
};

static inline void mmf_raw_lock_init(struct mmf_rawlock *l) { l->impl_ = 0; }
void mmf_raw_lock(struct mmf_rawlock *l);
void mmf_raw_unlock(struct mmf_rawlock *l);

/* ---- atomics -------------------------------------------------------------- */

/*
 * Generic accessors over plain lvalues of integer or pointer type (GCC/clang
 * __atomic builtins: C11-atomic for TSan, no _Atomic qualifier needed, so a
 * field can be written plainly while private and atomically once shared).
 *
 *   mmf_read_once(x) / mmf_write_once(x, v)       relaxed (READ_ONCE/WRITE_ONCE)
 *   mmf_load_acquire(x) / mmf_store_release(x, v)
 *   mmf_xchg(x, v)                                 full barrier, returns old
 *   mmf_cmpxchg(x, old, new)                       full barrier, returns the
 *                                                   value found (== old: done)
 */
#define mmf_read_once(x)						\
	(MMF_SYNC_POINT(), __atomic_load_n(&(x), __ATOMIC_RELAXED))
#define mmf_write_once(x, v)						\
	do { MMF_SYNC_POINT(); __atomic_store_n(&(x), (v), __ATOMIC_RELAXED); } while (0)
#define mmf_load_acquire(x)						\
	(MMF_SYNC_POINT(), __atomic_load_n(&(x), __ATOMIC_ACQUIRE))
#define mmf_store_release(x, v)						\
	do { MMF_SYNC_POINT(); __atomic_store_n(&(x), (v), __ATOMIC_RELEASE); } while (0)
#define mmf_xchg(x, v)							\
	(MMF_SYNC_POINT(), __atomic_exchange_n(&(x), (v), __ATOMIC_SEQ_CST))
#define mmf_cmpxchg(x, old, new)					\
	({								\
		__typeof__(x) __o = (old);				\
		MMF_SYNC_POINT();					\
		__atomic_compare_exchange_n(&(x), &__o, (new), false,	\
					    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); \
		__o;							\
	})

/* Typed counters (kernel atomic_t / atomic_long_t): never accessed plainly. */
typedef struct { int v; } mmf_atomic_t;
typedef struct { long v; } mmf_atomic_long_t;

#define MMF_ATOMIC_OPS(T, type)						\
MMF_SYNC_INLINE type T##_read(const T##_t *a)				\
{ MMF_SYNC_POINT(); return __atomic_load_n(&a->v, __ATOMIC_RELAXED); }	\
MMF_SYNC_INLINE type T##_read_acquire(const T##_t *a)			\
{ MMF_SYNC_POINT(); return __atomic_load_n(&a->v, __ATOMIC_ACQUIRE); }	\
/* sequentially consistent load: orders after an earlier SC RMW (Dekker) */ \
MMF_SYNC_INLINE type T##_read_sc(const T##_t *a)			\
{ MMF_SYNC_POINT(); return __atomic_load_n(&a->v, __ATOMIC_SEQ_CST); }	\
MMF_SYNC_INLINE void T##_set(T##_t *a, type i)				\
{ MMF_SYNC_POINT(); __atomic_store_n(&a->v, i, __ATOMIC_RELAXED); }	\
MMF_SYNC_INLINE void T##_set_release(T##_t *a, type i)			\
{ MMF_SYNC_POINT(); __atomic_store_n(&a->v, i, __ATOMIC_RELEASE); }	\
MMF_SYNC_INLINE type T##_add_return(T##_t *a, type i)			\
{ MMF_SYNC_POINT(); return __atomic_add_fetch(&a->v, i, __ATOMIC_SEQ_CST); } \
MMF_SYNC_INLINE type T##_sub_return(T##_t *a, type i)			\
{ MMF_SYNC_POINT(); return __atomic_sub_fetch(&a->v, i, __ATOMIC_SEQ_CST); } \
MMF_SYNC_INLINE void T##_add(T##_t *a, type i)				\
{ MMF_SYNC_POINT(); __atomic_add_fetch(&a->v, i, __ATOMIC_RELAXED); }	\
MMF_SYNC_INLINE void T##_sub(T##_t *a, type i)				\
{ MMF_SYNC_POINT(); __atomic_sub_fetch(&a->v, i, __ATOMIC_RELAXED); }	\
MMF_SYNC_INLINE void T##_inc(T##_t *a) { T##_add(a, 1); }			\
MMF_SYNC_INLINE void T##_dec(T##_t *a) { T##_sub(a, 1); }			\
MMF_SYNC_INLINE bool T##_dec_and_test(T##_t *a)				\
{ return T##_sub_return(a, 1) == 0; }					\
MMF_SYNC_INLINE type T##_cmpxchg(T##_t *a, type old, type new_)		\
{									\
	MMF_SYNC_POINT();						\
	__atomic_compare_exchange_n(&a->v, &old, new_, false,		\
				    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);	\
	return old;							\
}

MMF_ATOMIC_OPS(mmf_atomic, int)
MMF_ATOMIC_OPS(mmf_atomic_long, long)
#undef MMF_ATOMIC_OPS

/* ---- seqcount ------------------------------------------------------------- */

/*
 * Writers: serialised by an external lock; write_begin/write_end bracket the
 * update.  Readers:
 *	do { seq = mmf_read_seqcount_begin(&s); ...mmf_read_once()...; }
 *	while (mmf_read_seqcount_retry(&s, seq));
 * begin waits (spins) while a write is in progress (odd sequence).
 */
struct mmf_seqcount {
	unsigned seq;
};

/* A spin-wait iteration.  Sched: give another runnable fiber the CPU (the
 * spinner can make no progress until somebody else runs). */
MMF_SYNC_INLINE void mmf_cpu_relax(void)
{
#if defined(MMF_SYNC_SCHED)
	mmf_sched_spin();
#elif defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static inline void mmf_seqcount_init(struct mmf_seqcount *s) { s->seq = 0; }

MMF_SYNC_INLINE unsigned mmf_read_seqcount_begin(const struct mmf_seqcount *s)
{
	unsigned seq;

	for (;;) {
		MMF_SYNC_POINT();
		seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
		if (!(seq & 1))
			return seq;
		mmf_cpu_relax();
	}
}

MMF_SYNC_INLINE bool mmf_read_seqcount_retry(const struct mmf_seqcount *s, unsigned seq)
{
	MMF_SYNC_POINT();
	/* order the caller's data loads before the re-read of the sequence */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return __atomic_load_n(&s->seq, __ATOMIC_RELAXED) != seq;
}

MMF_SYNC_INLINE void mmf_write_seqcount_begin(struct mmf_seqcount *s)
{
	MMF_SYNC_POINT();
	__atomic_store_n(&s->seq, s->seq + 1, __ATOMIC_RELAXED);
	/* the odd sequence is visible before any data store */
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

MMF_SYNC_INLINE void mmf_write_seqcount_end(struct mmf_seqcount *s)
{
	MMF_SYNC_POINT();
	__atomic_store_n(&s->seq, s->seq + 1, __ATOMIC_RELEASE);
}

/* ---- refcount with saturation -------------------------------------------- */

/*
 * A reference count that never wraps: an increment that would pass `max`
 * is refused and the caller is told, so that it can fall back to a private
 * copy (an anon_vma_name shared by too many VMAs is copied, not shared).
 * Incrementing from 0 (a dead object) or decrementing below 0 is a bug.
 */
#define MMF_REFCOUNT_MAX_DEFAULT	(1 << 30)

struct mmf_refcount {
	int refs;
	int max;	/* saturation limit; fixed at init */
};

enum mmf_ref {
	MMF_REF_OK = 0,		/* reference taken */
	MMF_REF_ZERO,		/* object is dying (inc_not_zero only) */
	MMF_REF_SATURATED,	/* at max: not taken, copy instead */
};

/* refs = 1; max = 0 means MMF_REFCOUNT_MAX_DEFAULT. */
static inline void mmf_refcount_init(struct mmf_refcount *r, int max)
{
	r->refs = 1;
	r->max = max > 0 ? max : MMF_REFCOUNT_MAX_DEFAULT;
}

MMF_SYNC_INLINE int mmf_refcount_read(const struct mmf_refcount *r)
{
	MMF_SYNC_POINT();
	return __atomic_load_n(&r->refs, __ATOMIC_RELAXED);
}

/* Take a reference if the object is alive and the count is not saturated. */
MMF_SYNC_INLINE enum mmf_ref mmf_refcount_inc_not_zero(struct mmf_refcount *r)
{
	int old;

	MMF_SYNC_POINT();
	old = __atomic_load_n(&r->refs, __ATOMIC_RELAXED);
	do {
		if (old == 0)
			return MMF_REF_ZERO;
		if (old >= r->max)
			return MMF_REF_SATURATED;
	} while (!__atomic_compare_exchange_n(&r->refs, &old, old + 1, true,
					      __ATOMIC_ACQUIRE, __ATOMIC_RELAXED));
	return MMF_REF_OK;
}

/* The caller already holds a reference.  false: saturated, not taken. */
MMF_SYNC_INLINE bool mmf_refcount_inc(struct mmf_refcount *r)
{
	enum mmf_ref res = mmf_refcount_inc_not_zero(r);

	if (res == MMF_REF_ZERO)
		mmf_sync_bug("refcount %p: increment on 0 (use after free)", (void *)r);
	return res == MMF_REF_OK;
}

/* Drop a reference; true when it was the last one (the caller frees). */
MMF_SYNC_INLINE bool mmf_refcount_dec_and_test(struct mmf_refcount *r)
{
	int new_;

	MMF_SYNC_POINT();
	new_ = __atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL);
	if (new_ < 0)
		mmf_sync_bug("refcount %p: underflow", (void *)r);
	return new_ == 0;
}

/* ---- RCU ------------------------------------------------------------------- */

/*
 * Threads are registered automatically on their first read-side section or
 * call_rcu (and unregistered at thread exit); mmf_rcu_register_thread() /
 * mmf_rcu_unregister_thread() do it explicitly and nest.
 *
 * Publication: mmf_rcu_assign_pointer() is a release store,
 * mmf_rcu_dereference() an acquire load, both TSan-visible atomics.
 * mmf_rcu_access_pointer() is for the writer (holding the update-side lock),
 * which needs no ordering.
 *
 * Callbacks run in mmf_call_rcu() order on one callback thread (native),
 * after a grace period that began after their mmf_call_rcu(); the native
 * worker lets callbacks gather for up to a millisecond after the first
 * one, so that one grace period serves them all (mmf_rcu_barrier does not
 * wait for that).
 *
 * Deferred mode (mmf_rcu_defer_callbacks(true)): for programs that drive the
 * core from one thread only (the single-threaded fuzz targets), callbacks
 * are queued and run by the caller of mmf_rcu_barrier(), after a grace
 * period, instead of on the callback thread.  Nothing then runs
 * asynchronously, so coverage is the same on every run of an input (AFL++
 * stability).  Valid only while no other thread can be inside a read-side
 * section holding the memory the callbacks free; set it before the first
 * mmf_call_rcu().
 *
 * TSan (native backend): liburcu is not instrumented, so the backend adds
 * happens-before edges that express the grace-period guarantee:
 *   - every outermost mmf_rcu_read_unlock() releases one global RCU clock
 *     (before the real unlock, so the grace period covers it);
 *   - mmf_synchronize_rcu() acquires that clock after the grace period, and
 *     so does the callback thread after each grace period, before it runs
 *     the callbacks;
 *   - the callback queue and mmf_rcu_barrier() are pthread mutex/condvar
 *     based, so the caller's history reaches its callback, and every
 *     callback's history reaches the barrier's caller.
 * So a writer that frees after a grace period is race-free for TSan, and
 * one that frees unpublished memory early races with the readers' loads.
 */
struct mmf_rcu_head {
	void *impl_[2];				/* backend's queue linkage */
	void (*func)(struct mmf_rcu_head *head);
};

void mmf_rcu_defer_callbacks(bool on);
void mmf_rcu_register_thread(void);
void mmf_rcu_unregister_thread(void);
void mmf_rcu_read_lock(void);
void mmf_rcu_read_unlock(void);
/* fn(head) runs after a grace period, on another thread (native). */
void mmf_call_rcu(struct mmf_rcu_head *head, void (*fn)(struct mmf_rcu_head *head));
void mmf_synchronize_rcu(void);
/* Wait until every callback queued before the call has run. */
void mmf_rcu_barrier(void);

#define mmf_rcu_dereference(p)						\
	(MMF_SYNC_POINT(), __atomic_load_n(&(p), __ATOMIC_ACQUIRE))
#define mmf_rcu_assign_pointer(p, v)					\
	do { MMF_SYNC_POINT(); __atomic_store_n(&(p), (v), __ATOMIC_RELEASE); } while (0)
#define mmf_rcu_access_pointer(p)	__atomic_load_n(&(p), __ATOMIC_RELAXED)

#ifndef container_of
#define container_of(ptr, type, member)					\
	((type *)((char *)(ptr) - offsetof(type, member)))
#endif

#ifdef __cplusplus
}
#endif

#endif /* MMF_CORE_SYNC_H */
