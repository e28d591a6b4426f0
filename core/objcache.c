// SPDX-License-Identifier: MIT
/*
 * core/objcache.c - slabs and a free list of fixed-size objects.
 * Rules: objcache.h.
 */
#include "objcache.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define OBJCACHE_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#define OBJCACHE_TSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(OBJCACHE_ASAN)
#define OBJCACHE_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__) && !defined(OBJCACHE_TSAN)
#define OBJCACHE_TSAN 1
#endif

#ifdef OBJCACHE_ASAN
#include <sanitizer/asan_interface.h>
#define poison(p, n)	ASAN_POISON_MEMORY_REGION((p), (n))
#define unpoison(p, n)	ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define poison(p, n)	((void)(p), (void)(n))
#define unpoison(p, n)	((void)(p), (void)(n))
#endif

#define OBJ_ALIGN	16

struct objcache_slab {
	struct objcache_slab *next;
	size_t bytes;			/* the whole slab, header included */
	bool mapped;			/* its own mapping (munmap), else malloc */
	_Alignas(OBJ_ALIGN) char objs[];
};

void objcache_init_mode(struct objcache *c, size_t size, enum objcache_mode mode)
{
	memset(c, 0, sizeof(*c));
	mmf_raw_lock_init(&c->lock);
	if (size < sizeof(void *))
		size = sizeof(void *);
	c->size = (size + OBJ_ALIGN - 1) & ~(size_t)(OBJ_ALIGN - 1);
	if (c->size > OBJCACHE_SLAB_BYTES / 4)
		mmf_sync_bug("objcache: %zu-byte objects are too big for a slab", size);
#ifdef OBJCACHE_ASAN
	c->bypass = mode == OBJCACHE_DEFAULT;
#else
	(void)mode;
#endif
}

void objcache_init(struct objcache *c, size_t size)
{
	objcache_init_mode(c, size, OBJCACHE_DEFAULT);
}

void objcache_destroy(struct objcache *c)
{
	struct objcache_slab *s, *next;

	if (c->live)
		mmf_sync_bug("objcache %p destroyed with %ld objects in use", (void *)c, c->live);
	for (s = c->slabs; s; s = next) {
		next = s->next;
		unpoison(s, s->bytes);
		if (s->mapped)
			munmap(s, s->bytes);
		else
			free(s);
	}
	c->slabs = NULL;
	c->free = NULL;
	c->carve = c->carve_end = NULL;
}

/*
 * A huge slab: OBJCACHE_HUGE_BYTES aligned to their size (so that one
 * huge page can back it), from a mapping twice as big trimmed to the
 * aligned part.  NULL if the mapping fails.  Not under ASan: LSan does not
 * look for pointers in such mappings, so the objects' references to heap
 * memory would be reported as leaks (the cache is bypassed there anyway,
 * and the forced-on unit test stays far below OBJCACHE_HUGE_AFTER).
 */
static struct objcache_slab *slab_map_huge(void)
{
#ifdef OBJCACHE_ASAN
	return NULL;
#else
	size_t len = 2 * (size_t)OBJCACHE_HUGE_BYTES, head;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *s;

	if (p == MAP_FAILED)
		return NULL;
	s = (char *)(((uintptr_t)p + OBJCACHE_HUGE_BYTES - 1) & ~(uintptr_t)(OBJCACHE_HUGE_BYTES - 1));
	head = (size_t)(s - p);
	if (head)
		munmap(p, head);
	if (len - head > OBJCACHE_HUGE_BYTES)
		munmap(s + OBJCACHE_HUGE_BYTES, len - head - OBJCACHE_HUGE_BYTES);
	madvise(s, OBJCACHE_HUGE_BYTES, MADV_HUGEPAGE);
	return (struct objcache_slab *)s;
#endif
}

/* A new slab becomes the carving area; c->lock held.  The old area's
 * tail (less than one object) is dropped. */
static void slab_new(struct objcache *c)
{
	struct objcache_slab *s = NULL;
	size_t bytes = OBJCACHE_HUGE_BYTES;

	if (c->slab_bytes >= OBJCACHE_HUGE_AFTER)
		s = slab_map_huge();
	if (s) {
		s->mapped = true;
	} else {
		bytes = OBJCACHE_SLAB_BYTES;
		s = malloc(bytes);
		if (!s)
			mmf_sync_bug("objcache: out of memory");
		s->mapped = false;
	}
	s->bytes = bytes;
	s->next = c->slabs;
	c->slabs = s;
	c->slab_bytes += bytes;
	c->carve = s->objs;
	c->carve_end = (char *)s + bytes;
	poison(c->carve, (size_t)(c->carve_end - c->carve));
}

/* c->lock held. */
static void *take_one(struct objcache *c)
{
	void *obj = c->free;

	if (obj) {
		unpoison(obj, c->size);
		c->free = *(void **)obj;
		return obj;
	}
	if ((size_t)(c->carve_end - c->carve) < c->size)
		slab_new(c);
	obj = c->carve;
	c->carve += c->size;
	unpoison(obj, c->size);
	return obj;
}

void *objcache_alloc_uninit(struct objcache *c)
{
	void *obj;

	if (c->bypass) {
		obj = malloc(c->size);
		if (!obj)
			mmf_sync_bug("objcache: out of memory");
		mmf_raw_lock(&c->lock);
		c->live++;
		mmf_raw_unlock(&c->lock);
		return obj;
	}
	mmf_raw_lock(&c->lock);
	obj = take_one(c);
	c->live++;
	mmf_raw_unlock(&c->lock);
	return obj;
}

void *objcache_alloc(struct objcache *c)
{
	void *obj = objcache_alloc_uninit(c);

	memset(obj, 0, c->size);
	return obj;
}

/*
 * The object is dead from here on.  TSan: overwrite it whole, as free()
 * would count for TSan, so that an access not ordered before the free is
 * reported.
 */
static void obj_kill(struct objcache *c, void *obj)
{
#ifdef OBJCACHE_TSAN
	memset(obj, 0x6b, c->size);
#else
	(void)c;
	(void)obj;
#endif
}

void objcache_chain_add(struct objcache *c, struct objcache_chain *ch, void *obj)
{
	ch->n++;
	if (c->bypass) {
		free(obj);
		return;
	}
	obj_kill(c, obj);
	*(void **)obj = NULL;
	if (ch->tail)
		*(void **)ch->tail = obj;
	else
		ch->head = obj;
	ch->tail = obj;
}

void objcache_free_chain(struct objcache *c, struct objcache_chain *ch)
{
	void *obj, *next;

	if (!ch->n)
		return;
	/* ASan, cached: each object is poisoned once its link is final */
	for (obj = ch->head; obj && obj != ch->tail; obj = next) {
		next = *(void **)obj;
		poison(obj, c->size);
	}
	mmf_raw_lock(&c->lock);
	c->live -= ch->n;
	if (c->live < 0)
		mmf_sync_bug("objcache %p: more objects given back than handed out", (void *)c);
	if (ch->head) {
		*(void **)ch->tail = c->free;
		poison(ch->tail, c->size);
		c->free = ch->head;
	}
	mmf_raw_unlock(&c->lock);
	objcache_chain_init(ch);
}

void objcache_free(struct objcache *c, void *obj)
{
	struct objcache_chain ch;

	objcache_chain_init(&ch);
	objcache_chain_add(c, &ch, obj);
	objcache_free_chain(c, &ch);
}

long objcache_live(struct objcache *c)
{
	long n;

	mmf_raw_lock(&c->lock);
	n = c->live;
	mmf_raw_unlock(&c->lock);
	return n;
}
