// SPDX-License-Identifier: GPL-2.0-only
/*
 * Time HW queue ioctls: ns per operation over a loop, CLOCK_MONOTONIC.
 *
 * Meant for a guest run with QEMU's -icount, where guest time follows the
 * number of executed instructions, so figures repeat across boots and are
 * comparable between kernels booted the same way.
 */
#include <time.h>

#include "bench_common.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int queue_cycle(struct bench *b, size_t len)
{
	uint32_t id = 0;
	int rc = hw_queue_alloc(b, b->iova, len, &id);

	return rc ? rc : destroy(b, id);
}

static void report(const char *op, unsigned int n, uint64_t t0, int rc)
{
	if (rc)
		printf("speed: op=%s error=%d\n", op, rc);
	else
		printf("speed: op=%s n=%u ns_per_op=%llu\n", op, n,
		       (unsigned long long)((now_ns() - t0) / n));
}

int main(void)
{
	static const struct {
		const char *name;
		size_t len;
		unsigned int n;
	} sizes[] = {
		{ "alloc_destroy_4k", 4096, 2000 },
		{ "alloc_destroy_2m", 2 * MIB, 100 },
		{ "alloc_destroy_16m", 16 * MIB, 20 },
	};
	struct bench b = bench_setup("bench_speed", 16 * MIB);
	const struct {
		const char *name;
		uint32_t viommu_id;
		__u64 iova;
		size_t len;
		int err;
	} stages[] = {
		{ "fail_zero_length", 0, b.iova, 0, -EINVAL },
		{ "fail_no_viommu", ~0U, b.iova, 4096, -ENOENT },
		{ "fail_unmapped", 0, b.iova + 64 * MIB, 4096, -ENOENT },
	};
	unsigned int i, k;
	uint64_t t0;
	int rc = 0;

	/* The ioctl path alone: destroying an ID that does not exist */
	t0 = now_ns();
	for (k = 0; k < 2000; k++)
		if (destroy(&b, ~0U) != -ENOENT)
			rc = -EINVAL;
	report("destroy_missing", 2000, t0, rc);

	/*
	 * Allocations that fail at successive stages, to tell where time
	 * goes: argument checks, the vIOMMU lookup, then everything up to
	 * pinning (object, access, attach) with nothing mapped to pin.
	 */
	for (i = 0; i < ARRAY_SIZE(stages); i++) {
		struct bench s = b;
		uint32_t id;

		rc = 0;
		s.viommu_id = stages[i].viommu_id ? stages[i].viommu_id :
						    b.viommu_id;
		t0 = now_ns();
		for (k = 0; k < 2000; k++)
			if (hw_queue_alloc(&s, stages[i].iova, stages[i].len,
					   &id) != stages[i].err)
				rc = -EINVAL;
		report(stages[i].name, 2000, t0, rc);
	}

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		rc = queue_cycle(&b, sizes[i].len); /* warm up */
		t0 = now_ns();
		for (k = 0; k < sizes[i].n && !rc; k++)
			rc = queue_cycle(&b, sizes[i].len);
		report(sizes[i].name, sizes[i].n, t0, rc);
	}

	/* The VMM's side of the mmap interface: map, touch, unmap */
	rc = mmap_touch_munmap(&b); /* warm up */
	t0 = now_ns();
	for (k = 0; k < 2000 && !rc; k++)
		rc = mmap_touch_munmap(&b);
	report("mmap_touch_munmap", 2000, t0, rc);
	return 0;
}
