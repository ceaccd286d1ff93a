// SPDX-License-Identifier: GPL-2.0-only
/*
 * One benchmark operation in a loop between two markers, for the QEMU
 * plugin qemu_plugin/hwq_prof.c, which counts the instructions the guest
 * executes between them (scripts/profile.sh).
 *
 *   bench_profile -o OP -n N
 *
 * OP is one of bench_common.h's operations, the rows of bench_speed:
 * destroy_missing, fail_zero_length, fail_no_viommu, fail_unmapped,
 * alloc_destroy_4k, alloc_destroy_2m, alloc_destroy_16m, mmap_touch_munmap.
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

int main(int argc, char **argv)
{
	const struct bench_op *op = bench_op("alloc_destroy_4k");
	unsigned int n = 1000, k;
	struct bench b;
	int c, rc;

	while ((c = getopt(argc, argv, "o:n:")) != -1) {
		if (c == 'o')
			op = bench_op(optarg);
		else if (c == 'n')
			n = strtoul(optarg, NULL, 0);
	}
	if (!op) {
		printf("profile: no such operation\n");
		return 1;
	}
	b = bench_setup("bench_profile", BENCH_OPS_LENGTH);
	/* Warm up, and check that the operation works */
	rc = op->fn(&b);
	if (rc) {
		printf("profile: op=%s error=%d\n", op->name, rc);
		return 1;
	}
	settle();
	hwq_prof_start();
	for (k = 0; k < n && !rc; k++)
		rc = op->fn(&b);
	hwq_prof_stop();
	printf("profile: op=%s n=%u rc=%d\n", op->name, n, rc);
	return rc ? 1 : 0;
}
