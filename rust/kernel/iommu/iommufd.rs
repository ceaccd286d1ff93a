// SPDX-License-Identifier: GPL-2.0

//! iommufd core objects.
//!
//! C headers: [`include/linux/iommufd.h`](srctree/include/linux/iommufd.h) and
//! [`drivers/iommu/iommufd/iommufd_private.h`](srctree/drivers/iommu/iommufd/iommufd_private.h).
//!
//! These abstractions serve the parts of iommufd written in Rust, which are linked into iommufd
//! itself (`drivers/iommu/iommufd/hw_queue.rs`). One module per object:
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
//! Both the helpers and this module are part of vmlinux and call into iommufd, hence the option
//! requires `IOMMUFD=y` (as the DRM abstractions require `DRM=y`).

pub mod access;
pub mod ctx;
pub mod hw_queue;
pub mod mmap;
pub mod object;
pub mod ucmd;
pub mod viommu;

pub use self::{
    access::{
        PageSpan,
        Pfns,
        PinnedAccess, //
    },
    ctx::Ctx,
    hw_queue::{
        destroy_hw_queue,
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
        Ucmd, //
    },
    viommu::{
        HwQueueOps,
        Viommu, //
    },
};
