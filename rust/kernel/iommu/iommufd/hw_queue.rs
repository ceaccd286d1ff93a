// SPDX-License-Identifier: GPL-2.0

//! A HW queue under construction, `struct iommufd_hw_queue`.

use super::{
    access::PinnedAccess,
    viommu::{
        HwQueueOps,
        InitPhys, //
    },
};
use crate::{
    bindings,
    error::to_result,
    io::PhysAddr,
    prelude::*, //
};
use core::{
    marker::PhantomData,
    ptr::NonNull, //
};

/// A HW queue object under construction, owned by the ioctl that allocated it.
///
/// # Invariants
///
/// `hwq` is a zero-filled `struct iommufd_hw_queue` of at least its own size, allocated by
/// [`Ucmd::alloc_hw_queue`] and not yet published.
///
/// [`Ucmd::alloc_hw_queue`]: super::Ucmd::alloc_hw_queue
pub struct NewHwQueue<'a> {
    hwq: NonNull<bindings::iommufd_hw_queue>,
    _p: PhantomData<&'a mut bindings::iommufd_hw_queue>,
}

impl<'a> NewHwQueue<'a> {
    /// # Safety
    ///
    /// `hwq` must be a zero-filled HW queue object of at least its own size, just allocated by
    /// the ioctl that owns it for `'a`, and not yet published.
    #[inline]
    pub(super) unsafe fn from_raw(hwq: *mut bindings::iommufd_hw_queue) -> Self {
        // INVARIANT: As the caller guarantees.
        Self {
            // SAFETY: A valid object is non-null.
            hwq: unsafe { NonNull::new_unchecked(hwq) },
            _p: PhantomData,
        }
    }

    /// Hands the queue its guest memory and a reference on the vIOMMU that `ops` belong to, both
    /// released when the queue is destroyed, and records the queue's type.
    ///
    /// `ops` are the operations the queue is initialized with ([`AttachedHwQueue::init_phys`]),
    /// so a queue can only be attached to a vIOMMU whose driver has them.
    pub fn attach(
        self,
        ops: &HwQueueOps<'_>,
        pinned: PinnedAccess,
        queue_type: u32,
    ) -> AttachedHwQueue<'a> {
        let hwq = self.hwq.as_ptr();
        let viommu = ops.viommu().raw();
        let (access, iova, length) = pinned.into_raw();
        // SAFETY: `hwq` is valid and not yet visible to anyone else (type invariants); `viommu`
        // is live while `ops` borrows it. The `users` reference taken on the vIOMMU is put by
        // `destroy_hw_queue`.
        unsafe {
            bindings::refcount_inc(&raw mut (*viommu).obj.users);
            (*hwq).viommu = viommu;
            (*hwq).access = access;
            (*hwq).base_addr = iova;
            (*hwq).length = length as usize;
            (*hwq).type_ = bindings::iommu_hw_queue_type(queue_type);
        }
        // INVARIANT: Just attached to the vIOMMU of `ops`, by consuming the only handle on the
        // queue.
        AttachedHwQueue {
            hwq: self.hwq,
            init_phys: ops.init_phys(),
            _p: PhantomData,
        }
    }
}

/// A HW queue under construction that holds its guest memory and its vIOMMU.
///
/// # Invariants
///
/// As [`NewHwQueue`], and `viommu` and `access` were set by [`NewHwQueue::attach`] to a live
/// vIOMMU and to a pinned access; `init_phys` is the `hw_queue_init_phys` operation of that
/// vIOMMU's driver.
pub struct AttachedHwQueue<'a> {
    hwq: NonNull<bindings::iommufd_hw_queue>,
    init_phys: InitPhys,
    _p: PhantomData<&'a mut bindings::iommufd_hw_queue>,
}

impl AttachedHwQueue<'_> {
    /// Lets the driver initialize the queue with its `index` and the physical address of its
    /// first byte.
    #[inline]
    pub fn init_phys(&mut self, index: u32, base_pa: PhysAddr) -> Result {
        // SAFETY: The driver's own operation, called on a queue attached to its vIOMMU (type
        // invariants).
        to_result(unsafe { (self.init_phys)(self.hwq.as_ptr(), index, base_pa) })
    }

    /// The object ID that the queue will have once published.
    #[inline]
    pub fn id(&self) -> u32 {
        // SAFETY: `hwq` is valid (type invariants).
        unsafe { (*self.hwq.as_ptr()).obj.id }
    }
}

/// Destroys the core part of a HW queue: the driver's part first, then the pinned guest memory,
/// then the reference on the vIOMMU.
///
/// # Safety
///
/// `obj` must be an `IOMMUFD_OBJ_HW_QUEUE` object allocated by [`Ucmd::alloc_hw_queue`] that the
/// iommufd core is destroying, so nobody else uses it, and this must be called once for it.
///
/// [`Ucmd::alloc_hw_queue`]: super::Ucmd::alloc_hw_queue
pub unsafe fn destroy_hw_queue(obj: *mut bindings::iommufd_object) {
    let hwq: *mut bindings::iommufd_hw_queue = obj.cast();
    // SAFETY: `obj` is the first member of a valid `struct iommufd_hw_queue` that only this
    // function uses (safety requirements).
    unsafe {
        if let Some(destroy) = (*hwq).destroy {
            destroy(hwq);
        }
        let viommu = (*hwq).viommu;
        if !(*hwq).access.is_null() {
            // `attach` stored these from a `PinnedAccess` of `viommu`, whose context it is.
            drop(PinnedAccess::from_raw(
                (*viommu).ictx,
                (*hwq).access,
                (*hwq).base_addr,
                (*hwq).length as u64,
            ));
        }
        if !viommu.is_null() {
            bindings::refcount_dec(&raw mut (*viommu).obj.users);
        }
    }
}
