// SPDX-License-Identifier: GPL-2.0

//! iommufd: its core objects, and the driver side.
//!
//! C headers: [`include/linux/iommufd.h`](srctree/include/linux/iommufd.h) and
//! [`drivers/iommu/iommufd/iommufd_private.h`](srctree/drivers/iommu/iommufd/iommufd_private.h).
//!
//! Two sets of abstractions live here. [`driver`] is what an IOMMU driver implements to offer
//! vIOMMUs, vDEVICEs, nested domains and HW queues, over the public header; it is available
//! whenever iommufd is built in. The others serve the parts of iommufd itself written in Rust
//! (`drivers/iommu/iommufd/hw_queue.rs`, `CONFIG_IOMMUFD_HW_QUEUE_RUST`), one module per object:
//!
//! - [`ucmd`]: an ioctl in progress ([`Ucmd`]);
//! - [`object`]: references on objects ([`ObjectRef`], [`UsersRef`]);
//! - [`ctx`]: the context behind an open `/dev/iommu` ([`Ctx`]);
//! - [`mmap`]: the MMIO regions a context hands to user space ([`Ctx::register_mmap`],
//!   [`Ctx::mmap_region`]);
//! - [`viommu`]: the vIOMMU and its driver's HW queue operations ([`Viommu`], [`HwQueueOps`]);
//! - [`hw_queue`]: a HW queue under construction ([`NewHwQueue`], [`PinnedHwQueue`]);
//! - [`access`]: guest memory pinned through an internal access ([`PinnedAccess`]).
//!
//! # Bindings
//!
//! iommufd's internal structures are only declared in its private header, which
//! `rust/bindings/bindings_helper.h` includes when `CONFIG_IOMMUFD_HW_QUEUE_RUST` is set. The
//! alternative, a C shim inside the module with an accessor per field and a wrapper per function,
//! would restate a dozen structures by hand and drift from them; bindgen reads the header as it
//! is, and `#[export]` makes the compiler check every function that C calls in Rust against the
//! C prototype. The few static inline functions needed are wrapped in `rust/helpers/iommufd.c`.
//! Both the helpers and this module are part of vmlinux and call into iommufd, hence they
//! require `IOMMUFD=y` (as the DRM abstractions require `DRM=y`).

#[cfg(CONFIG_IOMMUFD_HW_QUEUE_RUST)]
pub mod access;
#[cfg(CONFIG_IOMMUFD_HW_QUEUE_RUST)]
pub mod ctx;
pub mod driver;
#[cfg(CONFIG_IOMMUFD_HW_QUEUE_RUST)]
pub mod hw_queue;
#[cfg(CONFIG_IOMMUFD_HW_QUEUE_RUST)]
pub mod mmap;
#[cfg(CONFIG_IOMMUFD_HW_QUEUE_RUST)]
pub mod object;
#[cfg(CONFIG_IOMMUFD_HW_QUEUE_RUST)]
pub mod ucmd;
#[cfg(CONFIG_IOMMUFD_HW_QUEUE_RUST)]
pub mod viommu;

#[cfg(CONFIG_IOMMUFD_HW_QUEUE_RUST)]
pub use self::{
    access::{
        PageSpan,
        Pfns,
        PinnedAccess, //
    },
    ctx::Ctx,
    hw_queue::{
        destroy_hw_queue,
        InitHwQueue,
        NewHwQueue,
        PinnedHwQueue, //
    },
    object::{
        BorrowedUsersRef,
        Object,
        ObjectRef,
        UsersRef, //
    },
    ucmd::{
        Command,
        Responded,
        Ucmd, //
    },
    viommu::{
        HwQueueOps,
        Viommu, //
    },
};
