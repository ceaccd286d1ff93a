// SPDX-License-Identifier: GPL-2.0

//! The driver side of iommufd: what an IOMMU driver implements to offer vIOMMUs to user space.
//!
//! C header: [`include/linux/iommufd.h`](srctree/include/linux/iommufd.h).
//!
//! A vIOMMU driver implements [`Driver`] for the driver-private part of its vIOMMUs. iommufd
//! allocates each vIOMMU at the size of [`Viommu<T>`], whose first field is the C
//! `struct iommufd_viommu`, and calls the driver through an operations table built from the
//! trait; the objects the vIOMMU then creates are laid out the same way: [`VDevice<D>`],
//! [`HwQueue<Q>`] and [`NestedDomain<N>`]. Each part is created by the driver's `init` method and
//! dropped in place when iommufd destroys the object, so releasing hardware resources is the
//! `Drop` of what the driver stored, and nothing is released twice or never.
//!
//! What a driver acquires from iommufd is released by the abstractions, in the order iommufd
//! requires:
//!
//! - an MMIO region handed to user space for `mmap()` ([`ViommuInit::alloc_mmap`]) is removed
//!   when the vIOMMU is destroyed, and the memory behind it is kept until then;
//! - a dependency of a HW queue on another ([`HwQueueInit::depend_on`]) is dropped when the
//!   dependent queue is destroyed.
//!
//! What a driver's hardware keeps using outside iommufd's calls is revoked instead, so that it
//! cannot outlive what it refers to wherever the driver keeps it:
//!
//! - a HW queue's guest memory ([`HwQueueInit::memory`], [`QueueMemory`]), revoked when the queue
//!   is destroyed, before iommufd unpins it;
//! - vEVENTQ reports ([`Viommu::events`], [`EventReporter`]), revoked when the vIOMMU is
//!   destroyed.
//!
//! - [`viommu`]: [`Driver`], [`Viommu`], [`ViommuInit`] and the operations table;
//! - [`vdevice`]: [`VDevice`], a device as the vIOMMU knows it;
//! - [`hw_queue`]: [`HwQueue`] and [`HwQueueInit`];
//! - [`nested`]: [`NestedDomain`], a domain nested in the vIOMMU's parent;
//! - [`user_data`]: the driver-specific structures user space passes in and gets back;
//! - [`mmap`]: memory a vIOMMU hands to user space;
//! - [`mock`]: a backend for the iommufd selftest's mock devices (`CONFIG_IOMMUFD_TEST`).

pub mod hw_queue;
pub mod mmap;
#[cfg(CONFIG_IOMMUFD_TEST)]
pub mod mock;
pub mod nested;
pub mod user_data;
pub mod vdevice;
pub mod viommu;

pub use self::{
    hw_queue::{
        HwQueue,
        HwQueueInit,
        QueueMemory, //
    },
    mmap::{
        MmapMemory,
        MmapOffset,
        MmapType, //
    },
    nested::{
        Attach,
        NestedDomain,
        NestedOps, //
    },
    user_data::{
        UserData,
        UserDataArray, //
    },
    vdevice::{
        VDevice,
        VDeviceInfo, //
    },
    viommu::{
        Driver,
        EventReporter,
        Viommu,
        ViommuInit, //
    },
};
