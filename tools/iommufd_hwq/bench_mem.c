// SPDX-License-Identifier: GPL-2.0-only
/*
 * Kernel memory allocated by one IOMMU_HW_QUEUE_ALLOC, by queue size.
 *
 * The kmem tracepoints (kmalloc, kmem_cache_alloc, kfree, kmem_cache_free),
 * filtered to this process, record every slab and kmalloc allocation the
 * ioctl makes; large kmallocs and kvmalloc's kmalloc attempt are kmalloc
 * events too. For each size this prints:
 *
 *   allocs      number of allocations during the ioctl
 *   total       bytes allocated during the ioctl (bytes_alloc)
 *   peak        most bytes live at once, of those allocated in the ioctl
 *   held        bytes still allocated when the ioctl returns (persistent)
 *   transient   total - held
 *
 * The markers that open and close the window go through one trace_marker
 * file opened beforehand, so that no open or close of it (a file, its user
 * buffer) falls in the window. kmemleak's own records (kmemleak_object, one
 * per allocation on the debug kernels) are left out: they are the leak
 * checker's, not the ioctl's.
 *
 * The queue memory is hugepage-backed so that it is physically contiguous.
 * Runs on the selftest mock vIOMMU; needs tracefs at /sys/kernel/tracing.
 * With -v, each size's line follows the trace lines it accounts.
 */
#include "bench_common.h"

#define TRACING "/sys/kernel/tracing"

static const char *const events[] = {
	"kmem/kmalloc", "kmem/kfree", "kmem/kmem_cache_alloc",
	"kmem/kmem_cache_free",
};

static void write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_TRUNC);

	if (fd < 0 || write(fd, val, strlen(val)) != (ssize_t)strlen(val)) {
		fprintf(stderr, "bench_mem: cannot write %s: %m\n", path);
		exit(1);
	}
	close(fd);
}

static void tracing(int on)
{
	char path[256], pid[32];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(events); i++) {
		snprintf(path, sizeof(path), TRACING "/events/%s/enable",
			 events[i]);
		write_file(path, on ? "1" : "0");
	}
	snprintf(pid, sizeof(pid), "%d", getpid());
	write_file(TRACING "/set_event_pid", on ? pid : "");
	if (on)
		write_file(TRACING "/trace", "");
	write_file(TRACING "/tracing_on", on ? "1" : "0");
}

static int marker_fd;

static void marker(const char *m)
{
	if (write(marker_fd, m, strlen(m)) != (ssize_t)strlen(m)) {
		fprintf(stderr, "bench_mem: cannot write \"%s\" to trace_marker: %m\n", m);
		exit(1);
	}
}

static int ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);

	return n >= t && !strcmp(s + n - t, tail);
}

struct live {
	unsigned long ptr;
	unsigned long bytes;
};

struct result {
	unsigned long allocs, total, peak, held;
};

static int find_live(const struct live *live, unsigned int nlive,
		     unsigned long ptr)
{
	unsigned int i;

	for (i = 0; i < nlive; i++)
		if (live[i].ptr == ptr)
			return i;
	return -1;
}

/*
 * Account allocations between the "begin" and "end" markers; with verbose,
 * print the trace lines between them
 */
static struct result parse_trace(int verbose)
{
	static struct live live[65536];
	struct result r = {};
	unsigned long cur = 0;
	unsigned int nlive = 0;
	char line[1024];
	int i, in = 0;
	FILE *f = fopen(TRACING "/trace", "r");

	assert(f);
	while (fgets(line, sizeof(line), f)) {
		char *p;
		unsigned long ptr, bytes;

		/*
		 * A marker reads "<ip>: begin": the ip is tracing_mark_write
		 * with kallsyms, a bare address without (the perf kernels)
		 */
		if (ends_with(line, ": begin\n")) {
			in = 1;
			continue;
		}
		if (ends_with(line, ": end\n"))
			break;
		if (!in)
			continue;
		if (verbose)
			fputs(line, stdout);
		p = strstr(line, " ptr=");
		if (!p || strstr(line, "name=kmemleak_object"))
			continue;
		ptr = strtoul(p + 5, NULL, 16);
		i = find_live(live, nlive, ptr);
		if (strstr(line, "kmalloc:") || strstr(line, "kmem_cache_alloc:")) {
			p = strstr(line, "bytes_alloc=");
			/*
			 * A kmalloc too large for the slab caches is reported
			 * twice with the same pointer, by the large allocation
			 * path and by kmalloc: count it once.
			 */
			if (!p || i >= 0)
				continue;
			bytes = strtoul(p + 12, NULL, 10);
			r.allocs++;
			r.total += bytes;
			cur += bytes;
			if (cur > r.peak)
				r.peak = cur;
			assert(nlive < ARRAY_SIZE(live));
			live[nlive].ptr = ptr;
			live[nlive++].bytes = bytes;
		} else if ((strstr(line, "kfree:") ||
			    strstr(line, "kmem_cache_free:")) && i >= 0) {
			cur -= live[i].bytes;
			live[i] = live[--nlive];
		}
	}
	fclose(f);
	r.held = cur;
	return r;
}

static int run(struct bench *b, size_t len, struct result *r, int verbose)
{
	uint32_t id = 0;
	int rc;

	tracing(1);
	marker("begin");
	rc = hw_queue_alloc(b, b->iova, len, &id);
	marker("end");
	tracing(0);
	if (rc)
		return rc;
	*r = parse_trace(verbose);
	return destroy(b, id);
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = { 4096, 64 * 1024, 2 * MIB, 8 * MIB,
					16 * MIB, 32 * MIB };
	struct bench b = bench_setup("bench_mem", 32 * MIB);
	int verbose = argc > 1 && !strcmp(argv[1], "-v");
	unsigned int i;

	marker_fd = open(TRACING "/trace_marker", O_WRONLY);
	if (marker_fd < 0) {
		fprintf(stderr, "bench_mem: cannot open trace_marker: %m\n");
		return 1;
	}

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		struct result r;
		int rc = run(&b, sizes[i], &r, verbose);

		if (rc) {
			printf("mem: size=%zu error=%d\n", sizes[i], rc);
			continue;
		}
		printf("mem: size=%zu allocs=%lu total=%lu peak=%lu held=%lu transient=%lu\n",
		       sizes[i], r.allocs, r.total, r.peak, r.held,
		       r.total - r.held);
	}
	return 0;
}
