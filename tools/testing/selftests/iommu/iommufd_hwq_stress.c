// SPDX-License-Identifier: GPL-2.0-only
/*
 * Concurrency stress of the HW queue paths: a multi-threaded VMM, and VMM
 * processes that die at any point, racing each other on the selftest's mock
 * vIOMMU and, when its backend is loaded, on the emulated Tegra241 CMDQV.
 *
 * In the test process, threads race IOMMU_HW_QUEUE_ALLOC and IOMMU_DESTROY
 * of queues, vDEVICEs and vIOMMUs, IOAS_UNMAP and IOAS_MAP of the queue
 * memory, mmap, mremap, munmap and fork over the vIOMMU's page, vEVENTQ
 * allocation and reads, a guest's queue writes and PROD bumps, and (with the
 * Tegra241 CMDQV) attempts to unload and reload its module. Meanwhile child
 * VMM processes do the same on their own file and are killed, or close() the
 * file under their running threads; on the CMDQV, half of them get their
 * device through VFIO (one of the module's own), so that it is unbound with
 * everything alive when they die.
 *
 * One allocation in ten has a read-only command (read_only_alloc()): its
 * object is created, seen by its driver and other threads, and aborted.
 *
 * Invariants checked as it goes: an alloc never returns the ID of an object
 * the VMM holds; a vIOMMU with a queue the VMM holds is never destroyed; the
 * hardware's CONS never passes the guest's PROD. At the end, with every
 * object destroyed and every mapping gone, IOAS_UNMAP of everything succeeds
 * (nothing is pinned), every ID the run held is gone (ENOENT), and nothing
 * holds the module.
 *
 * HWQ_SEED=<seed> (default 1) seeds the threads' choices; HWQ_SECONDS=<s>
 * (default 30) bounds each test. The interleaving is the scheduler's, so a
 * seed replays the choices, not the exact race.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "iommufd_utils.h"
#include "iommufd_tegra241_cmdqv_utils.h"
#include "iommufd_tegra241_cmdqv_vfio.h"

#define NR_VIOMMUS 3
#define NR_QUEUES 8
#define NR_WORKERS 3
#define QUEUE_ENTRIES 64	/* 1 KiB: any queue fits in the 2 MiB buffer */

/*
 * A slot is FREE, LIVE (an object the VMM holds), BUSY (claimed by a thread
 * that uses or is creating its object, so that nobody destroys it), or DYING
 * (its destroy is in flight: the kernel may free and reuse the ID any time).
 */
enum state { FREE, LIVE, BUSY, DYING };

struct slot {
	enum state state;
	uint32_t id;
	unsigned int viommu;	/* queues: the vIOMMU slot */
	unsigned int index;	/* queues: the HW queue index */
	uint64_t iova;		/* queues: where in the guest memory */
	uint64_t offset, length; /* vIOMMUs: their mmap region */
};

struct vmm {
	int fd;
	bool cmdqv, child;
	bool closed;		/* children: the file is (being) closed */
	int vfio_fd;		/* children: a VFIO device's file, or -1 */
	uint32_t ioas_id, dev_id, parent_id;
	pthread_mutex_t lock;
	struct slot viommu[NR_VIOMMUS];
	struct slot queue[NR_QUEUES];
	uint32_t history[4096];	/* every ID the test process held */
	unsigned int nr_history;
	uint32_t leftover[256];	/* vDEVICEs, vEVENTQs whose destroy failed */
	unsigned int nr_leftover;
	uint64_t deadline;
	unsigned long seed;
	unsigned long ops, violations;
	unsigned long unloads, children, killed, vfio_children;
	unsigned long viommus, queues, commands, aborted, recycled;
	char violation[256];
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

static bool running(struct vmm *v)
{
	return now_ms() < v->deadline;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

static unsigned int below(uint64_t *s, unsigned int n)
{
	return rnd(s) % n;
}

static void violate(struct vmm *v, const char *fmt, uint32_t a, uint32_t b)
{
	__atomic_add_fetch(&v->violations, 1, __ATOMIC_RELAXED);
	snprintf(v->violation, sizeof(v->violation), fmt, a, b);
}

/* Under the lock: an ID the kernel just gave must not be one we hold */
static void check_new_id(struct vmm *v, uint32_t id)
{
	unsigned int i;

	if (id == v->ioas_id || id == v->dev_id || id == v->parent_id)
		violate(v, "ID %u reused while held (fixture) %u", id, 0);
	for (i = 0; i < NR_VIOMMUS; i++)
		if ((v->viommu[i].state == LIVE || v->viommu[i].state == BUSY) &&
		    v->viommu[i].id == id)
			violate(v, "ID %u reused while held (vIOMMU slot %u)",
				id, i);
	for (i = 0; i < NR_QUEUES; i++)
		if ((v->queue[i].state == LIVE || v->queue[i].state == BUSY) &&
		    v->queue[i].id == id)
			violate(v, "ID %u reused while held (queue slot %u)", id,
				i);
	if (!v->child && v->nr_history < ARRAY_SIZE(v->history))
		v->history[v->nr_history++] = id;
}

/*
 * Under the lock: claims a slot in @from state for this thread, @to until
 * released. A FREE slot claimed for an allocation has no ID yet (iommufd's
 * IDs start at 1).
 */
static int claim(struct slot *s, unsigned int n, enum state from,
		 enum state to, uint64_t *rng)
{
	unsigned int start = below(rng, n), i;

	for (i = 0; i < n; i++) {
		struct slot *c = &s[(start + i) % n];

		if (c->state == from) {
			c->state = to;
			if (from == FREE)
				c->id = 0;
			return (start + i) % n;
		}
	}
	return -1;
}

static void release(struct vmm *v, struct slot *s, enum state to)
{
	pthread_mutex_lock(&v->lock);
	s->state = to;
	pthread_mutex_unlock(&v->lock);
}

/*
 * One time in ten, an allocation's command is read-only, as a VMM's could be
 * by mistake: the kernel creates the object, its driver sees it (a racing
 * queue may find it as the one it depends on), and the ioctl then fails to
 * write the response and aborts it (EFAULT, counted). It must never succeed,
 * and must leave nothing: the teardown checks that nothing is pinned or held.
 */
static bool read_only_alloc(struct vmm *v, uint64_t *rng, unsigned long nr,
			    const void *cmd, size_t size)
{
	void *page;

	if (below(rng, 10))
		return false;
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		return true;
	memcpy(page, cmd, size);
	if (!mprotect(page, 4096, PROT_READ)) {
		if (!ioctl(v->fd, nr, page))
			violate(v, "ioctl %u allocated with a read-only command (%u)",
				_IOC_NR(nr), 0);
		else if (errno == EFAULT)
			__atomic_add_fetch(&v->aborted, 1, __ATOMIC_RELAXED);
	}
	munmap(page, 4096);
	return true;
}

static void op_viommu_alloc(struct vmm *v, uint64_t *rng)
{
	struct iommu_viommu_tegra241_cmdqv cq = {};
	struct iommu_viommu_selftest st = {};
	struct iommu_viommu_alloc cmd = {
		.size = sizeof(cmd),
		.type = v->cmdqv ? IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV :
				   IOMMU_VIOMMU_TYPE_SELFTEST,
		.dev_id = v->dev_id,
		.hwpt_id = v->parent_id,
		.data_len = v->cmdqv ? sizeof(cq) : sizeof(st),
		.data_uptr = v->cmdqv ? (uintptr_t)&cq : (uintptr_t)&st,
	};
	int i;

	pthread_mutex_lock(&v->lock);
	i = claim(v->viommu, NR_VIOMMUS, FREE, BUSY, rng);
	pthread_mutex_unlock(&v->lock);
	if (i < 0)
		return;
	if (read_only_alloc(v, rng, IOMMU_VIOMMU_ALLOC, &cmd, sizeof(cmd))) {
		release(v, &v->viommu[i], FREE);
		return;
	}
	if (ioctl(v->fd, IOMMU_VIOMMU_ALLOC, &cmd)) {
		release(v, &v->viommu[i], FREE);
		return;
	}
	__atomic_add_fetch(&v->viommus, 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&v->lock);
	check_new_id(v, cmd.out_viommu_id);
	v->viommu[i].id = cmd.out_viommu_id;
	v->viommu[i].offset = v->cmdqv ? cq.out_vintf_mmap_offset :
					 st.out_mmap_offset;
	v->viommu[i].length = v->cmdqv ? cq.out_vintf_mmap_length :
					 st.out_mmap_length;
	v->viommu[i].state = LIVE;
	pthread_mutex_unlock(&v->lock);
}

/* Destroys a vIOMMU; with queues of it held, that must fail with EBUSY */
static void op_viommu_destroy(struct vmm *v, uint64_t *rng)
{
	bool held[NR_QUEUES] = {};
	unsigned int q, nheld = 0;
	int i, ret;

	pthread_mutex_lock(&v->lock);
	i = claim(v->viommu, NR_VIOMMUS, LIVE, DYING, rng);
	if (i >= 0) {
		for (q = 0; q < NR_QUEUES; q++) {
			if (v->queue[q].state == LIVE &&
			    v->queue[q].viommu == (unsigned int)i) {
				v->queue[q].state = BUSY;
				held[q] = true;
				nheld++;
			}
		}
	}
	pthread_mutex_unlock(&v->lock);
	if (i < 0)
		return;
	ret = _test_ioctl_destroy(v->fd, v->viommu[i].id);
	if (!ret && nheld)
		violate(v, "vIOMMU %u destroyed under %u held queues",
			v->viommu[i].id, nheld);
	pthread_mutex_lock(&v->lock);
	for (q = 0; q < NR_QUEUES; q++)
		if (held[q])
			v->queue[q].state = LIVE;
	v->viommu[i].state = ret ? LIVE : FREE;
	pthread_mutex_unlock(&v->lock);
}

/*
 * Destroys an object, or leaves it for the teardown: a vEVENTQ's file may live
 * on in a child forked meanwhile, and hold it; a queue that is not tracked may
 * have a later index depending on it.
 */
static void destroy_or_leave(struct vmm *v, uint32_t id)
{
	if (!_test_ioctl_destroy(v->fd, id))
		return;
	pthread_mutex_lock(&v->lock);
	if (v->nr_leftover < ARRAY_SIZE(v->leftover))
		v->leftover[v->nr_leftover++] = id;
	else
		violate(v, "too many objects left over (%u) %u", id, 0);
	pthread_mutex_unlock(&v->lock);
}

/*
 * Under the lock: the slot of the held vIOMMU @id. Between reading a slot's
 * ID and the queue allocation on it, that vIOMMU may have been destroyed and
 * its ID given to a new vIOMMU in another slot.
 */
static int viommu_slot(struct vmm *v, uint32_t id)
{
	unsigned int i;

	for (i = 0; i < NR_VIOMMUS; i++)
		if ((v->viommu[i].state == LIVE || v->viommu[i].state == BUSY) &&
		    v->viommu[i].id == id)
			return i;
	return -1;
}

static void op_queue_alloc(struct vmm *v, uint64_t *rng)
{
	struct iommu_hw_queue_alloc cmd = { .size = sizeof(cmd) };
	uint64_t len = QUEUE_ENTRIES * 16;
	int i, vi;

	pthread_mutex_lock(&v->lock);
	i = claim(v->queue, NR_QUEUES, FREE, BUSY, rng);
	vi = below(rng, NR_VIOMMUS);
	if (i >= 0 && v->viommu[vi].state == LIVE)
		cmd.viommu_id = v->viommu[vi].id;
	pthread_mutex_unlock(&v->lock);
	if (i < 0)
		return;
	if (!cmd.viommu_id) {
		release(v, &v->queue[i], FREE);
		return;
	}
	cmd.type = v->cmdqv ? IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV :
			      IOMMU_HW_QUEUE_TYPE_SELFTEST;
	cmd.index = below(rng, 4);
	/* Aligned to its size, as the CMDQV wants, anywhere in the buffer */
	cmd.nesting_parent_iova = MOCK_APERTURE_START +
				  len * below(rng, BUFFER_SIZE / len);
	cmd.length = len;
	if (read_only_alloc(v, rng, IOMMU_HW_QUEUE_ALLOC, &cmd, sizeof(cmd))) {
		release(v, &v->queue[i], FREE);
		return;
	}
	if (ioctl(v->fd, IOMMU_HW_QUEUE_ALLOC, &cmd)) {
		release(v, &v->queue[i], FREE);
		return;
	}
	__atomic_add_fetch(&v->queues, 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&v->lock);
	check_new_id(v, cmd.out_hw_queue_id);
	if (v->viommu[vi].id != cmd.viommu_id)
		v->recycled++;
	vi = viommu_slot(v, cmd.viommu_id);
	if (vi < 0) {
		/*
		 * The vIOMMU was destroyed after we read its ID, and the ID
		 * went to a vIOMMU still being recorded: not ours to track.
		 * Once recorded, a queue of another thread's may depend on
		 * this one; then the teardown destroys it.
		 */
		pthread_mutex_unlock(&v->lock);
		destroy_or_leave(v, cmd.out_hw_queue_id);
		release(v, &v->queue[i], FREE);
		return;
	}
	v->queue[i].id = cmd.out_hw_queue_id;
	v->queue[i].viommu = vi;
	v->queue[i].index = cmd.index;
	v->queue[i].iova = cmd.nesting_parent_iova;
	v->queue[i].state = LIVE;
	pthread_mutex_unlock(&v->lock);
}

static void op_queue_destroy(struct vmm *v, uint64_t *rng)
{
	int i, ret;

	pthread_mutex_lock(&v->lock);
	i = claim(v->queue, NR_QUEUES, LIVE, DYING, rng);
	pthread_mutex_unlock(&v->lock);
	if (i < 0)
		return;
	/* EBUSY while a later index of the selftest's depends on it */
	ret = _test_ioctl_destroy(v->fd, v->queue[i].id);
	release(v, &v->queue[i], ret ? LIVE : FREE);
}

/* vDEVICE and vEVENTQ: allocated, used and destroyed in one go */
static void op_vdevice_veventq(struct vmm *v, uint64_t *rng)
{
	uint32_t vdev_id, veventq_id, veventq_fd, viommu_id = 0;
	char buf[256];
	int i;

	pthread_mutex_lock(&v->lock);
	i = below(rng, NR_VIOMMUS);
	if (v->viommu[i].state == LIVE)
		viommu_id = v->viommu[i].id;
	pthread_mutex_unlock(&v->lock);
	if (!viommu_id)
		return;
	{
		struct iommu_vdevice_alloc vdev = {
			.size = sizeof(vdev),
			.viommu_id = viommu_id,
			.dev_id = v->dev_id,
			.virt_id = below(rng, 4),
		};
		struct iommu_veventq_alloc veventq = {
			.size = sizeof(veventq),
			.viommu_id = viommu_id,
			.type = v->cmdqv ? IOMMU_VEVENTQ_TYPE_TEGRA241_CMDQV :
					   IOMMU_VEVENTQ_TYPE_SELFTEST,
			.veventq_depth = 4,
		};

		if (read_only_alloc(v, rng, IOMMU_VDEVICE_ALLOC, &vdev,
				    sizeof(vdev)) ||
		    read_only_alloc(v, rng, IOMMU_VEVENTQ_ALLOC, &veventq,
				    sizeof(veventq)))
			return;
	}
	if (!_test_cmd_vdevice_alloc(v->fd, viommu_id, v->dev_id,
				     below(rng, 4), &vdev_id)) {
		usleep(below(rng, 200));
		destroy_or_leave(v, vdev_id);
	}
	if (!_test_cmd_veventq_alloc(v->fd, viommu_id,
				     v->cmdqv ?
					     IOMMU_VEVENTQ_TYPE_TEGRA241_CMDQV :
					     IOMMU_VEVENTQ_TYPE_SELFTEST,
				     1 + below(rng, 8), &veventq_id,
				     &veventq_fd)) {
		fcntl(veventq_fd, F_SETFL, O_NONBLOCK);
		while (read(veventq_fd, buf, sizeof(buf)) > 0)
			;
		close(veventq_fd);
		destroy_or_leave(v, veventq_id);
	}
}

/* The queue memory: unmapped while pinned must fail; mapped back */
static void op_unmap_map(struct vmm *v, uint64_t *rng)
{
	__u64 iova = MOCK_APERTURE_START;

	if (_test_ioctl_ioas_unmap(v->fd, v->ioas_id, MOCK_APERTURE_START,
				   BUFFER_SIZE, NULL))
		return;
	usleep(below(rng, 200));
	/* Another thread may have mapped it back first */
	_test_ioctl_ioas_map(v->fd, v->ioas_id, buffer, BUFFER_SIZE, &iova,
			     IOMMU_IOAS_MAP_FIXED_IOVA |
				     IOMMU_IOAS_MAP_WRITEABLE |
				     IOMMU_IOAS_MAP_READABLE);
}

/* The vIOMMU's page: mmap, touch, mremap, fork, munmap */
static void op_mmap(struct vmm *v, uint64_t *rng)
{
	uint64_t offset = 0, length = 0;
	uint32_t *p;
	void *q;
	pid_t pid;
	int i;

	pthread_mutex_lock(&v->lock);
	i = below(rng, NR_VIOMMUS);
	if (v->viommu[i].state == LIVE) {
		offset = v->viommu[i].offset;
		length = v->viommu[i].length;
	}
	pthread_mutex_unlock(&v->lock);
	if (!length)
		return;
	/* The vIOMMU may be gone: then mmap fails */
	p = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd,
		 offset);
	if (p == MAP_FAILED)
		return;
	__atomic_load_n(&p[below(rng, length / 4)], __ATOMIC_RELAXED);
	/* The mock page means nothing; the VINTF page is the guest's */
	if (!v->cmdqv)
		__atomic_store_n(&p[below(rng, length / 4)], rnd(rng),
				 __ATOMIC_RELAXED);
	switch (below(rng, 4)) {
	case 0:
		/* Moving the mapping moves its reference */
		q = mremap(p, length, length, MREMAP_MAYMOVE);
		if (q != MAP_FAILED)
			p = q;
		break;
	case 1:
		/* Split: unmap all but the first page of a larger region */
		if (length > PAGE_SIZE &&
		    !munmap((char *)p + PAGE_SIZE, length - PAGE_SIZE))
			length = PAGE_SIZE;
		break;
	case 2:
		pid = fork();
		if (pid == 0) {
			__atomic_load_n(&p[0], __ATOMIC_RELAXED);
			_exit(0);
		}
		if (pid > 0)
			waitpid(pid, NULL, 0);
		break;
	}
	usleep(below(rng, 500));
	if (munmap(p, length))
		violate(v, "munmap of a region failed (%u) %u", errno, 0);
}

/*
 * A guest on one of the VMM's queues: enable it, write a batch of commands,
 * bump PROD, and watch CONS catch up without ever passing PROD. This thread
 * holds the queue and its vIOMMU meanwhile, so nothing destroys them.
 */
static void op_guest(struct vmm *v, uint64_t *rng)
{
	const uint32_t mask = 2 * QUEUE_ENTRIES - 1;
	uint64_t offset = 0, length = 0, t;
	unsigned int vi = 0, n, k, sent = 0;
	uint32_t prod, cons;
	void *page, *ring;
	int q;

	pthread_mutex_lock(&v->lock);
	q = claim(v->queue, NR_QUEUES, LIVE, BUSY, rng);
	if (q >= 0) {
		vi = v->queue[q].viommu;
		if (v->viommu[vi].state == LIVE) {
			v->viommu[vi].state = BUSY;
			offset = v->viommu[vi].offset;
			length = v->viommu[vi].length;
		}
	}
	pthread_mutex_unlock(&v->lock);
	if (q < 0)
		return;
	if (!length) {
		release(v, &v->queue[q], LIVE);
		return;
	}
	page = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd,
		    offset);
	if (page == MAP_FAILED) {
		/* A child's threads may still run after it closed the file */
		if (!__atomic_load_n(&v->closed, __ATOMIC_ACQUIRE))
			violate(v, "mmap of held vIOMMU %u failed (%u)",
				v->viommu[vi].id, errno);
		goto out;
	}
	k = v->queue[q].index;
	ring = (char *)buffer + (v->queue[q].iova - MOCK_APERTURE_START);
	lvcmdq_write(page, k, LVCMDQ_CONFIG, 1);
	prod = LVCMDQ_REG(page, k, LVCMDQ_PROD) & mask;
	/* A previous guest may have left an error to acknowledge */
	lvcmdq_write(page, k, LVCMDQ_GERRORN,
		     LVCMDQ_REG(page, k, LVCMDQ_GERROR));
	for (n = 1 + below(rng, QUEUE_ENTRIES); n; n--) {
		cons = LVCMDQ_REG(page, k, LVCMDQ_CONS) & mask;
		if (((prod - cons) & mask) >= QUEUE_ENTRIES)
			break;	/* full */
		sent++;
		put_cmd(ring, prod % QUEUE_ENTRIES,
			below(rng, 50) ? CMD_TLBI_NH_ASID(below(rng, 8)) :
					 CMD_CFGI_STE, 0);
		prod = (prod + 1) & mask;
	}
	lvcmdq_write(page, k, LVCMDQ_PROD, prod);
	__atomic_add_fetch(&v->commands, sent, __ATOMIC_RELAXED);
	for (t = now_ms() + below(rng, 20); now_ms() < t;) {
		cons = LVCMDQ_REG(page, k, LVCMDQ_CONS) & mask;
		if (((prod - cons) & mask) > QUEUE_ENTRIES)
			violate(v, "CONS %u passed PROD %u", cons, prod);
		if (cons == prod)
			break;
		usleep(100);
	}
	if (below(rng, 2))
		lvcmdq_write(page, k, LVCMDQ_CONFIG, 0);
	munmap(page, length);
out:
	pthread_mutex_lock(&v->lock);
	v->viommu[vi].state = LIVE;
	v->queue[q].state = LIVE;
	pthread_mutex_unlock(&v->lock);
}

/* Unloads the backend if nothing holds it, and loads it back */
static void op_module(struct vmm *v, uint64_t *rng)
{
	if (cmdqv_unload())
		return;
	__atomic_add_fetch(&v->unloads, 1, __ATOMIC_RELAXED);
	usleep(below(rng, 2000));
	if (cmdqv_load())
		violate(v, "reloading the module failed (%u) %u", errno, 0);
}

struct worker {
	struct vmm *v;
	unsigned int n;
	bool modules;
};

static void *worker(void *arg)
{
	struct worker *w = arg;
	struct vmm *v = w->v;
	uint64_t rng = v->seed * 0x9e3779b97f4a7c15ULL + w->n + 1;

	while (running(v)) {
		switch (below(&rng, 20)) {
		case 0 ... 2:
			op_viommu_alloc(v, &rng);
			break;
		case 3 ... 4:
			op_viommu_destroy(v, &rng);
			break;
		case 5 ... 8:
			op_queue_alloc(v, &rng);
			break;
		case 9 ... 10:
			op_queue_destroy(v, &rng);
			break;
		case 11:
			op_vdevice_veventq(v, &rng);
			break;
		case 12:
			op_unmap_map(v, &rng);
			break;
		case 13 ... 15:
			op_mmap(v, &rng);
			break;
		case 16 ... 18:
			if (v->cmdqv)
				op_guest(v, &rng);
			break;
		default:
			if (w->modules && !below(&rng, 20))
				op_module(v, &rng);
			break;
		}
		__atomic_add_fetch(&v->ops, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* The nesting parent on the VMM's device, and the guest memory in the IOAS */
static int vmm_parent_and_memory(struct vmm *v)
{
	__u64 iova = MOCK_APERTURE_START;

	if (_test_cmd_hwpt_alloc(v->fd, v->dev_id, v->ioas_id, 0,
				 IOMMU_HWPT_ALLOC_NEST_PARENT, &v->parent_id,
				 IOMMU_HWPT_DATA_NONE, NULL, 0) ||
	    _test_ioctl_ioas_map(v->fd, v->ioas_id, buffer, BUFFER_SIZE, &iova,
				 IOMMU_IOAS_MAP_FIXED_IOVA |
					 IOMMU_IOAS_MAP_WRITEABLE |
					 IOMMU_IOAS_MAP_READABLE))
		return -1;
	return 0;
}

/* A VMM: the file, the IOAS with the guest memory, a device, its parent */
static int vmm_open(struct vmm *v)
{
	v->fd = open("/dev/iommu", O_RDWR);
	if (v->fd < 0)
		return -1;
	if (_test_ioctl_ioas_alloc(v->fd, &v->ioas_id) ||
	    _test_cmd_mock_domain_flags(v->fd, v->ioas_id,
					v->cmdqv ?
					MOCK_FLAGS_DEVICE_TEGRA241_CMDQV : 0,
					NULL, NULL, &v->dev_id))
		return -1;
	return vmm_parent_and_memory(v);
}

/*
 * A VMM whose device is one of the backend's own, through VFIO: any that is
 * there, bound to this VMM's iommufd and attached to its nesting parent.
 * Fails if none is there (the module is being reloaded) or another VMM has
 * the one picked.
 */
static int vmm_open_vfio(struct vmm *v, uint64_t *rng)
{
	char names[8][32];
	unsigned int n = 0;
	struct dirent *d;
	uint32_t pt_id;
	DIR *dir;

	dir = opendir(DRIVER_DIR);
	if (!dir)
		return -1;
	while ((d = readdir(dir)) && n < ARRAY_SIZE(names))
		if (!strncmp(d->d_name, "iommufd_mock", 12))
			snprintf(names[n++], sizeof(names[0]), "%.31s",
				 d->d_name);
	closedir(dir);
	if (!n)
		return -1;
	v->vfio_fd = open_vfio(names[below(rng, n)]);
	v->fd = open("/dev/iommu", O_RDWR);
	if (v->vfio_fd < 0 || v->fd < 0 ||
	    _test_ioctl_ioas_alloc(v->fd, &v->ioas_id) ||
	    bind_iommufd(v->vfio_fd, v->fd, &v->dev_id) ||
	    vmm_parent_and_memory(v))
		return -1;
	pt_id = v->parent_id;
	return attach_pt(v->vfio_fd, &pt_id);
}

static void run_workers(struct vmm *v, bool modules)
{
	struct worker w[NR_WORKERS];
	pthread_t t[NR_WORKERS];
	unsigned int i;

	for (i = 0; i < NR_WORKERS; i++) {
		w[i] = (struct worker){ .v = v, .n = i, .modules = modules };
		pthread_create(&t[i], NULL, worker, &w[i]);
	}
	for (i = 0; i < NR_WORKERS; i++)
		pthread_join(t[i], NULL);
}

/*
 * A child VMM: races its own threads for a moment, then either closes the
 * file under them or is killed by the parent, whichever comes first.
 */
static void child_vmm(bool cmdqv, unsigned long seed)
{
	struct worker w[NR_WORKERS];
	pthread_t t[NR_WORKERS];
	static struct vmm child;
	struct vmm *v = &child;
	uint64_t rng = seed;
	unsigned int i;

	v->child = true;
	v->cmdqv = cmdqv;
	v->seed = seed;
	v->vfio_fd = -1;
	pthread_mutex_init(&v->lock, NULL);
	/*
	 * On the CMDQV, one child in two gets its device through VFIO: killed,
	 * it is unbound with everything alive. Without the backend (being
	 * reloaded), or with the device another child's, there is nothing to
	 * race.
	 */
	if (cmdqv && below(&rng, 2) ? vmm_open_vfio(v, &rng) : vmm_open(v))
		_exit(0);
	v->deadline = now_ms() + 10 + below(&rng, 300);
	for (i = 0; i < NR_WORKERS; i++) {
		w[i] = (struct worker){ .v = v, .n = i };
		pthread_create(&t[i], NULL, worker, &w[i]);
	}
	usleep(1000 * below(&rng, 100));
	/* The threads' next calls get EBADF, or hit whatever reuses the fd */
	__atomic_store_n(&v->closed, true, __ATOMIC_RELEASE);
	close(v->fd);
	/* The parent only learns the exit status: say what was seen */
	if (v->violations)
		fprintf(stderr, "# child VMM (seed %lu): %lu violations, the last: %s\n",
			seed, v->violations, v->violation);
	/* 2: ran to the end on a VFIO device */
	_exit(v->violations ? 1 : v->vfio_fd >= 0 ? 2 : 0);
}

FIXTURE(stress)
{
	struct vmm v;
};

FIXTURE_VARIANT(stress)
{
	bool cmdqv;
};

FIXTURE_VARIANT_ADD(stress, mock)
{
	.cmdqv = false,
};

FIXTURE_VARIANT_ADD(stress, tegra241_cmdqv)
{
	.cmdqv = true,
};

FIXTURE_SETUP(stress)
{
	const char *s = getenv("HWQ_SEED");

	if (variant->cmdqv && !cmdqv_backend_present())
		SKIP(return, CMDQV_SKIP_MSG);
	memset(&self->v, 0, sizeof(self->v));
	pthread_mutex_init(&self->v.lock, NULL);
	self->v.cmdqv = variant->cmdqv;
	self->v.seed = s && *s ? strtoul(s, NULL, 0) : 1;
	ASSERT_EQ(0, vmm_open(&self->v));
}

FIXTURE_TEARDOWN(stress)
{
}

/* The parent of the child VMMs: forks them and kills some */
static void *child_vmms(void *arg)
{
	struct vmm *v = arg;
	uint64_t rng = v->seed + 0x5eed;

	while (running(v)) {
		int status;
		pid_t pid;

		pid = fork();
		if (pid == 0)
			child_vmm(v->cmdqv, rnd(&rng));
		if (pid < 0)
			break;
		usleep(1000 * below(&rng, 150));
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		if (WIFSIGNALED(status))
			__atomic_add_fetch(&v->killed, 1, __ATOMIC_RELAXED);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 2)
			__atomic_add_fetch(&v->vfio_children, 1,
					   __ATOMIC_RELAXED);
		else if (WIFEXITED(status) && WEXITSTATUS(status))
			violate(v, "a child VMM saw a violation (%u) %u",
				WEXITSTATUS(status), 0);
		__atomic_add_fetch(&v->children, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static int module_refcnt(void)
{
	char buf[16] = {};
	int fd, n;

	fd = open("/sys/module/" CMDQV_MODULE "/refcnt", O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? atoi(buf) : -1;
}

/* For the teardown's report: the first slot still holding an object */
static struct slot *first_held(struct slot *slots, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (slots[i].state != FREE)
			return &slots[i];
	return NULL;
}

/* For the teardown's report: why an object cannot be destroyed */
static const char *why_not(int fd, uint32_t id)
{
	return _test_ioctl_destroy(fd, id) ? strerror(errno) : "destroyed now";
}

TEST_F_TIMEOUT(stress, race, 3600)
{
	const char *s = getenv("HWQ_SECONDS");
	unsigned long seconds = s && *s ? strtoul(s, NULL, 0) : 30;
	struct vmm *v = &self->v;
	bool progress = true;
	struct slot *held;
	pthread_t kids;
	unsigned int i;

	ksft_print_msg("seed %lu, %lu s (HWQ_SEED=%lu HWQ_SECONDS=%lu)\n",
		       v->seed, seconds, v->seed, seconds);
	v->deadline = now_ms() + seconds * 1000;
	pthread_create(&kids, NULL, child_vmms, v);
	run_workers(v, v->cmdqv);
	pthread_join(kids, NULL);
	ksft_print_msg("%lu operations, %lu child VMMs (%lu killed)\n",
		       v->ops, v->children, v->killed);
	ksft_print_msg("%lu child VMMs ran to the end on a VFIO device\n",
		       v->vfio_children);
	ksft_print_msg("%lu vIOMMUs, %lu queues, %lu guest commands, %lu module unloads\n",
		       v->viommus, v->queues, v->commands, v->unloads);
	ksft_print_msg("%lu allocations aborted for a read-only command\n",
		       v->aborted);
	ksft_print_msg("%lu queues allocated on a vIOMMU ID given to another slot\n",
		       v->recycled);
	ASSERT_EQ(0, v->violations) TH_LOG("%s", v->violation);

	/*
	 * Tear down: what was left over, queues, then vIOMMUs, until nothing
	 * is left
	 */
	while (progress) {
		progress = false;
		for (i = 0; i < v->nr_leftover; i++)
			if (v->leftover[i] &&
			    !_test_ioctl_destroy(v->fd, v->leftover[i])) {
				v->leftover[i] = 0;
				progress = true;
			}
		for (i = 0; i < NR_QUEUES; i++)
			if (v->queue[i].state == LIVE &&
			    !_test_ioctl_destroy(v->fd, v->queue[i].id)) {
				v->queue[i].state = FREE;
				progress = true;
			}
		for (i = 0; i < NR_VIOMMUS; i++)
			if (v->viommu[i].state == LIVE &&
			    !_test_ioctl_destroy(v->fd, v->viommu[i].id)) {
				v->viommu[i].state = FREE;
				progress = true;
			}
	}
	for (i = 0; i < v->nr_leftover; i++)
		ASSERT_EQ(0, v->leftover[i])
			TH_LOG("object %u: %s", v->leftover[i],
			       why_not(v->fd, v->leftover[i]));
	held = first_held(v->queue, NR_QUEUES);
	ASSERT_EQ(NULL, held)
		TH_LOG("queue %u: %s", held->id, why_not(v->fd, held->id));
	held = first_held(v->viommu, NR_VIOMMUS);
	ASSERT_EQ(NULL, held)
		TH_LOG("vIOMMU %u: %s", held->id, why_not(v->fd, held->id));
	/* Nothing pins the guest memory any more */
	ASSERT_EQ(0, _test_ioctl_ioas_unmap(v->fd, v->ioas_id, 0, UINT64_MAX,
					    NULL));
	/* Every object the run held is gone */
	for (i = 0; i < v->nr_history; i++)
		EXPECT_ERRNO(ENOENT, _test_ioctl_destroy(v->fd, v->history[i]));
	ASSERT_EQ(0, close(v->fd));
	if (v->cmdqv) {
		/* Loaded (a racing unload always reloads), and unheld */
		ASSERT_EQ(0, module_refcnt());
	}
}

TEST_HARNESS_MAIN
