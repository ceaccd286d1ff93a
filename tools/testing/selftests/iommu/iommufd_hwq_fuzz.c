// SPDX-License-Identifier: GPL-2.0-only
/*
 * A seeded random-ioctl fuzzer of the HW queue paths: IOMMU_VIOMMU_ALLOC,
 * IOMMU_HW_QUEUE_ALLOC, IOMMU_VDEVICE_ALLOC, IOMMU_VEVENTQ_ALLOC,
 * IOMMU_HWPT_INVALIDATE, IOMMU_GET_HW_INFO, IOMMU_IOAS_MAP/UNMAP,
 * IOMMU_DESTROY and mmap() of /dev/iommu, on the selftest's mock devices and,
 * when its backend is loaded, on the emulated Tegra241 CMDQV.
 *
 * Arguments are biased to the edges: sizes and lengths around pages and
 * powers of two, unaligned and overflowing addresses, flags, indexes and
 * types next to the valid ones, the IDs of every object the run created
 * (alive or destroyed), and structures truncated or extended (with a zero
 * or a non-zero tail). Every call must succeed or fail with an errno; the
 * runner fails on any kernel report in the console.
 *
 * The run is single threaded and a function of its seed alone, also where
 * memory is physically: a HW queue must be physically contiguous, so every
 * user address the run maps into the IOAS is in memory whose physical
 * layout is fixed by construction (see guest_memory()), or mapped nowhere.
 * So it is replayed with the same seed: HWQ_SEED=<seed> (default 1) and HWQ_CALLS=<n>
 * (default 100000). It prints, per ioctl, a digest of the results and errnos
 * it got ("# hwq-digest <test>:<op> <hex>"); the runner compares them between
 * the Rust and the C kernels, which must answer every input alike.
 */
#include <stdlib.h>
#include <sys/mman.h>

#include "iommufd_utils.h"
#include "iommufd_tegra241_cmdqv_utils.h"
#include "iommufd_hwq_hugepage.h"

enum op {
	OP_VIOMMU,
	OP_HW_QUEUE,
	OP_VDEVICE,
	OP_VEVENTQ,
	OP_DESTROY,
	OP_MAP,
	OP_UNMAP,
	OP_INVALIDATE,
	OP_MMAP,
	OP_HW_INFO,
	OP_RAW,
	OP_NR,
};

static const char *const op_names[OP_NR] = {
	"viommu_alloc", "hw_queue_alloc", "vdevice_alloc", "veventq_alloc",
	"destroy", "ioas_map", "ioas_unmap", "hwpt_invalidate", "mmap",
	"get_hw_info", "raw",
};

/* How often each operation is drawn, out of the sum */
static const unsigned int op_weight[OP_NR] = {
	[OP_VIOMMU] = 10, [OP_HW_QUEUE] = 25, [OP_VDEVICE] = 8,
	[OP_VEVENTQ] = 5, [OP_DESTROY] = 12, [OP_MAP] = 6, [OP_UNMAP] = 4,
	[OP_INVALIDATE] = 8, [OP_MMAP] = 8, [OP_HW_INFO] = 4, [OP_RAW] = 10,
};

#define MAX_IDS 512
#define ARENA_SIZE 0x10000	/* see map_arena() */
#define MAX_REGIONS 16

/*
 * The guest memory (guest_memory()): the 2 MiB buffer, one hugepage, so
 * physically contiguous throughout, at MOCK_APERTURE_START; and SCATTER_PAGES
 * base pages of which no two neighbours are physically adjacent, at
 * SCATTER_IOVA, so that a queue across two of them is never contiguous.
 * Each is surrounded by a reserved PROT_NONE GUARD_SIZE on both sides, so a
 * length that runs past one reaches no other memory.
 */
#define SCATTER_PAGES 8
#define SCATTER_IOVA (MOCK_APERTURE_START + 0x1000000)
#define GUARD_SIZE (2UL << 20)
static uint8_t *scatter;

struct fuzz {
	uint64_t rng;
	int fd;
	uint32_t ioas_id;
	uint32_t dev[2];	/* plain mock device, Tegra241 CMDQV flavour */
	uint32_t stdev[2];	/* their selftest objects */
	uint32_t parent[2];	/* their nesting parents */
	bool cmdqv;
	uint32_t ids[MAX_IDS];
	unsigned int nr_ids;
	uint32_t viommus[MAX_IDS];
	bool viommu_cmdqv[MAX_IDS];	/* of type Tegra241 CMDQV */
	unsigned int nr_viommus;
	struct {
		uint64_t offset, length;
	} regions[MAX_REGIONS];
	unsigned int nr_regions;
	uint64_t digest[OP_NR];
	unsigned long calls[OP_NR], ok[OP_NR];
	unsigned long errnos[OP_NR][136];
	unsigned long read_only;	/* calls with a read-only command */
};

/* xorshift64*: small, and the same sequence on every machine */
static uint64_t rnd(struct fuzz *f)
{
	f->rng ^= f->rng >> 12;
	f->rng ^= f->rng << 25;
	f->rng ^= f->rng >> 27;
	return f->rng * 0x2545f4914f6cdd1dULL;
}

static unsigned int below(struct fuzz *f, unsigned int n)
{
	return rnd(f) % n;
}

static bool chance(struct fuzz *f, unsigned int percent)
{
	return below(f, 100) < percent;
}

static uint32_t u32_edge(struct fuzz *f)
{
	static const uint32_t edges[] = {
		0, 1, 2, 3, 4, 7, 8, 15, 16, 31, 32, 63, 64, 0x7f, 0x80, 0xff,
		0x100, 0xfff, 0x1000, 0x1001, 0xffff, 0x10000, 0x7fffffff,
		0x80000000, 0xdeadbeef, 0xbeefbeef, 0xfffffffe, 0xffffffff,
	};

	if (chance(f, 15))
		return rnd(f);
	return edges[below(f, ARRAY_SIZE(edges))];
}

static uint64_t u64_edge(struct fuzz *f)
{
	static const uint64_t edges[] = {
		0, 1, 0xfff, 0x1000, 0x1001, 0x1fff, 0x2000, 0x10000,
		0x1fffff, 0x200000, 0x200001, 0x400000, 1ULL << 31, 1ULL << 32,
		1ULL << 47, 1ULL << 48, 1ULL << 63, ~0ULL - 0xfff, ~0ULL - 1,
		~0ULL,
	};

	if (chance(f, 10))
		return rnd(f);
	return edges[below(f, ARRAY_SIZE(edges))];
}

/* An IOVA: mostly in and around the guest memory mapped at the aperture */
static uint64_t iova_edge(struct fuzz *f)
{
	static const uint64_t offs[] = {
		0, 0x1000, 0x2000, 0x3000, 0x8000, 0x10000, 0x100000,
		0x1ff000, 0x200000, 0x800, 0x1, 0x7ff,
	};

	if (chance(f, 25))
		return u64_edge(f);
	if (chance(f, 15))
		return SCATTER_IOVA + below(f, SCATTER_PAGES) * PAGE_SIZE +
		       (chance(f, 20) ? 0x800 : 0);
	return MOCK_APERTURE_START + offs[below(f, ARRAY_SIZE(offs))];
}

/*
 * A user address for IOAS_MAP other than the guest memory: mapped nowhere
 * in any run (low, non-canonical, or in a guard), so whatever the length,
 * pinning fails on its first page, never on memory whose layout varies
 * (this static binary is at 0x400000; its heap, stack and other mappings
 * move from boot to boot)
 */
static uint64_t user_va_edge(struct fuzz *f)
{
	static const uint64_t edges[] = {
		0, 1, 0xfff, 0x1000, 0x1001, 0x10000, 0x200000, 0x200001,
		1ULL << 47, 1ULL << 48, 1ULL << 63, ~0ULL - 0xfff, ~0ULL,
	};

	switch (below(f, 4)) {
	case 0:
		return (uintptr_t)buffer - GUARD_SIZE + below(f, 3) * 0x800;
	case 1:
		return (uintptr_t)buffer + BUFFER_SIZE + below(f, 3) * 0x800;
	default:
		return edges[below(f, ARRAY_SIZE(edges))];
	}
}

static uint64_t length_edge(struct fuzz *f)
{
	if (chance(f, 30))
		return u64_edge(f);
	return 0x1000ULL << below(f, 10);	/* 4 KiB to 2 MiB */
}

/* The ID of any object the run created, alive or not, or an edge */
static uint32_t any_id(struct fuzz *f)
{
	if (f->nr_ids && chance(f, 80))
		return f->ids[below(f, f->nr_ids)];
	return u32_edge(f);
}

/* A vIOMMU (mostly one of the newest), and whether it is a CMDQV's */
static uint32_t viommu_id(struct fuzz *f, bool *cmdqv)
{
	unsigned int i;

	*cmdqv = f->cmdqv && chance(f, 50);
	if (!f->nr_viommus || !chance(f, 85))
		return any_id(f);
	i = chance(f, 50) ? f->nr_viommus - 1 - below(f, f->nr_viommus > 4 ?
								4 : f->nr_viommus) :
			    below(f, f->nr_viommus);
	*cmdqv = f->viommu_cmdqv[i];
	return f->viommus[i];
}

static uint32_t dev_id(struct fuzz *f)
{
	if (chance(f, 80))
		return f->dev[f->cmdqv ? below(f, 2) : 0];
	return any_id(f);
}

static void add_id(uint32_t *ids, unsigned int *nr, uint32_t id)
{
	if (*nr < MAX_IDS)
		ids[(*nr)++] = id;
	else
		ids[id % MAX_IDS] = id;
}

/*
 * The size field of a structure of @size bytes: mostly right, else
 * truncated or extended. The tail past @size is zero, or not.
 */
static uint32_t size_edge(struct fuzz *f, void *cmd, size_t size)
{
	uint32_t sz = size;

	switch (below(f, 20)) {
	case 0:
		sz = 0;
		break;
	case 1:
		sz = size - 4;
		break;
	case 2:
		sz = size + 8;
		break;
	case 3:
		sz = size + 8;
		((uint8_t *)cmd)[size + below(f, 8)] = 1 + below(f, 255);
		break;
	case 4:
		sz = ARENA_SIZE;
		break;
	case 5:
		sz = u32_edge(f);
		break;
	}
	return sz;
}

/* Mix a call's outcome into its operation's digest */
static void record(struct fuzz *f, enum op kind, int ret)
{
	int64_t v = ret < 0 ? -errno : 0;

	f->calls[kind]++;
	if (!ret)
		f->ok[kind]++;
	else if (errno > 0 && errno < 136)
		f->errnos[kind][errno]++;
	f->digest[kind] = (f->digest[kind] ^ (uint64_t)v) * 0x100000001b3ULL;
}

/* A command's size field is its first u32; the buffer is the union below */
union cmd_buf {
	uint32_t size;
	struct iommu_viommu_alloc viommu;
	struct iommu_hw_queue_alloc hw_queue;
	struct iommu_vdevice_alloc vdevice;
	struct iommu_veventq_alloc veventq;
	struct iommu_destroy destroy;
	struct iommu_ioas_map map;
	struct iommu_ioas_unmap unmap;
	struct iommu_hwpt_invalidate invalidate;
	struct iommu_hw_info hw_info;
	uint8_t bytes[128];
};

/*
 * Where commands and their data are: 64 KiB arenas, each followed by a
 * PROT_NONE page, so that whatever size a call claims, the kernel reads only
 * bytes the run wrote (a fault past the end is a deterministic EFAULT), never
 * the stack or other memory that differs from run to run.
 */
static uint8_t *cmd_arena, *data;

static uint8_t *map_arena(void)
{
	uint8_t *p = mmap(NULL, ARENA_SIZE + 0x1000, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED || mprotect(p + ARENA_SIZE, 0x1000, PROT_NONE))
		return NULL;
	return p;
}

/*
 * An allocating ioctl. Sometimes its command is read-only, as a VMM's
 * could be by mistake: the object is created, seen by its driver, then
 * aborted when the response cannot be written (EFAULT), which must leave
 * nothing behind.
 */
static int alloc_ioctl(struct fuzz *f, unsigned long nr, void *cmd)
{
	int ret, err;

	if (!chance(f, 5))
		return ioctl(f->fd, nr, cmd);
	if (mprotect(cmd_arena, ARENA_SIZE, PROT_READ))
		return -1;
	ret = ioctl(f->fd, nr, cmd);
	err = errno;
	mprotect(cmd_arena, ARENA_SIZE, PROT_READ | PROT_WRITE);
	errno = err;
	f->read_only++;
	return ret;
}

static int do_viommu(struct fuzz *f, union cmd_buf *c)
{
	struct iommu_viommu_alloc *cmd = &c->viommu;
	struct iommu_viommu_selftest *st = (void *)data;
	struct iommu_viommu_tegra241_cmdqv *cq = (void *)data;
	static const uint32_t types[] = {
		IOMMU_VIOMMU_TYPE_SELFTEST, IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV,
		IOMMU_VIOMMU_TYPE_DEFAULT, IOMMU_VIOMMU_TYPE_ARM_SMMUV3,
	};
	unsigned int which = f->cmdqv ? below(f, 2) : 0;
	int ret;

	memset(data, 0, 64);
	cmd->type = chance(f, 85) ? types[which] : types[below(f, 4)];
	if (chance(f, 5))
		cmd->type = u32_edge(f);
	cmd->dev_id = chance(f, 85) ? f->dev[which] : dev_id(f);
	cmd->hwpt_id = chance(f, 85) ? f->parent[which] : any_id(f);
	cmd->flags = chance(f, 90) ? 0 : u32_edge(f);
	cmd->data_uptr = (uintptr_t)data;
	cmd->data_len = cmd->type == IOMMU_VIOMMU_TYPE_SELFTEST ?
			sizeof(*st) : sizeof(*cq);
	if (chance(f, 15))
		cmd->data_len = u32_edge(f) % 128;
	if (chance(f, 5))
		cmd->data_uptr = chance(f, 50) ? 0 : u64_edge(f);
	if (chance(f, 5))
		data[below(f, 64)] = rnd(f);
	cmd->size = size_edge(f, cmd, sizeof(*cmd));
	ret = alloc_ioctl(f, IOMMU_VIOMMU_ALLOC, cmd);
	if (!ret) {
		add_id(f->ids, &f->nr_ids, cmd->out_viommu_id);
		if (f->nr_viommus < MAX_IDS)
			f->viommu_cmdqv[f->nr_viommus] =
				cmd->type == IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV;
		add_id(f->viommus, &f->nr_viommus, cmd->out_viommu_id);
		/* Both data structures start with the mmap offset, length */
		if (cmd->type == IOMMU_VIOMMU_TYPE_SELFTEST &&
		    f->nr_regions < MAX_REGIONS) {
			f->regions[f->nr_regions].offset = st->out_mmap_offset;
			f->regions[f->nr_regions++].length = st->out_mmap_length;
		} else if (f->nr_regions < MAX_REGIONS) {
			f->regions[f->nr_regions].offset =
				cq->out_vintf_mmap_offset;
			f->regions[f->nr_regions++].length =
				cq->out_vintf_mmap_length;
		}
	}
	return ret;
}

static int do_hw_queue(struct fuzz *f, union cmd_buf *c)
{
	struct iommu_hw_queue_alloc *cmd = &c->hw_queue;
	static const uint32_t types[] = {
		IOMMU_HW_QUEUE_TYPE_SELFTEST,
		IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV,
		IOMMU_HW_QUEUE_TYPE_DEFAULT,
	};
	bool cmdqv;
	int ret;

	cmd->viommu_id = viommu_id(f, &cmdqv);
	cmd->type = chance(f, 90) ? types[cmdqv] :
		    chance(f, 50) ? types[below(f, 3)] : u32_edge(f);
	cmd->index = chance(f, 80) ? below(f, 5) : u32_edge(f);
	cmd->flags = chance(f, 95) ? 0 : u32_edge(f);
	cmd->nesting_parent_iova = iova_edge(f);
	cmd->length = length_edge(f);
	cmd->size = size_edge(f, cmd, sizeof(*cmd));
	ret = alloc_ioctl(f, IOMMU_HW_QUEUE_ALLOC, cmd);
	if (!ret)
		add_id(f->ids, &f->nr_ids, cmd->out_hw_queue_id);
	return ret;
}

static int do_vdevice(struct fuzz *f, union cmd_buf *c)
{
	struct iommu_vdevice_alloc *cmd = &c->vdevice;
	bool cmdqv;
	int ret;

	cmd->viommu_id = viommu_id(f, &cmdqv);
	cmd->dev_id = dev_id(f);
	cmd->virt_id = chance(f, 70) ? below(f, 20) : u64_edge(f);
	cmd->size = size_edge(f, cmd, sizeof(*cmd));
	ret = alloc_ioctl(f, IOMMU_VDEVICE_ALLOC, cmd);
	if (!ret)
		add_id(f->ids, &f->nr_ids, cmd->out_vdevice_id);
	return ret;
}

static int do_veventq(struct fuzz *f, union cmd_buf *c)
{
	struct iommu_veventq_alloc *cmd = &c->veventq;
	static const uint32_t types[] = {
		IOMMU_VEVENTQ_TYPE_SELFTEST, IOMMU_VEVENTQ_TYPE_TEGRA241_CMDQV,
		IOMMU_VEVENTQ_TYPE_ARM_SMMUV3, IOMMU_VEVENTQ_TYPE_DEFAULT,
	};
	bool cmdqv;
	int ret;

	cmd->viommu_id = viommu_id(f, &cmdqv);
	cmd->type = chance(f, 70) ? types[cmdqv] :
		    chance(f, 80) ? types[below(f, 4)] : u32_edge(f);
	cmd->veventq_depth = chance(f, 70) ? 1 + below(f, 64) : u32_edge(f);
	cmd->flags = chance(f, 95) ? 0 : u32_edge(f);
	cmd->size = size_edge(f, cmd, sizeof(*cmd));
	ret = alloc_ioctl(f, IOMMU_VEVENTQ_ALLOC, cmd);
	if (!ret) {
		add_id(f->ids, &f->nr_ids, cmd->out_veventq_id);
		close(cmd->out_veventq_fd);
	}
	return ret;
}

static bool is_fixture(struct fuzz *f, uint32_t id)
{
	unsigned int i;

	for (i = 0; i < 2; i++)
		if (id && (id == f->dev[i] || id == f->stdev[i] ||
			   id == f->parent[i]))
			return true;
	return id == f->ioas_id;
}

static int do_destroy(struct fuzz *f, union cmd_buf *c)
{
	/* Sometimes the newest objects, while they have others on them */
	if (f->nr_ids && chance(f, 30))
		c->destroy.id = f->ids[f->nr_ids - 1 - below(f, f->nr_ids > 8 ?
								 8 : f->nr_ids)];
	else
		c->destroy.id = any_id(f);
	/* Never the fixtures: the run needs its devices to go on */
	if (is_fixture(f, c->destroy.id))
		c->destroy.id = u32_edge(f);
	if (is_fixture(f, c->destroy.id))
		c->destroy.id = 0;
	c->destroy.size = size_edge(f, c, sizeof(c->destroy));
	return ioctl(f->fd, IOMMU_DESTROY, c);
}

/* The scattered pages where they belong, whatever was there */
static void map_scatter(struct fuzz *f)
{
	struct iommu_ioas_unmap unmap = {
		.size = sizeof(unmap),
		.ioas_id = f->ioas_id,
		.iova = SCATTER_IOVA,
		.length = SCATTER_PAGES * PAGE_SIZE,
	};
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = f->ioas_id,
		.user_va = (uintptr_t)scatter,
		.length = SCATTER_PAGES * PAGE_SIZE,
		.iova = SCATTER_IOVA,
	};

	ioctl(f->fd, IOMMU_IOAS_UNMAP, &unmap);
	ioctl(f->fd, IOMMU_IOAS_MAP, &map);
}

static int do_map(struct fuzz *f, union cmd_buf *c)
{
	struct iommu_ioas_map *cmd = &c->map;
	static const uint64_t offs[] = { 0, 0x1000, 0x800, 0x1ff000 };

	cmd->ioas_id = chance(f, 90) ? f->ioas_id : any_id(f);
	cmd->flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE |
		     IOMMU_IOAS_MAP_FIXED_IOVA;
	if (chance(f, 10))
		cmd->flags = u32_edge(f) & 0xf;
	cmd->user_va = (uintptr_t)buffer + offs[below(f, ARRAY_SIZE(offs))];
	if (chance(f, 10))
		cmd->user_va = (uintptr_t)scatter +
			       offs[below(f, 3)] % (SCATTER_PAGES * PAGE_SIZE);
	if (chance(f, 5))
		cmd->user_va = user_va_edge(f);
	cmd->iova = iova_edge(f);
	cmd->length = chance(f, 50) ? BUFFER_SIZE : length_edge(f);
	if (cmd->user_va >= (uintptr_t)buffer &&
	    cmd->user_va < (uintptr_t)buffer + BUFFER_SIZE &&
	    cmd->length > (uintptr_t)buffer + BUFFER_SIZE - cmd->user_va &&
	    chance(f, 90))
		cmd->length = (uintptr_t)buffer + BUFFER_SIZE - cmd->user_va;
	/*
	 * Often all of the guest memory where it belongs, as a VMM resetting
	 * its guest: after unmapping whatever is left there
	 */
	if (chance(f, 30)) {
		struct iommu_ioas_unmap unmap = {
			.size = sizeof(unmap),
			.ioas_id = f->ioas_id,
			.iova = MOCK_APERTURE_START,
			.length = BUFFER_SIZE,
		};

		ioctl(f->fd, IOMMU_IOAS_UNMAP, &unmap);
		map_scatter(f);
		cmd->user_va = (uintptr_t)buffer;
		cmd->iova = MOCK_APERTURE_START;
		cmd->length = BUFFER_SIZE;
	}
	cmd->size = size_edge(f, cmd, sizeof(*cmd));
	return ioctl(f->fd, IOMMU_IOAS_MAP, cmd);
}

static int do_unmap(struct fuzz *f, union cmd_buf *c)
{
	struct iommu_ioas_unmap *cmd = &c->unmap;

	cmd->ioas_id = chance(f, 90) ? f->ioas_id : any_id(f);
	cmd->iova = iova_edge(f);
	cmd->length = chance(f, 40) ? BUFFER_SIZE : length_edge(f);
	if (chance(f, 10)) {
		cmd->iova = 0;
		cmd->length = UINT64_MAX;
	}
	cmd->size = size_edge(f, cmd, sizeof(*cmd));
	return ioctl(f->fd, IOMMU_IOAS_UNMAP, cmd);
}

static int do_invalidate(struct fuzz *f, union cmd_buf *c)
{
	struct iommu_hwpt_invalidate *cmd = &c->invalidate;
	static const uint8_t opcodes[] = { 0x11, 0x12, 0x40, 0x03, 0x04,
					   0x05, 0x06, 0x46, 0x20, 0x00 };
	uint64_t *words = (uint64_t *)data;
	unsigned int i;
	bool cmdqv;

	cmd->hwpt_id = chance(f, 80) ? viommu_id(f, &cmdqv) : any_id(f);
	cmd->data_type = chance(f, 80) ?
		(chance(f, 70) ? IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3 :
				 IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST) :
		u32_edge(f);
	cmd->entry_len = chance(f, 80) ? 16 : u32_edge(f) % 256;
	cmd->entry_num = chance(f, 80) ? below(f, 8) : u32_edge(f);
	cmd->data_uptr = chance(f, 95) ? (uintptr_t)data : u64_edge(f);
	for (i = 0; i < 16; i++) {
		words[2 * i] = opcodes[below(f, ARRAY_SIZE(opcodes))] |
			       (uint64_t)below(f, 20) << 32;
		if (chance(f, 30))
			words[2 * i] |= rnd(f) & ~0xffULL;
		words[2 * i + 1] = chance(f, 50) ? 0 : rnd(f);
	}
	cmd->size = size_edge(f, cmd, sizeof(*cmd));
	return ioctl(f->fd, IOMMU_HWPT_INVALIDATE, cmd);
}

/* mmap() of /dev/iommu at the offsets the vIOMMUs handed out, and near */
static int do_mmap(struct fuzz *f)
{
	uint64_t offset, length;
	uint32_t *p;
	int prot;

	if (f->nr_regions && chance(f, 80)) {
		unsigned int i = below(f, f->nr_regions);

		offset = f->regions[i].offset;
		length = f->regions[i].length;
		if (chance(f, 30))
			offset += chance(f, 50) ? PAGE_SIZE : -PAGE_SIZE;
		if (chance(f, 30))
			length = chance(f, 50) ? length / 2 : length * 2;
	} else {
		offset = u64_edge(f) & ~0xfffULL;
		length = length_edge(f);
	}
	if (length > (1ULL << 30))
		length = 1ULL << 30;
	prot = chance(f, 80) ? PROT_READ | PROT_WRITE : PROT_READ;
	p = mmap(NULL, length, prot, chance(f, 90) ? MAP_SHARED : MAP_PRIVATE,
		 f->fd, offset);
	if (p == MAP_FAILED)
		return -1;
	/* Read as a guest would; writes are the stress test's business */
	__atomic_load_n(&p[below(f, length / 4 > 1024 ? 1024 : length / 4 ?: 1)],
			__ATOMIC_RELAXED);
	munmap(p, length);
	return 0;
}

static int do_hw_info(struct fuzz *f, union cmd_buf *c)
{
	struct iommu_hw_info *cmd = &c->hw_info;

	cmd->dev_id = dev_id(f);
	cmd->data_len = chance(f, 70) ? below(f, 64) : u32_edge(f) % 8192;
	cmd->data_uptr = chance(f, 90) ? (uintptr_t)data : u64_edge(f);
	cmd->flags = chance(f, 70) ? 0 :
		     chance(f, 50) ? IOMMU_HW_INFO_FLAG_INPUT_TYPE : u32_edge(f);
	cmd->in_data_type = chance(f, 50) ? below(f, 8) : u32_edge(f);
	cmd->size = size_edge(f, cmd, sizeof(*cmd));
	return ioctl(f->fd, IOMMU_GET_HW_INFO, cmd);
}

/* Random bytes for one of the ioctls above, with a plausible size */
static int do_raw(struct fuzz *f, union cmd_buf *c)
{
	static const unsigned long nrs[] = {
		IOMMU_VIOMMU_ALLOC, IOMMU_HW_QUEUE_ALLOC, IOMMU_VDEVICE_ALLOC,
		IOMMU_VEVENTQ_ALLOC, IOMMU_DESTROY, IOMMU_HWPT_INVALIDATE,
		IOMMU_GET_HW_INFO,
	};
	static const uint32_t sizes[] = {
		sizeof(struct iommu_viommu_alloc),
		sizeof(struct iommu_hw_queue_alloc),
		sizeof(struct iommu_vdevice_alloc),
		sizeof(struct iommu_veventq_alloc),
		sizeof(struct iommu_destroy),
		sizeof(struct iommu_hwpt_invalidate),
		sizeof(struct iommu_hw_info),
	};
	/* Where each one's output ID is, in u32s */
	static const unsigned int out_id[] = { 5, 5, 3, 5, 0, 0, 0 };
	unsigned int i = below(f, ARRAY_SIZE(nrs));
	unsigned int b;
	int ret;

	for (b = 0; b < sizeof(*c); b++)
		c->bytes[b] = chance(f, 60) ? 0 : rnd(f);
	/* IDs and small numbers are likelier than random words to matter */
	for (b = 4; b + 4 <= sizes[i]; b += 4)
		if (chance(f, 20))
			memcpy(&c->bytes[b], &(uint32_t){ any_id(f) }, 4);
	c->size = chance(f, 80) ? sizes[i] : u32_edge(f) % sizeof(*c);
	ret = nrs[i] == IOMMU_DESTROY || nrs[i] == IOMMU_HWPT_INVALIDATE ||
			      nrs[i] == IOMMU_GET_HW_INFO ?
		      ioctl(f->fd, nrs[i], c) :
		      alloc_ioctl(f, nrs[i], c);
	if (!ret && nrs[i] == IOMMU_VEVENTQ_ALLOC)
		close(c->veventq.out_veventq_fd);
	if (!ret && out_id[i])
		add_id(f->ids, &f->nr_ids, ((uint32_t *)c)[out_id[i]]);
	return ret;
}

static int fuzz_one(struct fuzz *f, enum op kind)
{
	union cmd_buf *c = (union cmd_buf *)cmd_arena;

	/* What the previous call's command and data may have left */
	memset(cmd_arena, 0, 2 * sizeof(*c));
	memset(data, 0, 4096);
	switch (kind) {
	case OP_VIOMMU:
		return do_viommu(f, c);
	case OP_HW_QUEUE:
		return do_hw_queue(f, c);
	case OP_VDEVICE:
		return do_vdevice(f, c);
	case OP_VEVENTQ:
		return do_veventq(f, c);
	case OP_DESTROY:
		return do_destroy(f, c);
	case OP_MAP:
		return do_map(f, c);
	case OP_UNMAP:
		return do_unmap(f, c);
	case OP_INVALIDATE:
		return do_invalidate(f, c);
	case OP_MMAP:
		return do_mmap(f);
	case OP_HW_INFO:
		return do_hw_info(f, c);
	default:
		return do_raw(f, c);
	}
}

static unsigned long env_ul(const char *name, unsigned long def)
{
	const char *s = getenv(name);

	return s && *s ? strtoul(s, NULL, 0) : def;
}

/*
 * Reserves @length bytes of address space, aligned to @align, with
 * GUARD_SIZE of reserved, inaccessible space on either side
 */
static uint8_t *reserve_guarded(size_t length, size_t align)
{
	size_t total = length + 2 * GUARD_SIZE + align;
	uint8_t *p = mmap(NULL, total, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	return (uint8_t *)(((uintptr_t)p + GUARD_SIZE + align - 1) &
			   ~(uintptr_t)(align - 1));
}

static int pfn_cmp(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	return *x < *y ? -1 : *x > *y;
}

/*
 * The guest memory whose physical layout is the same in every run:
 * @buffer, one 2 MiB hugepage, and @scatter, SCATTER_PAGES base pages none
 * of which is physically adjacent to the next: of twice as many pages, in
 * the order of their frames, every other one, moved into place with
 * mremap(). Both inside guards. Needs the frame numbers (root).
 */
static int guest_memory(void)
{
	struct {
		uint64_t pfn;
		uint8_t *addr;
	} pages[2 * SCATTER_PAGES];
	uint8_t *hp, *pool;
	unsigned int i;
	int pagemap;

	hp = reserve_guarded(BUFFER_SIZE, HWQ_HUGEPAGE_SIZE);
	if (!hp || mmap(hp, BUFFER_SIZE, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED,
			-1, 0) != hp)
		return -1;
	memset(hp, 0, BUFFER_SIZE);
	munmap(buffer, BUFFER_SIZE);
	buffer = hp;

	scatter = reserve_guarded(SCATTER_PAGES * PAGE_SIZE, PAGE_SIZE);
	pool = mmap(NULL, 2 * SCATTER_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pagemap = open("/proc/self/pagemap", O_RDONLY);
	if (!scatter || pool == MAP_FAILED || pagemap < 0)
		return -1;
	memset(pool, 0, 2 * SCATTER_PAGES * PAGE_SIZE);
	for (i = 0; i < 2 * SCATTER_PAGES; i++) {
		pages[i].addr = pool + i * PAGE_SIZE;
		pages[i].pfn = hwq_pfn(pagemap, pages[i].addr);
		if (!pages[i].pfn)
			return -1;
	}
	close(pagemap);
	/* Sorted, every other frame is at least two from the one before */
	qsort(pages, 2 * SCATTER_PAGES, sizeof(pages[0]), pfn_cmp);
	for (i = 0; i < SCATTER_PAGES; i++)
		if (mremap(pages[2 * i].addr, PAGE_SIZE, PAGE_SIZE,
			   MREMAP_MAYMOVE | MREMAP_FIXED,
			   scatter + i * PAGE_SIZE) == MAP_FAILED)
			return -1;
	return 0;
}

FIXTURE(fuzz)
{
	struct fuzz f;
};

FIXTURE_SETUP(fuzz)
{
	struct fuzz *f = &self->f;

	memset(f, 0, sizeof(*f));
	cmd_arena = map_arena();
	data = map_arena();
	ASSERT_NE(NULL, cmd_arena);
	ASSERT_NE(NULL, data);
	ASSERT_EQ(0, guest_memory());
	f->cmdqv = cmdqv_backend_present();
	f->fd = open("/dev/iommu", O_RDWR);
	ASSERT_NE(-1, f->fd);
	ASSERT_EQ(0, _test_ioctl_ioas_alloc(f->fd, &f->ioas_id));
	ASSERT_EQ(0, _test_cmd_mock_domain(f->fd, f->ioas_id, &f->stdev[0],
					   NULL, &f->dev[0]));
	ASSERT_EQ(0, _test_cmd_hwpt_alloc(f->fd, f->dev[0], f->ioas_id, 0,
					  IOMMU_HWPT_ALLOC_NEST_PARENT,
					  &f->parent[0], IOMMU_HWPT_DATA_NONE,
					  NULL, 0));
	if (f->cmdqv) {
		ASSERT_EQ(0, _test_cmd_mock_domain_flags(
				     f->fd, f->ioas_id,
				     MOCK_FLAGS_DEVICE_TEGRA241_CMDQV,
				     &f->stdev[1], NULL, &f->dev[1]));
		ASSERT_EQ(0, _test_cmd_hwpt_alloc(
				     f->fd, f->dev[1], f->ioas_id, 0,
				     IOMMU_HWPT_ALLOC_NEST_PARENT,
				     &f->parent[1], IOMMU_HWPT_DATA_NONE,
				     NULL, 0));
	}
	add_id(f->ids, &f->nr_ids, f->ioas_id);
	add_id(f->ids, &f->nr_ids, f->stdev[0]);
	add_id(f->ids, &f->nr_ids, f->dev[0]);
	add_id(f->ids, &f->nr_ids, f->parent[0]);
	if (f->cmdqv) {
		add_id(f->ids, &f->nr_ids, f->stdev[1]);
		add_id(f->ids, &f->nr_ids, f->dev[1]);
		add_id(f->ids, &f->nr_ids, f->parent[1]);
	}
	ASSERT_EQ(0, _test_ioctl_ioas_map(f->fd, f->ioas_id, buffer,
					  BUFFER_SIZE,
					  &(__u64){ MOCK_APERTURE_START },
					  IOMMU_IOAS_MAP_FIXED_IOVA |
						  IOMMU_IOAS_MAP_WRITEABLE |
						  IOMMU_IOAS_MAP_READABLE));
	map_scatter(f);
}

FIXTURE_TEARDOWN(fuzz)
{
	/* Everything the run made goes with the file */
	close(self->f.fd);
}

/* Errnos these ioctls and mmap() may give; anything else is a failure */
static bool errno_expected(int err)
{
	switch (err) {
	case EINVAL: case ENOENT: case EOPNOTSUPP: case EFAULT: case EBUSY:
	case ENOMEM: case E2BIG: case EEXIST: case ENOSPC: case EOVERFLOW:
	case ERANGE: case ENODEV: case EPERM: case EIO: case ENXIO:
	case EADDRINUSE:
	case EACCES: case EAGAIN:
		return true;
	}
	return false;
}

TEST_F_TIMEOUT(fuzz, calls, 3600)
{
	unsigned long seed = env_ul("HWQ_SEED", 1);
	unsigned long calls = env_ul("HWQ_CALLS", 100000);
	struct fuzz *f = &self->f;
	unsigned int total_weight = 0, i;
	unsigned long n;

	for (i = 0; i < OP_NR; i++)
		total_weight += op_weight[i];
	ksft_print_msg("seed %lu, %lu calls, CMDQV %s (HWQ_SEED=%lu HWQ_CALLS=%lu)\n",
		       seed, calls, f->cmdqv ? "on" : "off", seed, calls);
	f->rng = seed * 0x9e3779b97f4a7c15ULL + 1;
	for (n = 0; n < calls; n++) {
		unsigned int w = below(f, total_weight);
		enum op op = 0;
		int ret;

		while (w >= op_weight[op])
			w -= op_weight[op++];
		errno = 0;
		ret = fuzz_one(f, op);
		if (ret && !errno_expected(errno))
			ASSERT_EQ(0, errno)
				TH_LOG("call %lu (%s): unexpected errno",
				       n, op_names[op]);
		record(f, op, ret);
	}
	ksft_print_msg("%lu allocating calls with a read-only command\n",
		       f->read_only);
	for (i = 0; i < OP_NR; i++) {
		char line[1024] = "";
		int e, len = 0;

		for (e = 1; e < 136; e++)
			if (f->errnos[i][e] && len < 900)
				len += snprintf(line + len, sizeof(line) - len,
						" %s:%lu", strerrorname_np(e),
						f->errnos[i][e]);
		ksft_print_msg("hwq-digest fuzz:%s %016llx (%lu calls, %lu ok;%s)\n",
			       op_names[i], (unsigned long long)f->digest[i],
			       f->calls[i], f->ok[i], line);
	}
}

TEST_HARNESS_MAIN
