// SPDX-License-Identifier: MIT
/*
 * core/tests/test_objcache.c - the object cache (core/objcache.h).
 *
 *   (no argument)      objects are zeroed, distinct, reused after a free,
 *                      counted; chains; a cache grown past
 *                      OBJCACHE_HUGE_AFTER (huge slabs but under ASan);
 *                      two threads allocating and freeing
 *                      through one cache (TSan-clean under the tsan preset);
 *                      every slab freed at destroy (LSan-clean)
 *   --use-after-free   (ASan builds) the cache forced on: a write to an
 *                      object on its free list is reported (use-after-poison)
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "objcache.h"
#include "t.h"

struct obj {
	uint64_t a[37];		/* 296 bytes: rounded up to 304 */
};

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static void test_basic(enum objcache_mode mode)
{
	enum { N = 1000 };
	static struct obj *objs[N];
	struct objcache c;
	struct objcache_chain ch;
	int i, j, zero = 1, distinct = 1;

	objcache_init_mode(&c, sizeof(struct obj), mode);
	for (i = 0; i < N; i++) {
		objs[i] = objcache_alloc(&c);
		zero &= all_zero(objs[i], sizeof(struct obj));
		memset(objs[i], 0xff, sizeof(struct obj));
	}
	CHECK(zero, "fresh objects are zeroed");
	for (i = 0; i < N && distinct; i++)
		for (j = i + 1; j < N; j++)
			if ((uintptr_t)objs[j] - (uintptr_t)objs[i] + sizeof(struct obj) - 1 <
			    2 * sizeof(struct obj) - 1)
				distinct = 0;
	CHECK(distinct, "objects do not overlap");
	CHECK(((uintptr_t)objs[1] & 15) == 0, "16-byte aligned");
	CHECK(objcache_live(&c) == N, "live %ld", objcache_live(&c));

	/* give half back one by one, the rest as one chain */
	for (i = 0; i < N / 2; i++)
		objcache_free(&c, objs[i]);
	objcache_chain_init(&ch);
	for (i = N / 2; i < N; i++)
		objcache_chain_add(&c, &ch, objs[i]);
	CHECK(ch.n == N / 2, "chain of %ld", ch.n);
	objcache_free_chain(&c, &ch);
	CHECK(objcache_live(&c) == 0, "live %ld after the frees", objcache_live(&c));

	/* reused memory is zeroed again */
	zero = 1;
	for (i = 0; i < N; i++) {
		objs[i] = objcache_alloc(&c);
		zero &= all_zero(objs[i], sizeof(struct obj));
	}
	CHECK(zero, "reused objects are zeroed");
	for (i = 0; i < N; i++)
		objcache_free(&c, objs[i]);
	objcache_destroy(&c);
}

/* Past OBJCACHE_HUGE_AFTER: every object keeps its own pattern (no overlap). */
static void test_grow(enum objcache_mode mode)
{
	size_t n = 3 * OBJCACHE_HUGE_BYTES / sizeof(struct obj), i;
	struct obj **objs = malloc(n * sizeof(*objs));
	struct objcache c;
	int zero = 1, intact = 1;

	objcache_init_mode(&c, sizeof(struct obj), mode);
	for (i = 0; i < n; i++) {
		objs[i] = objcache_alloc(&c);
		zero &= objs[i]->a[0] == 0 && objs[i]->a[36] == 0;
		objs[i]->a[0] = objs[i]->a[36] = i;
	}
	for (i = 0; i < n; i++)
		intact &= objs[i]->a[0] == i && objs[i]->a[36] == i;
	CHECK(zero && intact, "%zu objects (%zu bytes): zeroed %d, intact %d", n,
	      n * sizeof(struct obj), zero, intact);
	CHECK(objcache_live(&c) == (long)n, "live %ld", objcache_live(&c));
	for (i = 0; i < n; i++)
		objcache_free(&c, objs[i]);
	objcache_destroy(&c);
	free(objs);
}

struct thr_arg {
	struct objcache *c;
	int seed;
};

/* Allocate, write, free in bursts: two of these share one cache. */
static void *churn(void *p)
{
	struct thr_arg *a = p;
	struct obj *mine[64];
	int round, i, ok = 1;

	for (round = 0; round < 2000; round++) {
		int n = 1 + (round * 7 + a->seed) % 64;

		for (i = 0; i < n; i++) {
			mine[i] = objcache_alloc(a->c);
			ok &= all_zero(mine[i], sizeof(struct obj));
			mine[i]->a[0] = (uint64_t)a->seed;
			mine[i]->a[36] = (uint64_t)i;
		}
		for (i = 0; i < n; i++)
			ok &= mine[i]->a[0] == (uint64_t)a->seed && mine[i]->a[36] == (uint64_t)i;
		if (round & 1) {
			struct objcache_chain ch;

			objcache_chain_init(&ch);
			for (i = 0; i < n; i++)
				objcache_chain_add(a->c, &ch, mine[i]);
			objcache_free_chain(a->c, &ch);
		} else {
			for (i = 0; i < n; i++)
				objcache_free(a->c, mine[i]);
		}
	}
	EXPECT(ok, "thread %d saw another's object or a dirty one", a->seed);
	return NULL;
}

static void test_threads(enum objcache_mode mode)
{
	struct objcache c;
	struct thr_arg a[2];
	pthread_t th[2];
	int i;

	objcache_init_mode(&c, sizeof(struct obj), mode);
	for (i = 0; i < 2; i++) {
		a[i] = (struct thr_arg){ .c = &c, .seed = i + 1 };
		pthread_create(&th[i], NULL, churn, &a[i]);
	}
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	CHECK(objcache_live(&c) == 0, "live %ld after two threads", objcache_live(&c));
	objcache_destroy(&c);
}

static int use_after_free(void)
{
	struct objcache c;
	struct obj *o, *p;

	objcache_init_mode(&c, sizeof(struct obj), OBJCACHE_CACHED);
	o = objcache_alloc(&c);
	p = objcache_alloc(&c);
	objcache_free(&c, o);
	fprintf(stderr, "writing to a freed object\n");
	((volatile struct obj *)o)->a[3] = 1;	/* use-after-poison under ASan */
	objcache_free(&c, p);
	objcache_destroy(&c);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--use-after-free"))
		return use_after_free();
	test_basic(OBJCACHE_DEFAULT);
	test_basic(OBJCACHE_CACHED);
	test_grow(OBJCACHE_DEFAULT);
	test_grow(OBJCACHE_CACHED);
	test_threads(OBJCACHE_DEFAULT);
	test_threads(OBJCACHE_CACHED);
	return t_done();
}
