// SPDX-License-Identifier: GPL-2.0

//! The iommufd core's own objects, as this crate uses them.
//!
//! C header: [`iommufd_private.h`](srctree/drivers/iommu/iommufd/iommufd_private.h).
//!
//! These abstractions serve the HW queue object and the mmap interface, and nothing else: no
//! driver sees iommufd's private structures, so they stay with their only user, the way binder
//! keeps its own (what an IOMMU driver implements is in [`kernel::iommu::iommufd::driver`]). One
//! module per object:
//!
//! - [`ucmd`]: an ioctl in progress ([`Ucmd`]);
//! - [`object`]: references on objects ([`object::ObjectRef`], [`object::UsersRef`]);
//! - [`ctx`]: the context behind an open `/dev/iommu` ([`Ctx`]);
//! - [`mmap`]: the regions a context hands to user space ([`Ctx::register_mmap`],
//!   [`Ctx::mmap_region`]);
//! - [`viommu`]: the vIOMMU and its driver's HW queue operations ([`Viommu`],
//!   [`viommu::HwQueueOps`]);
//! - [`hw_queue`]: a HW queue under construction ([`hw_queue::NewHwQueue`],
//!   [`hw_queue::PinnedHwQueue`]);
//! - [`access`]: guest memory pinned through an internal access ([`access::PinnedAccess`]).
//!
//! Every `unsafe` block of the crate is in these modules; the rest of the crate
//! (`hw_queue.rs`, `hw_queue/mmap.rs`, `hw_queue/range.rs`) builds on them with safe code, but
//! for the `#[export]`ed entry points that C calls.
//!
//! # Bindings
//!
//! iommufd's internal structures are only declared in its private header, which
//! `rust/bindings/bindings_helper.h` includes when `CONFIG_IOMMUFD_HW_QUEUE_RUST` is set, as it
//! includes binder's own headers and the driver core's private `drivers/base/base.h`: kbuild runs
//! bindgen for the `bindings` crate only. The alternative, a C shim with an accessor per field and
//! a wrapper per function, would restate a dozen structures by hand and drift from them; bindgen
//! reads the header as it is, and `#[export]` makes the compiler check every function that C
//! calls in Rust against the C prototype. The few static inline functions needed are wrapped in
//! `rust/helpers/iommufd_private.c`.

#[path = "iommufd/access.rs"]
pub(crate) mod access;
#[path = "iommufd/ctx.rs"]
pub(crate) mod ctx;
#[path = "iommufd/hw_queue.rs"]
pub(crate) mod hw_queue;
#[path = "iommufd/mmap.rs"]
pub(crate) mod mmap;
#[path = "iommufd/object.rs"]
pub(crate) mod object;
#[path = "iommufd/ucmd.rs"]
pub(crate) mod ucmd;
#[path = "iommufd/viommu.rs"]
pub(crate) mod viommu;

pub(crate) use self::{
    access::PageSpan,
    ctx::Ctx,
    hw_queue::destroy_hw_queue,
    ucmd::{
        Responded,
        Ucmd, //
    },
    viommu::Viommu,
};
