// SPDX-License-Identifier: GPL-2.0

//! iommufd, as an IOMMU driver sees it.
//!
//! C header: [`include/linux/iommufd.h`](srctree/include/linux/iommufd.h).
//!
//! [`driver`] is what an IOMMU driver implements to offer vIOMMUs, vDEVICEs, nested domains and
//! HW queues; it is available whenever iommufd is built in. The parts of iommufd itself written
//! in Rust (`drivers/iommu/iommufd/hw_queue.rs`, `CONFIG_IOMMUFD_HW_QUEUE_RUST`) keep their
//! abstractions over iommufd's private structures with them.
//!
//! The driver side is part of vmlinux and calls into iommufd, hence it requires `IOMMUFD=y` (as
//! the DRM abstractions require `DRM=y`).

pub mod driver;
