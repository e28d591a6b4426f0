// SPDX-License-Identifier: MIT
/*
 * reference/table.c - a sorted array of fixed-size rows, each starting
 * with a uint64_t key.  The page table (address -> PTE) and every page
 * cache (index -> value) are such tables.  Binary search, memmove: no
 * cleverness, because this is the specification.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"

static uint64_t row_key(const struct ref_table *t, size_t i)
{
	uint64_t key;

	memcpy(&key, (const char *)t->rows + i * t->row_size, sizeof(key));
	return key;
}

void table_init(struct ref_table *t, size_t row_size)
{
	memset(t, 0, sizeof(*t));
	t->row_size = row_size;
}

void table_free(struct ref_table *t)
{
	free(t->rows);
	t->rows = NULL;
	t->nr = t->cap = 0;
}

void table_copy(struct ref_table *dst, const struct ref_table *src)
{
	table_init(dst, src->row_size);
	if (!src->nr)
		return;
	dst->rows = malloc(src->nr * src->row_size);
	if (!dst->rows)
		abort();
	memcpy(dst->rows, src->rows, src->nr * src->row_size);
	dst->nr = dst->cap = src->nr;
}

void *table_row(const struct ref_table *t, size_t i)
{
	return (char *)t->rows + i * t->row_size;
}

size_t table_lower_bound(const struct ref_table *t, uint64_t key)
{
	size_t lo = 0, hi = t->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (row_key(t, mid) < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void *table_find(const struct ref_table *t, uint64_t key)
{
	size_t i = table_lower_bound(t, key);

	if (i < t->nr && row_key(t, i) == key)
		return table_row(t, i);
	return NULL;
}

void *table_get(struct ref_table *t, uint64_t key)
{
	size_t i = table_lower_bound(t, key);
	char *row;

	if (i < t->nr && row_key(t, i) == key)
		return table_row(t, i);
	if (t->nr == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 16;
		t->rows = realloc(t->rows, t->cap * t->row_size);
		if (!t->rows)
			abort();
	}
	row = table_row(t, i);
	memmove(row + t->row_size, row, (t->nr - i) * t->row_size);
	memset(row, 0, t->row_size);
	memcpy(row, &key, sizeof(key));
	t->nr++;
	return row;
}

void table_remove_range(struct ref_table *t, uint64_t lo, uint64_t hi)
{
	size_t i, j;

	if (lo >= hi)
		return;
	i = table_lower_bound(t, lo);
	j = table_lower_bound(t, hi);
	if (i == j)
		return;
	memmove(table_row(t, i), table_row(t, j), (t->nr - j) * t->row_size);
	t->nr -= j - i;
}
