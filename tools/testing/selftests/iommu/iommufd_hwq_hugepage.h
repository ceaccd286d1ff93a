/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Physically contiguous memory for HW queues larger than a hugepage.
 *
 * A HW queue must be physically contiguous. Up to one hugepage, any
 * hugepage is; beyond that, the hugepages of a mapping must also be
 * adjacent in physical memory, in the order of their addresses, and they
 * leave the kernel's free list in no guaranteed order (a process that
 * freed some before leaves them in reverse). So this maps a few hugepages
 * more than asked for, reads their frame numbers from /proc/self/pagemap,
 * and moves a run of physically adjacent ones, in physical order, to an
 * address range of their own with mremap(). With 64 KiB pages a PMD
 * hugepage (512 MiB) is used instead when there is one.
 */
#ifndef __IOMMUFD_HWQ_HUGEPAGE_H
#define __IOMMUFD_HWQ_HUGEPAGE_H

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define HWQ_HUGEPAGE_SIZE (2UL << 20)
/* The most hugepages mapped beyond the request, to search a run in */
#define HWQ_HUGEPAGE_SLACK 8UL

struct hwq_hugepage {
	uint64_t pfn;
	char *addr;
};

static int hwq_hugepage_cmp(const void *a, const void *b)
{
	const struct hwq_hugepage *x = a, *y = b;

	return x->pfn < y->pfn ? -1 : x->pfn > y->pfn;
}

/* The frame number of the page mapped at @addr, or 0 if it cannot be read */
static uint64_t hwq_pfn(int pagemap, const void *addr)
{
	uint64_t entry;
	off_t off = (uintptr_t)addr / sysconf(_SC_PAGE_SIZE) * sizeof(entry);

	if (pread(pagemap, &entry, sizeof(entry), off) != sizeof(entry) ||
	    !(entry >> 63))
		return 0;
	/* Bits 0-54; they read as 0 without CAP_SYS_ADMIN */
	return entry & ((1ULL << 55) - 1);
}

/*
 * Moves the @want hugepages from @hp on, physically adjacent in this order,
 * to a new range of addresses; returns its start, or NULL
 */
static char *hwq_hugepages_move(const struct hwq_hugepage *hp, size_t want)
{
	size_t length = want * HWQ_HUGEPAGE_SIZE, i;
	char *area, *dst;

	/* A hugepage-aligned range of addresses, reserved */
	area = mmap(NULL, length + HWQ_HUGEPAGE_SIZE, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (area == MAP_FAILED)
		return NULL;
	dst = (char *)(((uintptr_t)area + HWQ_HUGEPAGE_SIZE - 1) &
		       ~(HWQ_HUGEPAGE_SIZE - 1));
	if (dst > area)
		munmap(area, dst - area);
	munmap(dst + length, area + length + HWQ_HUGEPAGE_SIZE - (dst + length));
	for (i = 0; i < want; i++) {
		if (mremap(hp[i].addr, HWQ_HUGEPAGE_SIZE, HWQ_HUGEPAGE_SIZE,
			   MREMAP_MAYMOVE | MREMAP_FIXED,
			   dst + i * HWQ_HUGEPAGE_SIZE) == MAP_FAILED) {
			munmap(dst, length);
			return NULL;
		}
	}
	return dst;
}

/*
 * The PMD of 64 KiB pages maps 512 MiB: with them, one such hugepage (the
 * runner reserves one) holds any queue the tests make, contiguous by
 * construction, where a run of adjacent 2 MiB ones depends on the boot.
 */
#define HWQ_PMD_HUGEPAGE_SIZE_64K (512UL << 20)
#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif
#define HWQ_MAP_HUGE_512MB (29U << MAP_HUGE_SHIFT)

/*
 * @length bytes of zeroed, physically contiguous hugepage memory, @length a
 * multiple of HWQ_HUGEPAGE_SIZE; free it with hwq_contiguous_free(). NULL if
 * the kernel has too few hugepages, no run of adjacent ones is long enough,
 * or the frame numbers cannot be read.
 */
static void *hwq_contiguous_hugepages(size_t length)
{
	size_t want = length / HWQ_HUGEPAGE_SIZE, extra, n, i, run = 0;
	size_t pages_per_hugepage = HWQ_HUGEPAGE_SIZE / sysconf(_SC_PAGE_SIZE);
	struct hwq_hugepage *hp;
	char *map, *found = NULL;
	int pagemap;

	if (!want)
		return NULL;
	if (sysconf(_SC_PAGE_SIZE) == 64 * 1024 &&
	    length <= HWQ_PMD_HUGEPAGE_SIZE_64K) {
		map = mmap(NULL, HWQ_PMD_HUGEPAGE_SIZE_64K,
			   PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB |
				   HWQ_MAP_HUGE_512MB,
			   -1, 0);
		if (map != MAP_FAILED)
			return memset(map, 0, length);
	}
	/* As many spare hugepages as the kernel has, up to the slack */
	for (extra = HWQ_HUGEPAGE_SLACK;; extra--) {
		map = mmap(NULL, (want + extra) * HWQ_HUGEPAGE_SIZE,
			   PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
		if (map != MAP_FAILED)
			break;
		if (!extra)
			return NULL;
	}
	n = want + extra;
	memset(map, 0, n * HWQ_HUGEPAGE_SIZE);

	hp = calloc(n, sizeof(*hp));
	pagemap = open("/proc/self/pagemap", O_RDONLY);
	for (i = 0; hp && pagemap >= 0 && i < n; i++) {
		hp[i].addr = map + i * HWQ_HUGEPAGE_SIZE;
		hp[i].pfn = hwq_pfn(pagemap, hp[i].addr);
		if (!hp[i].pfn)
			break;
	}
	if (hp && i == n) {
		/* The first run of @want adjacent frames, in physical order */
		qsort(hp, n, sizeof(*hp), hwq_hugepage_cmp);
		for (i = 0; i < n && !found; i++) {
			if (run && hp[i].pfn == hp[i - 1].pfn + pages_per_hugepage)
				run++;
			else
				run = 1;
			if (run == want)
				found = hwq_hugepages_move(&hp[i + 1 - want], want);
		}
	}
	if (pagemap >= 0)
		close(pagemap);
	free(hp);
	/* The hugepages not moved */
	munmap(map, n * HWQ_HUGEPAGE_SIZE);
	return found;
}

/* Frees what hwq_contiguous_hugepages(@length) returned */
static void hwq_contiguous_free(void *p, size_t length)
{
	/* A hugetlb mapping is unmapped in whole hugepages */
	if (munmap(p, length))
		munmap(p, HWQ_PMD_HUGEPAGE_SIZE_64K);
}

#endif
