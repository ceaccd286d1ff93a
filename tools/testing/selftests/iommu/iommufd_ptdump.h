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

#define PTDUMP_CURRENT "/sys/kernel/debug/page_tables/current_kernel"
#define PTDUMP_SKIP_MSG "no dump of the current page tables (x86 " \
			"CONFIG_PTDUMP_DEBUGFS) to read a mapping's type from"

/*
 * 1 if the page at @va is mapped uncached (PCD), 0 if not, -1 if there is no
 * dump to read, or the page is not mapped
 */
static int page_uncached(const void *va)
{
	unsigned long start, end, addr = (unsigned long)va;
	FILE *dump = fopen(PTDUMP_CURRENT, "r");
	char line[256];
	int ret = -1;

	if (!dump)
		return -1;
	while (fgets(line, sizeof(line), dump)) {
		if (sscanf(line, "0x%lx-0x%lx", &start, &end) != 2 ||
		    addr < start || addr >= end)
			continue;
		/* An unmapped range has no flags, only its size and level */
		if (strstr(line, "USR"))
			ret = strstr(line, "PCD") != NULL;
		break;
	}
	fclose(dump);
	return ret;
}

#endif
