/* SPDX-License-Identifier: MIT */
/*
 * core/tests/test_sync.c - the primitives of core/sync.h: mutex, rwsem
 * (trylock, writer preference, downgrade), spinlock, seqcount, atomics,
 * refcount saturation, RCU (grace periods, callbacks, barrier), and the
 * debug lock tracking.  Multithreaded parts are meant to run TSan-clean.
 */
#include "sync.h"
#include "t.h"

#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#define NTHREADS 4
#define ITERS 20000

static void msleep(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void run_threads(int n, void *(*fn)(void *), void *arg)
{
	pthread_t th[16];
	int i;

	for (i = 0; i < n; i++)
		pthread_create(&th[i], NULL, fn, arg);
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);
}

/* Run fn(arg) on another thread and return its result. */
static long on_thread(void *(*fn)(void *), void *arg)
{
	pthread_t th;
	void *ret;

	pthread_create(&th, NULL, fn, arg);
	pthread_join(th, &ret);
	return (long)ret;
}

/* ---- mutex / spinlock --------------------------------------------------------- */

static struct mmf_mutex mtx;
static struct mmf_spinlock spin;
static long plain_counter;

static void *mutex_worker(void *arg)
{
	for (int i = 0; i < ITERS; i++) {
		mmf_mutex_lock(&mtx);
		plain_counter++;
		mmf_mutex_unlock(&mtx);
	}
	return NULL;
}

static void *spin_worker(void *arg)
{
	for (int i = 0; i < ITERS; i++) {
		mmf_spin_lock(&spin);
		plain_counter++;
		mmf_spin_unlock(&spin);
	}
	return NULL;
}

static void *mutex_try(void *arg)
{
	bool ok = mmf_mutex_trylock(&mtx);

	if (ok)
		mmf_mutex_unlock(&mtx);
	return (void *)(long)ok;
}

static void *spin_try(void *arg)
{
	bool ok = mmf_spin_trylock(&spin);

	if (ok)
		mmf_spin_unlock(&spin);
	return (void *)(long)ok;
}

static void test_mutex_spin(void)
{
	mmf_mutex_init(&mtx);
	mmf_spin_init(&spin);

	CHECK(mmf_sync_locks_held() == 0, "held %d", mmf_sync_locks_held());
	mmf_mutex_lock(&mtx);
	CHECK(mmf_sync_locks_held() == 1, "held %d", mmf_sync_locks_held());
	CHECK(mmf_mutex_is_held(&mtx), "owner tracked");
	CHECK(on_thread(mutex_try, NULL) == 0, "trylock of a held mutex fails");
	mmf_mutex_unlock(&mtx);
	CHECK(!mmf_mutex_is_held(&mtx), "owner cleared");
	CHECK(on_thread(mutex_try, NULL) == 1, "trylock of a free mutex succeeds");
	CHECK(mmf_mutex_trylock(&mtx), "trylock");
	mmf_mutex_unlock(&mtx);

	mmf_spin_lock(&spin);
	CHECK(mmf_sync_locks_held() == 1, "held %d", mmf_sync_locks_held());
	CHECK(on_thread(spin_try, NULL) == 0, "trylock of a held spinlock fails");
	mmf_spin_unlock(&spin);
	CHECK(on_thread(spin_try, NULL) == 1, "trylock of a free spinlock succeeds");
	CHECK(mmf_sync_locks_held() == 0, "held %d", mmf_sync_locks_held());

	plain_counter = 0;
	run_threads(NTHREADS, mutex_worker, NULL);
	CHECK(plain_counter == NTHREADS * ITERS, "mutex counter %ld", plain_counter);
	plain_counter = 0;
	run_threads(NTHREADS, spin_worker, NULL);
	CHECK(plain_counter == NTHREADS * ITERS, "spin counter %ld", plain_counter);

	mmf_spin_destroy(&spin);
	mmf_mutex_destroy(&mtx);
}

/* ---- rwsem -------------------------------------------------------------------- */

static struct mmf_rwsem sem;
static long pair_a, pair_b;		/* protected by sem; a == b when unlocked */
static int readers_in, writers_in;	/* atomics: who is inside right now */
static int rw_errors;

static void *try_read(void *arg)
{
	bool ok = mmf_down_read_trylock(&sem);

	if (ok)
		mmf_up_read(&sem);
	return (void *)(long)ok;
}

static void *try_write(void *arg)
{
	bool ok = mmf_down_write_trylock(&sem);

	if (ok)
		mmf_up_write(&sem);
	return (void *)(long)ok;
}

static void *write_locked_elsewhere(void *arg)
{
	return (void *)(long)mmf_rwsem_is_write_locked(&sem);
}

static int writer_entered;

static void *blocking_writer(void *arg)
{
	mmf_down_write(&sem);
	__atomic_store_n(&writer_entered, 1, __ATOMIC_RELEASE);
	mmf_up_write(&sem);
	return NULL;
}

static void *rw_reader(void *arg)
{
	for (int i = 0; i < ITERS; i++) {
		mmf_down_read(&sem);
		__atomic_add_fetch(&readers_in, 1, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&writers_in, __ATOMIC_SEQ_CST) || pair_a != pair_b)
			__atomic_add_fetch(&rw_errors, 1, __ATOMIC_RELAXED);
		__atomic_sub_fetch(&readers_in, 1, __ATOMIC_SEQ_CST);
		mmf_up_read(&sem);
	}
	return NULL;
}

static void *rw_writer(void *arg)
{
	for (int i = 0; i < ITERS / 4; i++) {
		mmf_down_write(&sem);
		if (__atomic_add_fetch(&writers_in, 1, __ATOMIC_SEQ_CST) != 1 ||
		    __atomic_load_n(&readers_in, __ATOMIC_SEQ_CST))
			__atomic_add_fetch(&rw_errors, 1, __ATOMIC_RELAXED);
		pair_a++;
		pair_b++;
		__atomic_sub_fetch(&writers_in, 1, __ATOMIC_SEQ_CST);
		if (i % 3 == 0) {
			long a = pair_a;

			mmf_downgrade_write(&sem);
			/* still excluded from writers, but readers may enter */
			if (pair_a != a || pair_b != a)
				__atomic_add_fetch(&rw_errors, 1, __ATOMIC_RELAXED);
			mmf_up_read(&sem);
		} else {
			mmf_up_write(&sem);
		}
	}
	return NULL;
}

static void *rw_mixed(void *arg)
{
	return (long)arg & 1 ? rw_writer(arg) : rw_reader(arg);
}

static void test_rwsem(void)
{
	pthread_t th;
	int i;

	mmf_rwsem_init(&sem);

	mmf_down_read(&sem);
	CHECK(mmf_sync_locks_held() == 1, "held %d", mmf_sync_locks_held());
	CHECK(on_thread(try_read, NULL) == 1, "second reader enters");
	CHECK(on_thread(try_write, NULL) == 0, "writer excluded by a reader");
	CHECK(mmf_rwsem_is_locked(&sem), "locked");
	CHECK(!mmf_rwsem_is_write_locked(&sem), "not write-locked");
	mmf_up_read(&sem);
	CHECK(!mmf_rwsem_is_locked(&sem), "unlocked");

	mmf_down_write(&sem);
	CHECK(mmf_rwsem_is_write_locked(&sem), "write owner tracked");
	CHECK(on_thread(write_locked_elsewhere, NULL) == 0, "not the owner elsewhere");
	CHECK(on_thread(try_read, NULL) == 0, "reader excluded by a writer");
	CHECK(on_thread(try_write, NULL) == 0, "writer excluded by a writer");
	mmf_downgrade_write(&sem);
	CHECK(!mmf_rwsem_is_write_locked(&sem), "downgraded: no write owner");
	CHECK(mmf_sync_locks_held() == 1, "downgrade keeps one lock held");
	CHECK(on_thread(try_read, NULL) == 1, "reader enters after downgrade");
	CHECK(on_thread(try_write, NULL) == 0, "writer still excluded after downgrade");
	mmf_up_read(&sem);
	CHECK(mmf_sync_locks_held() == 0, "held %d", mmf_sync_locks_held());

	CHECK(mmf_down_write_trylock(&sem), "write trylock on a free rwsem");
	mmf_up_write(&sem);
	CHECK(mmf_down_read_trylock(&sem), "read trylock on a free rwsem");
	mmf_up_read(&sem);

	/* writer preference: a waiting writer stops new readers */
	mmf_down_read(&sem);
	writer_entered = 0;
	pthread_create(&th, NULL, blocking_writer, NULL);
	/*
	 * No bound on the wait: the writer may take any time to be scheduled
	 * on a loaded machine.  Without writer preference this never ends
	 * and the ctest TIMEOUT fails the test.
	 */
	while (on_thread(try_read, NULL))
		msleep(1);
	CHECK(!__atomic_load_n(&writer_entered, __ATOMIC_ACQUIRE), "writer waits for the reader");
	mmf_up_read(&sem);
	pthread_join(th, NULL);
	CHECK(writer_entered, "writer got the lock after the reader left");

	/* stress: readers and writers (some downgrading) */
	{
		pthread_t ths[6];

		pair_a = pair_b = 0;
		rw_errors = 0;
		for (i = 0; i < 6; i++)
			pthread_create(&ths[i], NULL, rw_mixed, (void *)(long)i);
		for (i = 0; i < 6; i++)
			pthread_join(ths[i], NULL);
		CHECK(rw_errors == 0, "%d exclusion errors", rw_errors);
		CHECK(pair_a == 3 * (ITERS / 4) && pair_b == pair_a, "a=%ld b=%ld", pair_a, pair_b);
	}
	mmf_rwsem_destroy(&sem);
}

/* ---- seqcount ----------------------------------------------------------------- */

static struct mmf_seqcount seq;
static struct mmf_mutex seq_lock;
static unsigned long seq_x, seq_y;
static int seq_stop, seq_torn;
static long seq_reads;

/*
 * Wait until the readers have read again since the writer got here.  The
 * writers pass SEQ_CHECKPOINTS of these, so reads interleave with the writes
 * however the machine schedules the threads: without them a loaded machine
 * could run both writers to the end before any reader had started, and the
 * torn-read check would have checked nothing.
 */
static void seq_wait_for_reads(void)
{
	long seen = __atomic_load_n(&seq_reads, __ATOMIC_ACQUIRE);

	while (__atomic_load_n(&seq_reads, __ATOMIC_ACQUIRE) == seen)
		sched_yield();
}

#define SEQ_CHECKPOINTS 8

static void *seq_writer(void *arg)
{
	for (unsigned long i = 1; i <= ITERS; i++) {
		if (i % (ITERS / SEQ_CHECKPOINTS) == 1)
			seq_wait_for_reads();
		mmf_mutex_lock(&seq_lock);
		mmf_write_seqcount_begin(&seq);
		mmf_write_once(seq_x, i);
		mmf_write_once(seq_y, i);
		mmf_write_seqcount_end(&seq);
		mmf_mutex_unlock(&seq_lock);
	}
	return NULL;
}

static void *seq_reader(void *arg)
{
	while (!__atomic_load_n(&seq_stop, __ATOMIC_ACQUIRE)) {
		unsigned s;
		unsigned long x, y;

		do {
			s = mmf_read_seqcount_begin(&seq);
			x = mmf_read_once(seq_x);
			y = mmf_read_once(seq_y);
		} while (mmf_read_seqcount_retry(&seq, s));
		if (x != y)
			__atomic_add_fetch(&seq_torn, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&seq_reads, 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void test_seqcount(void)
{
	pthread_t w[2], r[3];
	int i;

	mmf_seqcount_init(&seq);
	mmf_mutex_init(&seq_lock);
	for (i = 0; i < 3; i++)
		pthread_create(&r[i], NULL, seq_reader, NULL);
	for (i = 0; i < 2; i++)
		pthread_create(&w[i], NULL, seq_writer, NULL);
	for (i = 0; i < 2; i++)
		pthread_join(w[i], NULL);
	__atomic_store_n(&seq_stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < 3; i++)
		pthread_join(r[i], NULL);
	CHECK(seq_torn == 0, "%d torn reads in %ld", seq_torn, seq_reads);
	CHECK(seq.seq == 4 * ITERS, "sequence %u", seq.seq);
	mmf_mutex_destroy(&seq_lock);
}

/* ---- atomics ---------------------------------------------------------------- */

static mmf_atomic_t acnt;
static mmf_atomic_long_t lcnt;
static void *aptr;

static void *atomic_worker(void *arg)
{
	for (int i = 0; i < ITERS; i++) {
		mmf_atomic_inc(&acnt);
		mmf_atomic_long_add(&lcnt, 3);
		mmf_atomic_long_sub(&lcnt, 1);
	}
	return NULL;
}

static void test_atomics(void)
{
	int x = 5;
	void *old;

	mmf_atomic_set(&acnt, 2);
	CHECK(mmf_atomic_read(&acnt) == 2, "set/read");
	CHECK(!mmf_atomic_dec_and_test(&acnt), "2 -> 1 is not zero");
	CHECK(mmf_atomic_dec_and_test(&acnt), "1 -> 0 is zero");
	CHECK(mmf_atomic_add_return(&acnt, 7) == 7, "add_return");
	CHECK(mmf_atomic_sub_return(&acnt, 2) == 5, "sub_return");
	CHECK(mmf_atomic_cmpxchg(&acnt, 5, 9) == 5 && mmf_atomic_read(&acnt) == 9, "cmpxchg hit");
	CHECK(mmf_atomic_cmpxchg(&acnt, 5, 1) == 9 && mmf_atomic_read(&acnt) == 9, "cmpxchg miss");
	mmf_atomic_set_release(&acnt, 0);
	CHECK(mmf_atomic_read_acquire(&acnt) == 0, "acquire/release");

	mmf_atomic_long_set(&lcnt, 1L << 40);
	CHECK(mmf_atomic_long_add_return(&lcnt, 1) == (1L << 40) + 1, "long add_return");
	mmf_atomic_long_set(&lcnt, 0);

	mmf_store_release(aptr, (void *)&x);
	CHECK(mmf_load_acquire(aptr) == &x, "pointer acquire/release");
	old = mmf_cmpxchg(aptr, (void *)&x, NULL);
	CHECK(old == &x && mmf_read_once(aptr) == NULL, "pointer cmpxchg hit");
	old = mmf_cmpxchg(aptr, (void *)&x, (void *)&old);
	CHECK(old == NULL && mmf_read_once(aptr) == NULL, "pointer cmpxchg miss");
	old = mmf_xchg(aptr, (void *)&x);
	CHECK(old == NULL && aptr == &x, "pointer xchg");
	mmf_write_once(x, 6);
	CHECK(mmf_read_once(x) == 6, "read_once/write_once");

	run_threads(NTHREADS, atomic_worker, NULL);
	CHECK(mmf_atomic_read(&acnt) == NTHREADS * ITERS, "atomic inc %d", mmf_atomic_read(&acnt));
	CHECK(mmf_atomic_long_read(&lcnt) == 2L * NTHREADS * ITERS, "atomic long %ld",
	      mmf_atomic_long_read(&lcnt));
}

/* ---- refcount --------------------------------------------------------------- */

static struct mmf_refcount rc;

static void *ref_worker(void *arg)
{
	for (int i = 0; i < ITERS; i++) {
		if (mmf_refcount_inc(&rc))
			mmf_refcount_dec_and_test(&rc);
	}
	return NULL;
}

static void test_refcount(void)
{
	int saturated = 0;

	mmf_refcount_init(&rc, 3);
	CHECK(mmf_refcount_read(&rc) == 1, "init 1");
	CHECK(mmf_refcount_inc(&rc), "1 -> 2");
	CHECK(mmf_refcount_inc(&rc), "2 -> 3");
	CHECK(!mmf_refcount_inc(&rc), "3 is saturated: refused");
	CHECK(mmf_refcount_read(&rc) == 3, "refused inc leaves 3, got %d", mmf_refcount_read(&rc));
	CHECK(mmf_refcount_inc_not_zero(&rc) == MMF_REF_SATURATED, "inc_not_zero saturated");
	CHECK(!mmf_refcount_dec_and_test(&rc), "3 -> 2");
	CHECK(mmf_refcount_inc_not_zero(&rc) == MMF_REF_OK, "inc_not_zero below max");
	CHECK(!mmf_refcount_dec_and_test(&rc), "3 -> 2");
	CHECK(!mmf_refcount_dec_and_test(&rc), "2 -> 1");
	CHECK(mmf_refcount_dec_and_test(&rc), "1 -> 0: last");
	CHECK(mmf_refcount_inc_not_zero(&rc) == MMF_REF_ZERO, "inc_not_zero on a dead object");

	/* the anon-name pattern: share while possible, else copy */
	mmf_refcount_init(&rc, 4);
	for (int i = 0; i < 10; i++)
		if (!mmf_refcount_inc(&rc))
			saturated++;
	CHECK(saturated == 7 && mmf_refcount_read(&rc) == 4, "saturated %d refs %d",
	      saturated, mmf_refcount_read(&rc));

	/* concurrent get/put around a base reference; contended saturation */
	mmf_refcount_init(&rc, 3);
	run_threads(NTHREADS, ref_worker, NULL);
	CHECK(mmf_refcount_read(&rc) == 1, "concurrent get/put leaves 1, got %d",
	      mmf_refcount_read(&rc));
	mmf_refcount_init(&rc, 0);
	CHECK(rc.max == MMF_REFCOUNT_MAX_DEFAULT, "default max");
}

/* ---- RCU ------------------------------------------------------------------- */

struct obj {
	long a, b;		/* a == b while published */
	struct mmf_rcu_head rcu;
};

static struct obj *gp;		/* RCU-protected */
static int rcu_stop;
static long rcu_bad, rcu_cb_runs;
static int reader_inside, reader_done;

static void obj_free_rcu(struct mmf_rcu_head *h)
{
	struct obj *o = container_of(h, struct obj, rcu);

	o->a = -1;		/* a write: TSan must see it ordered after readers */
	o->b = -2;
	free(o);
	__atomic_add_fetch(&rcu_cb_runs, 1, __ATOMIC_RELAXED);
}

static void *rcu_reader(void *arg)
{
	while (!__atomic_load_n(&rcu_stop, __ATOMIC_ACQUIRE)) {
		struct obj *o;

		mmf_rcu_read_lock();
		o = mmf_rcu_dereference(gp);
		if (o && o->a != o->b)
			__atomic_add_fetch(&rcu_bad, 1, __ATOMIC_RELAXED);
		mmf_rcu_read_unlock();
	}
	return NULL;
}

static void *rcu_slow_reader(void *arg)
{
	mmf_rcu_read_lock();
	__atomic_store_n(&reader_inside, 1, __ATOMIC_RELEASE);
	msleep(50);
	__atomic_store_n(&reader_done, 1, __ATOMIC_RELEASE);
	mmf_rcu_read_unlock();
	return NULL;
}

static void *rcu_explicit(void *arg)
{
	mmf_rcu_register_thread();
	mmf_rcu_register_thread();
	mmf_rcu_read_lock();
	mmf_rcu_read_unlock();
	mmf_rcu_unregister_thread();
	mmf_rcu_unregister_thread();
	return NULL;
}

static void test_rcu(void)
{
	pthread_t r[3], slow;
	int i;

	mmf_rcu_read_lock();
	mmf_rcu_read_lock();
	CHECK(mmf_rcu_read_depth() == 2, "nesting depth %d", mmf_rcu_read_depth());
	mmf_rcu_read_unlock();
	mmf_rcu_read_unlock();
	CHECK(mmf_rcu_read_depth() == 0, "depth back to 0");
	on_thread(rcu_explicit, NULL);

	/* synchronize_rcu waits for a reader that is already inside */
	pthread_create(&slow, NULL, rcu_slow_reader, NULL);
	while (!__atomic_load_n(&reader_inside, __ATOMIC_ACQUIRE))
		msleep(1);
	mmf_synchronize_rcu();
	CHECK(__atomic_load_n(&reader_done, __ATOMIC_ACQUIRE), "grace period waited for the reader");
	pthread_join(slow, NULL);

	/* publish / replace / free after a grace period, with readers */
	for (i = 0; i < 3; i++)
		pthread_create(&r[i], NULL, rcu_reader, NULL);
	for (i = 0; i < ITERS / 4; i++) {
		struct obj *n = malloc(sizeof(*n)), *old;

		n->a = n->b = i;
		old = mmf_rcu_access_pointer(gp);
		mmf_rcu_assign_pointer(gp, n);
		if (old) {
			if (i % 64 == 0) {
				mmf_synchronize_rcu();
				old->a = -1;	/* safe: no reader can hold it */
				free(old);
				__atomic_add_fetch(&rcu_cb_runs, 1, __ATOMIC_RELAXED);
			} else {
				mmf_call_rcu(&old->rcu, obj_free_rcu);
			}
		}
	}
	__atomic_store_n(&rcu_stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < 3; i++)
		pthread_join(r[i], NULL);
	{
		struct obj *last = gp;

		mmf_rcu_assign_pointer(gp, NULL);
		mmf_call_rcu(&last->rcu, obj_free_rcu);
	}
	mmf_rcu_barrier();
	CHECK(rcu_bad == 0, "%ld inconsistent reads", rcu_bad);
	CHECK(__atomic_load_n(&rcu_cb_runs, __ATOMIC_RELAXED) == ITERS / 4,
	      "every object freed once after the barrier: %ld", rcu_cb_runs);
	CHECK(mmf_rcu_read_depth() == 0 && mmf_sync_locks_held() == 0, "nothing held at the end");
}

/* ---- fork: the child gets a working call_rcu of its own ------------------- */

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define NO_FORK_TEST 1	/* TSan does not allow new threads after fork */
#endif
#endif

#ifndef NO_FORK_TEST
static int child_cb_ran;

static void child_cb(struct mmf_rcu_head *h)
{
	child_cb_ran = 1;
	free(h);
}
#endif

static void test_fork(void)
{
#ifndef NO_FORK_TEST
	struct mmf_rcu_head *h = malloc(sizeof(*h));
	int status = -1;
	pid_t pid;

	mmf_call_rcu(h, child_cb);	/* the worker exists in the parent */
	mmf_rcu_barrier();
	child_cb_ran = 0;
	pid = fork();
	if (pid == 0) {
		h = malloc(sizeof(*h));
		mmf_call_rcu(h, child_cb);
		mmf_rcu_barrier();
		_exit(child_cb_ran ? 0 : 3);
	}
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "call_rcu + rcu_barrier in a forked child (status %#x)", status);
#endif
}

int main(void)
{
	test_mutex_spin();
	test_rwsem();
	test_seqcount();
	test_atomics();
	test_refcount();
	test_rcu();
	test_fork();
	return t_done();
}
