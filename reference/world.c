// SPDX-License-Identifier: MIT
/*
 * reference/world.c - the world: processes and files by handle, the one
 * lock, the op dispatcher, the snapshot, the counters, the invariant
 * check (checked in check.c), the deep copy and the state hash (computed
 * in hash.c).  This file owns the only lock of the reference
 * (see ref.h): every entry point here takes world->lock, nothing else
 * locks anything.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"

/* ---- processes and handles ------------------------------------------------------- */

static struct ref_proc *live_proc(struct ref_world *w, int32_t pid)
{
	if (pid < 0 || pid >= MMF_MAX_PROCS || !w->procs[pid].live)
		return NULL;
	return &w->procs[pid];
}

static struct ref_file *live_file(struct ref_world *w, int32_t fid)
{
	if (fid < 0 || fid >= MMF_MAX_FILES)
		return NULL;
	return w->files[fid];
}

/* exit_mmap(): every VMA and PTE of the process goes. */
void proc_release(struct ref_world *w, struct ref_proc *p)
{
	for (size_t i = 0; i < p->nr_vmas; i++)
		vma_free(w, p->vmas[i]);
	free(p->vmas);
	table_free(&p->ptes);
	memset(p, 0, sizeof(*p));
}

/* ---- world lifetime -------------------------------------------------------------- */

static struct mmf_world *world_new(const struct mmf_config *cfg)
{
	struct ref_world *w = calloc(1, sizeof(*w));

	if (!w)
		abort();
	pthread_mutex_init(&w->lock, NULL);
	w->max_map_count = cfg && cfg->max_map_count ? cfg->max_map_count : MMF_MAX_MAP_COUNT;
	w->zero_page = !(cfg && cfg->no_zero_page);
	w->exec_only_pkey = cfg && cfg->exec_only_pkey;
	/* the world starts with p0 and no files */
	w->procs[0].live = true;
	table_init(&w->procs[0].ptes, sizeof(struct ref_pte));
	return (struct mmf_world *)w;
}

static void world_free(struct mmf_world *mw)
{
	struct ref_world *w = (struct ref_world *)mw;

	if (!w)
		return;
	for (int pid = 0; pid < MMF_MAX_PROCS; pid++) {
		if (w->procs[pid].live)
			proc_release(w, &w->procs[pid]);
	}
	for (int fid = 0; fid < MMF_MAX_FILES; fid++) {
		if (w->files[fid])
			file_put(w->files[fid]);
	}
	pthread_mutex_destroy(&w->lock);
	free(w);
}

/* ---- dispatch ---------------------------------------------------------------------- */

static void exec_proc_op(struct ref_world *w, struct ref_proc *p, const struct mmf_op *op,
			 struct mmf_res *res)
{
	switch (op->kind) {
	case MMF_OP_FORK:
		res->ret = ref_fork(w, p);
		break;
	case MMF_OP_EXIT:
		proc_release(w, p);
		res->ret = 0;
		break;
	case MMF_OP_MMAP:
		res->ret = ref_mmap(w, p, op);
		break;
	case MMF_OP_MUNMAP:
		res->ret = ref_munmap(w, p, op->addr, op->len);
		break;
	case MMF_OP_MPROTECT:
		res->ret = ref_mprotect(w, p, op->addr, op->len, op->prot);
		break;
	case MMF_OP_MREMAP:
		res->ret = ref_mremap(w, p, op);
		break;
	case MMF_OP_MADVISE:
		res->ret = ref_madvise(w, p, op->addr, op->len, op->advice);
		break;
	case MMF_OP_SET_NAME: {
		char name[MMF_OP_NAME_MAX + 1];

		/* the op's name may lack its NUL: never read past the buffer */
		memcpy(name, op->name, MMF_OP_NAME_MAX);
		name[MMF_OP_NAME_MAX] = '\0';
		res->ret = ref_set_name(w, p, op->addr, op->len, op->name_null ? NULL : name);
		break;
	}
	case MMF_OP_READ:
		do_read(w, p, op->addr, res);
		break;
	case MMF_OP_WRITE:
		do_write(w, p, op->addr, op->value, res);
		break;
	default:
		res->ret = -EINVAL;
		break;
	}
}

static void exec_file_op(struct ref_world *w, const struct mmf_op *op, struct mmf_res *res)
{
	struct ref_file *f;

	if (op->kind == MMF_OP_FILE_CREATE) {
		res->ret = ref_file_create(w, op->len);
		return;
	}
	/* an unknown file handle is a bad descriptor */
	f = live_file(w, op->file);
	if (!f) {
		res->ret = -EBADF;
		return;
	}
	switch (op->kind) {
	case MMF_OP_TRUNCATE:
		res->ret = ref_truncate(w, f, op->len);
		break;
	case MMF_OP_FILE_READ:
		res->ret = ref_file_read(f, op->pgoff, &res->value);
		break;
	case MMF_OP_FILE_WRITE:
		res->ret = ref_file_write(f, op->pgoff, op->value);
		break;
	default:
		res->ret = -EINVAL;
		break;
	}
}

static bool is_file_op(enum mmf_op_kind kind)
{
	return kind == MMF_OP_FILE_CREATE || kind == MMF_OP_TRUNCATE ||
	       kind == MMF_OP_FILE_READ || kind == MMF_OP_FILE_WRITE;
}

static void exec(struct mmf_world *mw, const struct mmf_op *op, struct mmf_res *res)
{
	struct ref_world *w = (struct ref_world *)mw;
	struct ref_proc *p;

	memset(res, 0, sizeof(*res));
	pthread_mutex_lock(&w->lock);
	if (is_file_op(op->kind)) {
		exec_file_op(w, op, res);
	} else if ((unsigned)op->kind >= MMF_OP__COUNT) {
		res->ret = -EINVAL;
	} else {
		/* an unknown or dead process: no such process */
		p = live_proc(w, op->proc);
		if (p)
			exec_proc_op(w, p, op, res);
		else
			res->ret = -ESRCH;
	}
	pthread_mutex_unlock(&w->lock);
}

/* ---- observation -------------------------------------------------------------------- */

static void snapshot_proc(struct mmf_snap *s, struct ref_world *w, int pid)
{
	struct ref_proc *p = &w->procs[pid];
	struct mmf_snap_proc *sp = mmf_snap_add_proc(s, pid);

	for (size_t i = 0; i < p->nr_vmas; i++) {
		const struct ref_vma *v = p->vmas[i];
		struct mmf_snap_vma *sv = mmf_snap_add_vma(sp);
		int fid = MMF_FILE_ANON;

		for (int f = 0; f < MMF_MAX_FILES; f++) {
			if (v->file && w->files[f] == v->file)
				fid = f;
		}
		sv->start = v->start;
		sv->end = v->end;
		/* private anonymous VMAs show pgoff 0 (maps shows offset 0) */
		sv->pgoff = v->file ? v->pgoff : 0;
		sv->prot = v->prot;
		sv->flags = v->flags & REF_VM_SNAPSHOT_FLAGS;
		sv->file = fid;
		if (v->name) {
			sv->has_name = 1;
			snprintf(sv->name, sizeof(sv->name), "%s", v->name);
		}
	}
	for (size_t i = 0; i < p->ptes.nr; i++) {
		const struct ref_pte *pte = table_row(&p->ptes, i);

		/* a guard marker is no page (pagemap shows it not present) */
		if (pte->kind != PTE_GUARD)
			mmf_snap_add_page(sp, pte->addr, pte_value(pte));
	}
}

static void snapshot(struct mmf_world *mw, struct mmf_snap *s)
{
	struct ref_world *w = (struct ref_world *)mw;

	pthread_mutex_lock(&w->lock);
	for (int pid = 0; pid < MMF_MAX_PROCS; pid++) {
		if (w->procs[pid].live)
			snapshot_proc(s, w, pid);
	}
	for (int fid = 0; fid < MMF_MAX_FILES; fid++) {
		struct ref_file *f = w->files[fid];
		struct mmf_snap_file *sf;

		if (!f)
			continue;
		sf = mmf_snap_add_file(s, fid, f->size);
		for (size_t i = 0; i < f->cache.nr; i++) {
			const struct ref_fpage *pg = table_row(&f->cache, i);

			mmf_snap_add_fpage(sf, pg->index, pg->value);
		}
	}
	pthread_mutex_unlock(&w->lock);
}

static void counters(struct mmf_world *mw, struct mmf_counters *c)
{
	struct ref_world *w = (struct ref_world *)mw;

	pthread_mutex_lock(&w->lock);
	*c = w->counters;
	pthread_mutex_unlock(&w->lock);
}

/* ---- invariants (checked in check.c) ---------------------------------------------------- */

static int check(struct mmf_world *mw, char *msg, size_t msglen)
{
	struct ref_world *w = (struct ref_world *)mw;
	int ret = 0;

	pthread_mutex_lock(&w->lock);
	ret = world_check(w, msg, msglen);
	pthread_mutex_unlock(&w->lock);
	return ret;
}

/* ---- deep copy --------------------------------------------------------------------------- */

/* Old file -> its copy, so that sharing is preserved. */
struct file_map {
	struct ref_file **from, **to;
	size_t nr, cap;
};

/* The copy of f (made on first use); the caller takes the references it needs. */
static struct ref_file *copy_of(struct file_map *fm, struct ref_file *f)
{
	struct ref_file *c;

	for (size_t i = 0; i < fm->nr; i++) {
		if (fm->from[i] == f)
			return fm->to[i];
	}
	c = file_new(f->size, f->anon);
	c->refs = 0;
	table_free(&c->cache);
	table_copy(&c->cache, &f->cache);
	if (fm->nr == fm->cap) {
		fm->cap = fm->cap ? 2 * fm->cap : 16;
		fm->from = realloc(fm->from, fm->cap * sizeof(*fm->from));
		fm->to = realloc(fm->to, fm->cap * sizeof(*fm->to));
		if (!fm->from || !fm->to)
			abort();
	}
	fm->from[fm->nr] = f;
	fm->to[fm->nr++] = c;
	return c;
}

static void copy_proc(struct ref_world *dst, struct file_map *fm, struct ref_proc *to,
		      const struct ref_proc *from)
{
	to->live = true;
	table_copy(&to->ptes, &from->ptes);
	for (size_t i = 0; i < from->nr_vmas; i++) {
		struct ref_vma *v = calloc(1, sizeof(*v));

		if (!v)
			abort();
		*v = *from->vmas[i];
		v->name = NULL;
		if (from->vmas[i]->name) {
			v->name = strdup(from->vmas[i]->name);
			if (!v->name)
				abort();
		}
		if (v->file)
			v->file = file_get(copy_of(fm, v->file));
		vma_insert(to, v);
	}
	for (size_t i = 0; i < to->ptes.nr; i++) {
		struct ref_pte *pte = table_row(&to->ptes, i);

		/* PTEs hold no reference: their VMA does */
		if (pte->file)
			pte->file = copy_of(fm, pte->file);
	}
}

static struct mmf_world *world_clone(struct mmf_world *mw)
{
	struct ref_world *w = (struct ref_world *)mw;
	struct ref_world *c = calloc(1, sizeof(*c));
	struct file_map *fm = calloc(1, sizeof(*fm));

	if (!c || !fm)
		abort();
	pthread_mutex_lock(&w->lock);
	pthread_mutex_init(&c->lock, NULL);
	c->max_map_count = w->max_map_count;
	c->last_anon_vma = w->last_anon_vma;
	c->zero_page = w->zero_page;
	c->exec_only_pkey = w->exec_only_pkey;
	c->counters = w->counters;
	for (int fid = 0; fid < MMF_MAX_FILES; fid++) {
		if (w->files[fid])
			c->files[fid] = file_get(copy_of(fm, w->files[fid]));
	}
	for (int pid = 0; pid < MMF_MAX_PROCS; pid++) {
		if (w->procs[pid].live)
			copy_proc(c, fm, &c->procs[pid], &w->procs[pid]);
	}
	pthread_mutex_unlock(&w->lock);
	free(fm->from);
	free(fm->to);
	free(fm);
	return (struct mmf_world *)c;
}

/* ---- state hash ------------------------------------------------------------------------- */

static uint64_t state_hash(struct mmf_world *mw)
{
	struct ref_world *w = (struct ref_world *)mw;
	uint64_t h;

	pthread_mutex_lock(&w->lock);
	h = world_state_hash(w);
	pthread_mutex_unlock(&w->lock);
	return h;
}

const struct mmf_impl mmf_reference = {
	.name = "reference",
	.world_new = world_new,
	.world_free = world_free,
	.exec = exec,
	.snapshot = snapshot,
	.counters = counters,
	.check = check,
	.clone = world_clone,
	.state_hash = state_hash,
};
