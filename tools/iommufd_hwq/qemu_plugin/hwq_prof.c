// SPDX-License-Identifier: GPL-2.0
/*
 * hwq_prof: a QEMU TCG plugin that counts the guest instructions each
 * translation block executes between two markers, so that the instructions
 * of one kernel path can be attributed to functions (scripts/profile.py).
 *
 * A marker is a guest function whose first instruction (or second, after an
 * endbr64) is "movabs $MAGIC, %rax" with one of the magics below; the guest
 * program calls the start marker before its loop and the stop marker after
 * it (tools/iommufd_hwq/bench_profile.c). Counts are snapshot at each
 * marker, and the plugin writes "vaddr insns executions" for every block
 * that ran in between to the file named by its "out" argument when QEMU
 * exits. Blocks are counted with an inline add, so the guest runs at
 * nearly full TCG speed; with one vCPU the counts are exact, but for a block
 * left early by an exception, which counts whole.
 *
 * Only the few functions of QEMU's plugin API used here are declared
 * (qemu_plugin_api.h).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qemu_plugin_api.h"

#define PLUGIN_CB_NO_REGS 0
#define PLUGIN_INLINE_ADD_U64 0

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

/* "hwqstart" and "hwqstop!" as the immediates of movabs */
#define MAGIC_START 0x7472617473717768ULL
#define MAGIC_STOP 0x21706f7473717768ULL

struct block {
	uint64_t vaddr;
	uint64_t insns;
	uint64_t count;	/* incremented by the generated code */
	uint64_t at_start, at_stop;
};

/* Blocks live in chunks that never move: the generated code holds &count */
#define CHUNK 65536
struct chunk {
	struct chunk *next;
	size_t used;
	struct block b[CHUNK];
};

static struct chunk *chunks;
static const char *out_path;
static unsigned int starts, stops;

static struct block *new_block(void)
{
	if (!chunks || chunks->used == CHUNK) {
		struct chunk *c = calloc(1, sizeof(*c));

		if (!c)
			abort();
		c->next = chunks;
		chunks = c;
	}
	return &chunks->b[chunks->used++];
}

static void snapshot(unsigned int vcpu, void *udata)
{
	bool start = udata != NULL;
	struct chunk *c;
	size_t i;

	(void)vcpu;
	for (c = chunks; c; c = c->next)
		for (i = 0; i < c->used; i++) {
			if (start)
				c->b[i].at_start = c->b[i].count;
			else
				c->b[i].at_stop = c->b[i].count;
		}
	if (start)
		starts++;
	else
		stops++;
}

/* The magic of a marker block, or 0 */
static uint64_t marker(const struct qemu_plugin_tb *tb)
{
	size_t i, n = qemu_plugin_tb_n_insns(tb);

	for (i = 0; i < n && i < 2; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		const uint8_t *d = qemu_plugin_insn_data(insn);
		uint64_t imm;

		/* REX.W B8+r: movabs $imm64, %rax */
		if (qemu_plugin_insn_size(insn) == 10 && d[0] == 0x48 &&
		    d[1] == 0xb8) {
			memcpy(&imm, d + 2, sizeof(imm));
			if (imm == MAGIC_START || imm == MAGIC_STOP)
				return imm;
		}
	}
	return 0;
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	struct block *b = new_block();
	uint64_t magic = marker(tb);

	(void)id;
	b->vaddr = qemu_plugin_tb_vaddr(tb);
	b->insns = qemu_plugin_tb_n_insns(tb);
	qemu_plugin_register_vcpu_tb_exec_inline(tb, PLUGIN_INLINE_ADD_U64,
						 &b->count, 1);
	if (magic)
		qemu_plugin_register_vcpu_tb_exec_cb(
			tb, snapshot, PLUGIN_CB_NO_REGS,
			magic == MAGIC_START ? (void *)1 : NULL);
}

static void at_exit(qemu_plugin_id_t id, void *udata)
{
	FILE *f = fopen(out_path, "w");
	struct chunk *c;
	size_t i;

	(void)id;
	(void)udata;
	if (!f)
		return;
	fprintf(f, "# hwq_prof starts=%u stops=%u\n", starts, stops);
	for (c = chunks; c; c = c->next)
		for (i = 0; i < c->used; i++) {
			struct block *b = &c->b[i];

			if (b->at_stop > b->at_start)
				fprintf(f, "%" PRIx64 " %" PRIu64 " %" PRIu64 "\n",
					b->vaddr, b->insns,
					b->at_stop - b->at_start);
		}
	fclose(f);
}

__attribute__((visibility("default"))) int
qemu_plugin_install(qemu_plugin_id_t id, const void *info, int argc,
		    char **argv)
{
	int i;

	(void)info;
	for (i = 0; i < argc; i++)
		if (!strncmp(argv[i], "out=", 4))
			out_path = argv[i] + 4;
	if (!out_path) {
		fprintf(stderr, "hwq_prof: out=FILE is required\n");
		return -1;
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_atexit_cb(id, at_exit, NULL);
	return 0;
}
