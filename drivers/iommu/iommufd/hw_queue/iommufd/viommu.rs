// SPDX-License-Identifier: GPL-2.0

//! The vIOMMU, `struct iommufd_viommu`, and its driver's HW queue operations.

use super::object::Object;
use kernel::{
    bindings,
    prelude::*,
    types::Opaque, //
};

/// A vIOMMU, `struct iommufd_viommu`.
#[repr(transparent)]
pub(crate) struct Viommu(Opaque<bindings::iommufd_viommu>);

// SAFETY: `Viommu` wraps `struct iommufd_viommu`, whose first member is `obj`.
unsafe impl Object for Viommu {}

/// The driver operation that initializes a HW queue.
pub(super) type InitPhys =
    unsafe extern "C" fn(*mut bindings::iommufd_hw_queue, u32, bindings::phys_addr_t) -> c_int;

impl Viommu {
    #[inline]
    pub(super) fn raw(&self) -> *mut bindings::iommufd_viommu {
        self.0.get()
    }

    /// The driver's HW queue operations, if the driver has both of them.
    #[inline]
    pub(crate) fn hw_queue_ops(&self) -> Option<HwQueueOps<'_>> {
        // SAFETY: A live vIOMMU has a valid (or null) `ops` that does not change.
        let ops = unsafe { (*self.raw()).ops };
        if ops.is_null() {
            return None;
        }
        // SAFETY: `ops` is non-null, hence valid for the vIOMMU's life.
        let ops = unsafe { &*ops };
        // INVARIANT: Both operations of the vIOMMU's driver, checked present.
        Some(HwQueueOps {
            viommu: self,
            get_size: ops.get_hw_queue_size?,
            init_phys: ops.hw_queue_init_phys?,
        })
    }
}

/// The HW queue operations of a vIOMMU's driver.
///
/// # Invariants
///
/// `get_size` and `init_phys` are the `get_hw_queue_size` and `hw_queue_init_phys` operations
/// of `viommu`'s driver.
pub(crate) struct HwQueueOps<'a> {
    viommu: &'a Viommu,
    get_size:
        unsafe extern "C" fn(*mut bindings::iommufd_viommu, bindings::iommu_hw_queue_type) -> usize,
    init_phys: InitPhys,
}

impl<'a> HwQueueOps<'a> {
    /// The size of the driver's HW queue structure for queues of type `queue_type` (a value of
    /// `enum iommu_hw_queue_type`), or 0 if the driver does not support that type.
    #[inline]
    pub(crate) fn queue_size(&self, queue_type: u32) -> usize {
        // SAFETY: A driver operation called with its live vIOMMU (type invariants).
        unsafe { (self.get_size)(self.viommu.raw(), bindings::iommu_hw_queue_type(queue_type)) }
    }

    /// The vIOMMU the operations belong to.
    #[inline]
    pub(super) fn viommu(&self) -> &'a Viommu {
        self.viommu
    }

    /// The driver's `hw_queue_init_phys` operation.
    #[inline]
    pub(super) fn init_phys(&self) -> InitPhys {
        self.init_phys
    }
}
