/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * How the kernel maps a page of this process into it: the memory type of the
 * page, read from the dump of the current mm's page tables that x86 kernels
 * with CONFIG_PTDUMP_DEBUGFS have. A region that the kernel also accesses as
 * memory must be mapped as memory in user space too, not uncached as MMIO.
 */
#ifndef __IOMMUFD_PTDUMP_H
#define __IOMMUFD_PTDUMP_H

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define PTDUMP_CURRENT "/sys/kernel/debug/page_tables/current_kernel"
#define PTDUMP_SKIP_MSG "no dump of the current page tables (x86 " \
			"CONFIG_PTDUMP_DEBUGFS) to read a mapping's type from"

/*
 * How many pages of [@va, @va + @length) are mapped uncached (PCD); -1 if
 * there is no dump to read, -2 if a page of the range is not mapped
 */
static long pages_uncached(const void *va, size_t length)
{
	unsigned long start, end, lo, hi, addr = (unsigned long)va;
	unsigned long page = sysconf(_SC_PAGE_SIZE), mapped = 0;
	FILE *dump = fopen(PTDUMP_CURRENT, "r");
	char line[256];
	long uncached = 0;

	if (!dump)
		return -1;
	while (fgets(line, sizeof(line), dump)) {
		if (sscanf(line, "0x%lx-0x%lx", &start, &end) != 2)
			continue;
		lo = start > addr ? start : addr;
		hi = end < addr + length ? end : addr + length;
		/* An unmapped range has no flags, only its size and level */
		if (lo >= hi || !strstr(line, "USR"))
			continue;
		mapped += (hi - lo) / page;
		if (strstr(line, "PCD"))
			uncached += (hi - lo) / page;
	}
	fclose(dump);
	return mapped == length / page ? uncached : -2;
}

#endif
