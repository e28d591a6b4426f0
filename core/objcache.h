/* SPDX-License-Identifier: MIT */
/*
 * core/objcache.h - a cache of fixed-size objects (VMAs, tree nodes), one
 * per object type and world.
 *
 * Objects are carved from slabs (one malloc holds OBJCACHE_SLAB_BYTES of
 * them) and a freed object goes on the cache's free list, to be handed out
 * again by the next allocation: no trip through malloc per object, and the
 * objects of one fork or one populate phase sit next to each other.  The
 * slabs go back to malloc only in objcache_destroy, with the world.
 *
 * RCU: the cache does not know about grace periods.  An object that a
 * lockless reader may still hold must be given back only from its
 * mmf_call_rcu() callback (vm_area_free, the tree's retired nodes), as it
 * would be given to free(): reuse is as unsafe as free.
 *
 * Locking: c->lock (an mmf_rawlock, innermost of all locks, no scheduling
 * point) protects the free list, the slab list and the carving cursor.
 * Allocation and freeing may run on any thread (RCU callbacks free on the
 * callback thread), under any lock and inside RCU read-side sections.
 *
 * Sanitizers:
 *  - ASan (and so LSan): the cache is bypassed, every object is its own
 *    calloc/free.  Poisoning a cached object (ASAN_POISON_MEMORY_REGION)
 *    would be reported as "use-after-poison" without the free's stack, and
 *    only until the object is handed out again; ASan's own free keeps the
 *    "heap-use-after-free" reports (and their stacks) that the fuzzers'
 *    signatures and the bug zoo (FREE_NO_RCU) rely on, and its quarantine
 *    delays reuse so that a late use is still caught.  objcache_init_mode
 *    can force the cache on (the unit test): free objects are then
 *    poisoned, so a use of one is still reported, as use-after-poison.
 *  - TSan: the cache is used; a freed object is overwritten whole
 *    (memset) before it goes on the free list, so an access that is not
 *    ordered before the free (no grace period) races with that write, as
 *    it would with free() -- reported as a data race.
 */
#ifndef MMF_CORE_OBJCACHE_H
#define MMF_CORE_OBJCACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "sync.h"

#define OBJCACHE_SLAB_BYTES	(64 * 1024)
/*
 * A cache that has grown past OBJCACHE_HUGE_AFTER bytes of slabs takes
 * its further slabs OBJCACHE_HUGE_BYTES at a time, mapped on their own
 * and madvised for transparent huge pages: fork of 64K VMAs needs 12 MiB
 * of new objects, and faulting that in 4 KiB pages cost about as much as
 * the fork's own work (not under ASan: see below).
 */
#define OBJCACHE_HUGE_AFTER	(1024 * 1024)
#define OBJCACHE_HUGE_BYTES	(2 * 1024 * 1024)

struct objcache_slab;

struct objcache {
	struct mmf_rawlock lock;	/* everything below but the constants */
	size_t size;			/* object size (constant) */
	bool bypass;			/* calloc/free per object (constant) */
	void *free;			/* free objects, linked through their first word */
	char *carve, *carve_end;	/* never-used tail of the newest slab */
	struct objcache_slab *slabs;	/* every slab, for objcache_destroy */
	size_t slab_bytes;		/* of all slabs */
	long live;			/* handed out, not given back */
};

enum objcache_mode {
	OBJCACHE_DEFAULT,		/* bypassed under ASan, else cached */
	OBJCACHE_CACHED,		/* cached, also under ASan (free objects poisoned) */
};

void objcache_init(struct objcache *c, size_t size);
void objcache_init_mode(struct objcache *c, size_t size, enum objcache_mode mode);
/* Every object must have been given back (a bug otherwise). */
void objcache_destroy(struct objcache *c);

/* A zeroed object; never NULL (out of memory aborts). */
void *objcache_alloc(struct objcache *c);
/* The same, not zeroed (the caller initialises what it reads). */
void *objcache_alloc_uninit(struct objcache *c);
void objcache_free(struct objcache *c, void *obj);

/*
 * Giving back many objects under one lock acquisition: collect them in a
 * chain (no lock), then objcache_free_chain.  An object's contents are
 * gone once it is added (its first word links the chain).
 */
struct objcache_chain {
	void *head, *tail;
	long n;
};

static inline void objcache_chain_init(struct objcache_chain *ch)
{
	ch->head = ch->tail = NULL;
	ch->n = 0;
}

void objcache_chain_add(struct objcache *c, struct objcache_chain *ch, void *obj);
void objcache_free_chain(struct objcache *c, struct objcache_chain *ch);

/* Objects handed out and not given back (racy unless quiescent). */
long objcache_live(struct objcache *c);

#endif /* MMF_CORE_OBJCACHE_H */
