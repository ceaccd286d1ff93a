// SPDX-License-Identifier: GPL-2.0-only
/*
 * One benchmark operation in a loop between two markers, for the QEMU
 * plugin qemu_plugin/hwq_prof.c, which counts the instructions the guest
 * executes between them (scripts/profile.sh).
 *
 *   bench_profile -o OP -n N
 *
 * OP is one of bench_speed's rows: destroy_missing, fail_zero_length,
 * fail_no_viommu, fail_unmapped, alloc_destroy_4k, alloc_destroy_2m,
 * mmap_touch_munmap.
 */
#include <getopt.h>

#include "bench_common.h"
#include "bench_profile.h"

/*
 * The markers, in assembly so that no call to them is inlined: each starts
 * with a movabs of a magic the plugin looks for
 */
asm(".text\n"
	"hwq_prof_start:\n"
	"\tmovabs $0x7472617473717768, %rax\n"
	"\tret\n"
	"hwq_prof_stop:\n"
	"\tmovabs $0x21706f7473717768, %rax\n"
	"\tret\n");

static int one(struct bench *b, const char *op)
{
	uint32_t id;
	int rc;

	if (!strcmp(op, "destroy_missing"))
		return destroy(b, ~0U) == -ENOENT ? 0 : -EINVAL;
	if (!strcmp(op, "fail_zero_length"))
		return hw_queue_alloc(b, b->iova, 0, &id) == -EINVAL ? 0 : -EINVAL;
	if (!strcmp(op, "fail_no_viommu")) {
		struct bench s = *b;

		s.viommu_id = ~0U;
		return hw_queue_alloc(&s, b->iova, 4096, &id) == -ENOENT ?
			       0 : -EINVAL;
	}
	if (!strcmp(op, "fail_unmapped"))
		return hw_queue_alloc(b, b->iova + 64 * MIB, 4096, &id) ==
				       -ENOENT ? 0 : -EINVAL;
	if (!strcmp(op, "alloc_destroy_4k") || !strcmp(op, "alloc_destroy_2m")) {
		rc = hw_queue_alloc(b, b->iova, op[14] == '4' ? 4096 : 2 * MIB,
				    &id);
		return rc ? rc : destroy(b, id);
	}
	if (!strcmp(op, "mmap_touch_munmap"))
		return mmap_touch_munmap(b);
	return -EINVAL;
}

int main(int argc, char **argv)
{
	struct bench b = bench_setup("bench_profile", 4 * MIB);
	const char *op = "alloc_destroy_4k";
	unsigned int n = 1000, k;
	int c, rc;

	while ((c = getopt(argc, argv, "o:n:")) != -1) {
		if (c == 'o')
			op = optarg;
		else if (c == 'n')
			n = strtoul(optarg, NULL, 0);
	}
	/* Warm up, and check that the operation works */
	rc = one(&b, op);
	if (rc) {
		printf("profile: op=%s error=%d\n", op, rc);
		return 1;
	}
	hwq_prof_start();
	for (k = 0; k < n && !rc; k++)
		rc = one(&b, op);
	hwq_prof_stop();
	printf("profile: op=%s n=%u rc=%d\n", op, n, rc);
	return rc ? 1 : 0;
}
