/* SPDX-License-Identifier: GPL-2.0-only */
/* The markers of bench_profile's loop, defined in assembly there */
#ifndef __IOMMUFD_HWQ_BENCH_PROFILE_H
#define __IOMMUFD_HWQ_BENCH_PROFILE_H

void hwq_prof_start(void);
void hwq_prof_stop(void);

#endif
