// SPDX-License-Identifier: MIT
/*
 * core/mm.c - the world and its processes: lifecycle, dispatch of ops,
 * snapshot and counters.  The ops table is mmf_core.
 *
 * world->lock serialises the writers of the handle tables (procs[],
 * files[]), which store slots with release stores.  An op looks its
 * process (mm) or file up with an acquire load, without the lock (a fault
 * takes no global lock), and then runs without it:
 * ops on different processes run in parallel, and ops on one process
 * synchronise through its mmap_lock / per-VMA locks.  An exited mm stays
 * allocated (on the zombie list) until the world is freed, so an op that
 * looked it up just before the exit finds it dead (-ESRCH) and never
 * touches freed memory.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mm.h"

struct core_mm *core_mm_new(struct mmf_world *w, int pid)
{
	struct core_mm *mm = calloc(1, sizeof(*mm));

	if (!mm)
		abort();
	mm->w = w;
	mm->pid = pid;
	mmf_rwsem_init(&mm->mmap_lock);
	mmf_atomic_set(&mm->mm_lock_seq, 0);
	vma_tree_init(&mm->mt, &w->tree_stats, &mm->mmap_lock);
	mmf_spin_init(&mm->page_table_lock);
	mmf_spin_init(&mm->free_lock);
	return mm;
}

static void core_mm_free(struct core_mm *mm)
{
	vma_tree_destroy(&mm->mt, true);
	free(mm->ptes);
	mmf_spin_destroy(&mm->page_table_lock);
	mmf_spin_destroy(&mm->free_lock);
	mmf_rwsem_destroy(&mm->mmap_lock);
	free(mm);
}

/* What world_new and world_clone set up alike. */
static void world_init_common(struct mmf_world *w)
{
	mmf_mutex_init(&w->lock);
	w->zero_page.zero = true;
	mmf_atomic_set(&w->zero_page.ref, 1);
	w->guard_marker.guard = true;
	mmf_atomic_set(&w->guard_marker.ref, 1);
	objcache_init(&w->vma_cache, sizeof(struct core_vma));
	objcache_init(&w->node_cache, vma_tree_node_size());
	w->tree_stats.cache = &w->node_cache;
}

static struct mmf_world *world_new(const struct mmf_config *cfg)
{
	struct mmf_world *w = calloc(1, sizeof(*w));

	if (!w)
		abort();
	if (cfg)
		w->cfg = *cfg;
	w->max_map_count = w->cfg.max_map_count ? w->cfg.max_map_count : MMF_MAX_MAP_COUNT;
	/* one driving thread: RCU callbacks run at our barriers, not asynchronously */
	if (w->cfg.single_threaded)
		mmf_rcu_defer_callbacks(true);
	world_init_common(w);
	w->procs[0] = core_mm_new(w, 0);
	return w;
}

static void world_free(struct mmf_world *w)
{
	struct core_mm *mm, *next;
	int i;

	if (!w)
		return;
	for (i = 0; i < MMF_MAX_PROCS; i++) {
		mm = w->procs[i];
		if (!mm)
			continue;
		mmap_write_lock(mm);
		exit_mmap(mm);
		mm->dead = true;
		mmap_write_unlock(mm);
		mm->zombie_next = w->zombies;
		w->zombies = mm;
		w->procs[i] = NULL;
	}
	/* the VMA batches' callbacks read their mm (for its world's cache) */
	mmf_rcu_barrier();
	for (mm = w->zombies; mm; mm = next) {
		next = mm->zombie_next;
		core_mm_free(mm);
	}
	/* every VMA batch and retired tree node is freed by its callback */
	mmf_rcu_barrier();
	for (i = 0; i < MMF_MAX_FILES; i++)
		if (w->files[i])
			core_file_put(w->files[i]);
	mmf_mutex_destroy(&w->lock);
	objcache_destroy(&w->vma_cache);
	objcache_destroy(&w->node_cache);
	free(w);
}

void core_set_legacy(struct mmf_world *w, unsigned int bits)
{
	w->legacy = bits;
}

/* ---- handles ---------------------------------------------------------------------- */

/*
 * An op on a process is linearized no later than this lookup when it fails
 * before taking the mmap_lock (argument checks depend only on the op; those
 * that depend on a file as well are linearized at core_lookup_file).  exit
 * empties the slot under world->lock in the same step as the process dies,
 * so an op that starts after an exit finds no process (-ESRCH), as in the
 * reference, which checks the process first.
 */
static struct core_mm *lookup_proc(struct mmf_world *w, int pid)
{
	struct core_mm *mm = NULL;

	if (pid < 0 || pid >= MMF_MAX_PROCS)
		return NULL;
	/* lockless: slots change under world->lock by release stores only */
	mm = mmf_load_acquire(w->procs[pid]);
	return mm;
}

static struct core_file *lookup_file(struct mmf_world *w, int fid)
{
	struct core_file *f;

	if (fid < 0 || fid >= MMF_MAX_FILES)
		return NULL;
	f = mmf_load_acquire(w->files[fid]);
	return f;
}

/*
 * The file an op of mm names, looked up in one step with mm's liveness:
 * files appear (file_create) while the op runs, so a failure that depends on
 * the file is linearized here, and mm must still be alive here too (exit
 * empties its slot under world->lock as it dies).  0 with *fp, -EBADF, or
 * -ESRCH.  Looking the file up on its own let mmap fail -EINVAL on a file
 * created after its process had exited: found by sched_fuzzer
 * (linearizability:mmap).
 */
int core_lookup_file(struct core_mm *mm, int fid, struct core_file **fp)
{
	struct mmf_world *w = mm->w;
	bool alive;

	if (fid < 0 || fid >= MMF_MAX_FILES)
		return -EBADF;
	mmf_mutex_lock(&w->lock);
	alive = w->procs[mm->pid] == mm;
	*fp = w->files[fid];
	mmf_mutex_unlock(&w->lock);
	if (!alive)
		return -ESRCH;
	return *fp ? 0 : -EBADF;
}

static int64_t core_fork(struct mmf_world *w, struct core_mm *parent)
{
	struct core_mm *child;
	int pid;

	mmap_write_lock(parent);
	if (parent->dead) {
		mmap_write_unlock(parent);
		return -ESRCH;
	}
	core_fork_freeze_parent(parent);
	/* the lowest free slot; the child is published locked, so every op on
	 * it waits until its address space is complete */
	mmf_mutex_lock(&w->lock);
	for (pid = 0; pid < MMF_MAX_PROCS; pid++)
		if (!w->procs[pid])
			break;
	if (pid == MMF_MAX_PROCS) {
		mmf_mutex_unlock(&w->lock);
		mmap_write_unlock(parent);
		return -EAGAIN;
	}
	child = core_mm_new(w, pid);
	mmap_write_lock(child);
	mmf_store_release(w->procs[pid], child);
	mmf_mutex_unlock(&w->lock);

	core_dup_mm(parent, child);
	mmap_write_unlock(child);
	mmap_write_unlock(parent);
	return pid;
}

static int64_t core_exit(struct mmf_world *w, struct core_mm *mm)
{
	mmap_write_lock(mm);
	if (mm->dead) {
		mmap_write_unlock(mm);
		return -ESRCH;
	}
	exit_mmap(mm);
	/*
	 * The process dies and its handle becomes free in one step (under
	 * world->lock, inside the mmap_lock): an op that saw it dead (-ESRCH)
	 * and then forks must find the slot free, as after exit in the
	 * reference (found by sched_fuzzer: fork got a higher pid).
	 */
	mmf_mutex_lock(&w->lock);
	mm->dead = true;
	if (w->procs[mm->pid] == mm)
		mmf_store_release(w->procs[mm->pid], NULL);
	mm->zombie_next = w->zombies;
	w->zombies = mm;
	mmf_mutex_unlock(&w->lock);
	mmap_write_unlock(mm);
	return 0;
}

static int64_t core_file_create(struct mmf_world *w, uint64_t size)
{
	int fid;

	if (size > MMF_MAX_FILE_SIZE)
		return -EFBIG;
	mmf_mutex_lock(&w->lock);
	for (fid = 0; fid < MMF_MAX_FILES; fid++) {
		if (!w->files[fid]) {
			mmf_store_release(w->files[fid], core_file_new(w, fid, size));
			break;
		}
	}
	mmf_mutex_unlock(&w->lock);
	return fid < MMF_MAX_FILES ? fid : -EMFILE;
}

/* ---- dispatch ------------------------------------------------------------------------- */

static void exec_file_op(struct mmf_world *w, const struct mmf_op *op, struct mmf_res *res)
{
	struct core_file *f;

	if (op->kind == MMF_OP_FILE_CREATE) {
		res->ret = core_file_create(w, op->len);
		return;
	}
	f = lookup_file(w, op->file);
	if (!f) {
		res->ret = -EBADF;
		return;
	}
	switch (op->kind) {
	case MMF_OP_TRUNCATE:
		res->ret = core_file_truncate(f, op->len);
		break;
	case MMF_OP_FILE_READ:
		res->ret = core_file_read(f, op->pgoff, &res->value);
		break;
	case MMF_OP_FILE_WRITE:
		res->ret = core_file_write(f, op->pgoff, op->value);
		break;
	default:
		res->ret = -EINVAL;
		break;
	}
}

static void exec(struct mmf_world *w, const struct mmf_op *op, struct mmf_res *res)
{
	struct core_mm *mm;
	int ret;

	memset(res, 0, sizeof(*res));
	switch (op->kind) {
	case MMF_OP_FILE_CREATE:
	case MMF_OP_TRUNCATE:
	case MMF_OP_FILE_READ:
	case MMF_OP_FILE_WRITE:
		exec_file_op(w, op, res);
		return;
	default:
		break;
	}
	if ((unsigned)op->kind >= MMF_OP__COUNT) {
		res->ret = -EINVAL;
		return;
	}
	mm = lookup_proc(w, op->proc);
	if (!mm) {
		res->ret = -ESRCH;
		return;
	}
	switch (op->kind) {
	case MMF_OP_FORK:
		res->ret = core_fork(w, mm);
		break;
	case MMF_OP_EXIT:
		res->ret = core_exit(w, mm);
		break;
	case MMF_OP_MMAP:
		res->ret = core_mmap(mm, op);
		break;
	case MMF_OP_MUNMAP:
		res->ret = core_munmap(mm, op->addr, op->len);
		break;
	case MMF_OP_MPROTECT:
		res->ret = core_mprotect(mm, op->addr, op->len, op->prot);
		break;
	case MMF_OP_MREMAP:
		res->ret = core_mremap(mm, op);
		break;
	case MMF_OP_MADVISE:
		res->ret = core_madvise(mm, op->addr, op->len, op->advice);
		break;
	case MMF_OP_SET_NAME: {
		char name[MMF_OP_NAME_MAX + 1];

		memcpy(name, op->name, MMF_OP_NAME_MAX);
		name[MMF_OP_NAME_MAX] = '\0';
		res->ret = core_set_anon_name(mm, op->addr, op->len, name, op->name_null);
		break;
	}
	case MMF_OP_READ:
	case MMF_OP_WRITE:
		ret = core_fault(mm, op->addr, op->kind == MMF_OP_WRITE, op->value, res);
		if (ret)
			res->ret = ret;
		break;
	default:
		res->ret = -EINVAL;
		break;
	}
}

/* ---- observation ------------------------------------------------------------------------- */

static void snapshot_mm(struct mmf_snap *s, struct core_mm *mm)
{
	struct mmf_snap_proc *sp = mmf_snap_add_proc(s, mm->pid);
	struct core_vma *vma;
	struct vma_tree_iter it;
	struct vma_tree_range r;
	size_t i;

	/* not counted as an mmap_lock acquisition: observation only */
	mmf_down_read(&mm->mmap_lock);
	vma_tree_walk(&mm->mt, it, vma, r, 0, MMF_TASK_SIZE) {
		struct mmf_snap_vma *sv = mmf_snap_add_vma(sp);

		sv->start = vma->start;
		sv->end = vma->end;
		sv->pgoff = vma->file ? vma->pgoff : 0;
		sv->prot = vma->flags & VM_PROT_MASK;	/* VM_READ/WRITE/EXEC == PROT_* */
		sv->flags = (vma->flags & VM_SHARED ? MMF_VMA_SHARED : 0) |
			    (vma->flags & VM_GROWSDOWN ? MMF_VMA_GROWSDOWN : 0) |
			    (vma->flags & VM_DONTCOPY ? MMF_VMA_DONTCOPY : 0) |
			    (vma->flags & VM_WIPEONFORK ? MMF_VMA_WIPEONFORK : 0);
		sv->file = vma->file && vma->file->fid >= 0 ? vma->file->fid : MMF_FILE_ANON;
		if (vma->anon_name) {
			sv->has_name = 1;
			strncpy(sv->name, vma->anon_name->name, sizeof(sv->name) - 1);
		}
	}
	mmf_spin_lock(&mm->page_table_lock);
	for (i = 0; i < mm->nr_ptes; i++) {
		/* a guard marker is no page (pagemap shows it not present) */
		if (!mm->ptes[i].page->guard)
			mmf_snap_add_page(sp, mm->ptes[i].vpn << MMF_PAGE_SHIFT,
					  mmf_read_once(mm->ptes[i].page->value));
	}
	mmf_spin_unlock(&mm->page_table_lock);
	mmf_up_read(&mm->mmap_lock);
}

static void snapshot(struct mmf_world *w, struct mmf_snap *s)
{
	int i;
	size_t j;

	for (i = 0; i < MMF_MAX_PROCS; i++) {
		struct core_mm *mm = lookup_proc(w, i);

		if (mm && !mm->dead)
			snapshot_mm(s, mm);
	}
	for (i = 0; i < MMF_MAX_FILES; i++) {
		struct core_file *f = lookup_file(w, i);
		struct mmf_snap_file *sf;

		if (!f)
			continue;
		mmf_mutex_lock(&f->pages_lock);
		sf = mmf_snap_add_file(s, i, f->size);
		for (j = 0; j < f->nr_pages; j++)
			mmf_snap_add_fpage(sf, f->pages[j].index, mmf_read_once(f->pages[j].page->value));
		mmf_mutex_unlock(&f->pages_lock);
	}
}

static void counters(struct mmf_world *w, struct mmf_counters *c)
{
#define CORE_COUNTER_READ(name) c->name = (uint64_t)mmf_atomic_long_read(&w->cnt.name);
	MMF_COUNTERS(CORE_COUNTER_READ)
#undef CORE_COUNTER_READ
	c->tree_node_alloc = (uint64_t)mmf_atomic_long_read(&w->tree_stats.node_alloc);
	c->tree_node_free = (uint64_t)mmf_atomic_long_read(&w->tree_stats.node_free);
}

/* ---- deep copy (clone) -------------------------------------------------------------- */

/*
 * A copy of a quiescent world (no op running) that shares no memory with
 * it: every object is copied once and every pointer between objects is
 * redirected to the copy, so sharing (COW pages between processes, page
 * cache pages mapped by PTEs, anon_vma hierarchies, names shared by VMAs,
 * files mapped by several VMAs) is preserved.  Reference counts and
 * hierarchy counts are copied as they are: the holders are copied too.
 */
struct ptr_map {
	const void **from;
	void **to;
	size_t nr, cap;
};

static void *map_find(struct ptr_map *m, const void *from)
{
	size_t i;

	for (i = 0; i < m->nr; i++)
		if (m->from[i] == from)
			return m->to[i];
	return NULL;
}

static void map_add(struct ptr_map *m, const void *from, void *to)
{
	if (m->nr == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 64;
		m->from = realloc(m->from, m->cap * sizeof(*m->from));
		m->to = realloc(m->to, m->cap * sizeof(*m->to));
		if (!m->from || !m->to)
			abort();
	}
	m->from[m->nr] = from;
	m->to[m->nr++] = to;
}

struct clone_ctx {
	struct mmf_world *w;
	struct ptr_map pages, files, anon_vmas, names;
};

static struct core_page *clone_page(struct clone_ctx *c, struct core_page *p)
{
	struct core_page *n;

	if (p->zero)
		return &c->w->zero_page;
	if (p->guard)
		return &c->w->guard_marker;
	n = map_find(&c->pages, p);
	if (n)
		return n;
	n = calloc(1, sizeof(*n));
	if (!n)
		abort();
	mmf_atomic_set(&n->ref, mmf_atomic_read(&p->ref));
	n->value = p->value;
	n->anon = p->anon;
	n->dirty = p->dirty;
	map_add(&c->pages, p, n);
	return n;
}

static struct core_file *clone_file(struct clone_ctx *c, struct core_file *f)
{
	struct core_file *n = map_find(&c->files, f);
	size_t i;

	if (n)
		return n;
	n = core_file_new(c->w, f->fid, f->size);
	n->ref.refs = f->ref.refs;
	n->ref.max = f->ref.max;
	n->nr_pages = n->cap_pages = f->nr_pages;
	if (f->nr_pages) {
		n->pages = malloc(f->nr_pages * sizeof(*n->pages));
		if (!n->pages)
			abort();
		for (i = 0; i < f->nr_pages; i++) {
			n->pages[i].index = f->pages[i].index;
			n->pages[i].page = clone_page(c, f->pages[i].page);
		}
	}
	map_add(&c->files, f, n);
	return n;
}

static struct anon_vma *clone_anon_vma(struct clone_ctx *c, struct anon_vma *av)
{
	struct anon_vma *n = map_find(&c->anon_vmas, av);

	if (n)
		return n;
	n = calloc(1, sizeof(*n));
	if (!n)
		abort();
	map_add(&c->anon_vmas, av, n);
	*n = *av;
	mmf_mutex_init(&n->lock_storage);
	n->root = av->root == av ? n : clone_anon_vma(c, av->root);
	n->parent = av->parent == av ? n : clone_anon_vma(c, av->parent);
	n->lock = &n->root->lock_storage;
	return n;
}

static struct anon_name *clone_name(struct clone_ctx *c, struct anon_name *an)
{
	struct anon_name *n = map_find(&c->names, an);
	size_t len = strlen(an->name);

	if (n)
		return n;
	n = malloc(sizeof(*n) + len + 1);
	if (!n)
		abort();
	n->ref = an->ref;
	memcpy(n->name, an->name, len + 1);
	map_add(&c->names, an, n);
	return n;
}

static struct core_mm *clone_mm(struct clone_ctx *c, struct core_mm *old)
{
	struct core_mm *mm = core_mm_new(c->w, old->pid);
	struct core_vma *v, *n;
	struct vma_tree_iter it;
	struct vma_tree_range r;
	unsigned int i;
	size_t j;

	mmf_down_write(&mm->mmap_lock);
	vma_tree_begin(&mm->mt);
	vma_tree_walk(&old->mt, it, v, r, 0, MMF_TASK_SIZE) {
		n = objcache_alloc(&c->w->vma_cache);
		n->start = v->start;
		n->end = v->end;
		n->pgoff = v->pgoff;
		n->flags = v->flags;
		n->maybe_guard = v->maybe_guard;
		n->mm = mm;
		vma_lock_init(n);
		if (v->file)
			n->file = clone_file(c, v->file);
		if (v->anon_vma)
			n->anon_vma = clone_anon_vma(c, v->anon_vma);
		if (v->chain_len) {
			n->chain = malloc(v->chain_len * sizeof(*n->chain));
			if (!n->chain)
				abort();
			n->chain_len = n->chain_cap = v->chain_len;
			for (i = 0; i < v->chain_len; i++)
				n->chain[i] = clone_anon_vma(c, v->chain[i]);
		}
		if (v->anon_name)
			n->anon_name = clone_name(c, v->anon_name);
		vma_link_tree(mm, n);
		if (n->file)
			i_mmap_insert(n->file, n);
	}
	vma_tree_commit(&mm->mt);
	mm->nr_ptes = mm->cap_ptes = old->nr_ptes;
	if (old->nr_ptes) {
		mm->ptes = malloc(old->nr_ptes * sizeof(*mm->ptes));
		if (!mm->ptes)
			abort();
		for (j = 0; j < old->nr_ptes; j++) {
			mm->ptes[j].vpn = old->ptes[j].vpn;
			mm->ptes[j].page = clone_page(c, old->ptes[j].page);
		}
	}
	/* release without advancing the sequence through mmap_write_unlock's
	 * counters: this is not an operation */
	mmf_atomic_set(&mm->mm_lock_seq, mmf_atomic_read(&mm->mm_lock_seq) + 1);
	mmf_up_write(&mm->mmap_lock);
	return mm;
}

static struct mmf_world *world_clone(struct mmf_world *old)
{
	struct clone_ctx c = { 0 };
	struct mmf_world *w = calloc(1, sizeof(*w));
	int i;

	if (!w)
		abort();
	w->cfg = old->cfg;
	w->max_map_count = old->max_map_count;
	w->legacy = old->legacy;
	world_init_common(w);
#define CORE_COUNTER_COPY(name) \
	mmf_atomic_long_set(&w->cnt.name, mmf_atomic_long_read(&old->cnt.name));
	MMF_COUNTERS(CORE_COUNTER_COPY)
#undef CORE_COUNTER_COPY
	c.w = w;
	mmf_mutex_lock(&old->lock);
	for (i = 0; i < MMF_MAX_FILES; i++)
		if (old->files[i])
			w->files[i] = clone_file(&c, old->files[i]);
	for (i = 0; i < MMF_MAX_PROCS; i++)
		if (old->procs[i])
			w->procs[i] = clone_mm(&c, old->procs[i]);
	mmf_mutex_unlock(&old->lock);
	free(c.pages.from);
	free(c.pages.to);
	free(c.files.from);
	free(c.files.to);
	free(c.anon_vmas.from);
	free(c.anon_vmas.to);
	free(c.names.from);
	free(c.names.to);
	return w;
}

const struct mmf_impl mmf_core = {
	.name = "core",
	.world_new = world_new,
	.world_free = world_free,
	.exec = exec,
	.snapshot = snapshot,
	.counters = counters,
	.check = core_check,
	.clone = world_clone,
};
