// SPDX-License-Identifier: GPL-2.0-only
/*
 * Time HW queue ioctls: ns per operation over a loop, CLOCK_MONOTONIC, for
 * each of bench_common.h's operations.
 *
 * Meant for a guest run with QEMU's -icount, where guest time follows the
 * number of executed instructions, so figures repeat across boots and are
 * comparable between kernels booted the same way.
 */
#include "bench_common.h"

int main(void)
{
	struct bench b = bench_setup("bench_speed", BENCH_OPS_LENGTH);
	unsigned int i, k;

	for (i = 0; i < ARRAY_SIZE(bench_ops); i++) {
		const struct bench_op *op = &bench_ops[i];
		/* Warm up, and check that the operation works */
		int rc = op->fn(&b);
		uint64_t t0;

		settle();
		t0 = now_ns();

		for (k = 0; k < op->n && !rc; k++)
			rc = op->fn(&b);
		report_speed(op->name, op->n, t0, rc);
	}
	return 0;
}
