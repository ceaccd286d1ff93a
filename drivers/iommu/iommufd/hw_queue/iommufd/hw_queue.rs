// SPDX-License-Identifier: GPL-2.0

//! A HW queue under construction, `struct iommufd_hw_queue`.
//!
//! `IOMMU_HW_QUEUE_ALLOC` builds a queue in three steps, each a type that only the previous
//! step returns, so that the driver's `hw_queue_init_phys` is called at most once, on an object
//! of the size the driver asked for, with the physical address of the guest memory that the
//! queue pins:
//!
//! 1. [`Ucmd::alloc_hw_queue`] allocates the object with the size the driver's
//!    [`HwQueueOps`] give for the queue type: a [`NewHwQueue`].
//! 2. [`NewHwQueue::pin`] pins the queue's guest memory on the vIOMMU's nesting parent, checks
//!    that it is physically contiguous and attaches it and the vIOMMU to the queue: a
//!    [`PinnedHwQueue`].
//! 3. [`PinnedHwQueue::init`] lets the driver initialize the queue at its index.
//!
//! [`Ucmd::alloc_hw_queue`]: super::Ucmd::alloc_hw_queue

use super::{
    access::{
        Pfns,
        PinnedAccess, //
    },
    viommu::{
        HwQueueOps,
        InitPhys,
        Viommu, //
    },
};
use core::{
    marker::PhantomData,
    ptr::NonNull, //
};
use kernel::{
    bindings,
    error::to_result,
    io::PhysAddr,
    page::{
        PAGE_SHIFT,
        PAGE_SIZE, //
    },
    prelude::*,
};

/// A HW queue object under construction, owned by the ioctl that allocated it.
///
/// # Invariants
///
/// `hwq` is a zero-filled `struct iommufd_hw_queue`, allocated by [`Ucmd::alloc_hw_queue`] with
/// the size that `viommu`'s driver gave for queues of type `queue_type`, and not yet published;
/// `init_phys` is that driver's `hw_queue_init_phys` operation.
///
/// [`Ucmd::alloc_hw_queue`]: super::Ucmd::alloc_hw_queue
pub(crate) struct NewHwQueue<'a, 'v> {
    hwq: NonNull<bindings::iommufd_hw_queue>,
    viommu: &'v Viommu,
    init_phys: InitPhys,
    queue_type: u32,
    _p: PhantomData<&'a mut bindings::iommufd_hw_queue>,
}

impl<'a, 'v> NewHwQueue<'a, 'v> {
    /// # Safety
    ///
    /// `hwq` must be a zero-filled HW queue object, just allocated by the ioctl that owns it for
    /// `'a` with the size that `ops` give for `queue_type`, and not yet published.
    #[inline]
    pub(super) unsafe fn from_raw(
        hwq: *mut bindings::iommufd_hw_queue,
        ops: &HwQueueOps<'v>,
        queue_type: u32,
    ) -> Self {
        // INVARIANT: As the caller guarantees; `ops` are the operations of their vIOMMU.
        Self {
            // SAFETY: A valid object is non-null.
            hwq: unsafe { NonNull::new_unchecked(hwq) },
            viommu: ops.viommu(),
            init_phys: ops.init_phys(),
            queue_type,
            _p: PhantomData,
        }
    }

    /// Pins the queue's guest memory, `[iova, iova + length)` of the vIOMMU's nesting parent
    /// IOAS, and hands it and a reference on the vIOMMU to the queue, both released when the
    /// queue is destroyed.
    ///
    /// Fails with what [`PinnedAccess::pin`] fails with, and with `EFAULT` if the pinned pages
    /// are not physically contiguous: the IOMMU reads the queue by physical address.
    pub(crate) fn pin(self, iova: u64, length: u64) -> Result<PinnedHwQueue<'a>> {
        let mut run = ContigRun::default();
        let pinned = PinnedAccess::pin(self.viommu, iova, length, |pfns: Pfns<'_>| {
            if run.extend(pfns) {
                Ok(())
            } else {
                Err(EFAULT)
            }
        })?;
        // `pin` pinned at least one page, since `length` is not zero; the queue starts at the
        // same offset in its first page as `iova` in its.
        let base_pa = (run.first().ok_or(EFAULT)? << PAGE_SHIFT) + iova % PAGE_SIZE as u64;

        let hwq = self.hwq.as_ptr();
        let viommu = self.viommu.raw();
        let (access, iova, length) = pinned.into_raw();
        // SAFETY: `hwq` is valid and not yet visible to anyone else (type invariants); `viommu`
        // is live while `self` borrows it. The `users` reference taken on the vIOMMU is put by
        // `destroy_hw_queue`, as is the access.
        unsafe {
            bindings::refcount_inc(&raw mut (*viommu).obj.users);
            (*hwq).viommu = viommu;
            (*hwq).access = access;
            (*hwq).base_addr = iova;
            (*hwq).length = length as usize;
            (*hwq).type_ = bindings::iommu_hw_queue_type(self.queue_type);
        }
        // INVARIANT: Just attached, by consuming the only handle on the queue, to guest memory
        // whose first byte is at `base_pa`.
        Ok(PinnedHwQueue {
            hwq: self.hwq,
            init_phys: self.init_phys,
            base_pa,
            _p: PhantomData,
        })
    }
}

/// A HW queue under construction that holds its guest memory and its vIOMMU.
///
/// # Invariants
///
/// As [`NewHwQueue`], and `viommu` and `access` were set by [`NewHwQueue::pin`] to a live
/// vIOMMU and to an access pinning the queue's guest memory, physically contiguous from
/// `base_pa`; `init_phys` is the `hw_queue_init_phys` operation of that vIOMMU's driver, not
/// called yet.
pub(crate) struct PinnedHwQueue<'a> {
    hwq: NonNull<bindings::iommufd_hw_queue>,
    init_phys: InitPhys,
    base_pa: PhysAddr,
    _p: PhantomData<&'a mut bindings::iommufd_hw_queue>,
}

impl PinnedHwQueue<'_> {
    /// Lets the driver initialize the queue at `index`, with the physical address of its first
    /// byte.
    ///
    /// The initialized queue is what the ioctl responds with ([`Ucmd::respond_hw_queue`]), so
    /// that a handler cannot succeed, and the core publish the queue, unless its driver
    /// accepted it.
    ///
    /// [`Ucmd::respond_hw_queue`]: super::Ucmd::respond_hw_queue
    #[inline]
    pub(crate) fn init(self, index: u32) -> Result<InitHwQueue> {
        let hwq = self.hwq.as_ptr();
        // SAFETY: The driver's own operation, called once, on a queue of the size it asked for,
        // attached to its vIOMMU and to guest memory at `base_pa` (type invariants).
        to_result(unsafe { (self.init_phys)(hwq, index, self.base_pa) })?;
        // SAFETY: `hwq` is valid (type invariants).
        let id = unsafe { (*hwq).obj.id };
        Ok(InitHwQueue { id })
    }
}

/// A HW queue that its driver initialized, which the ioctl publishes if it responds with it
/// ([`Ucmd::respond_hw_queue`]).
///
/// [`Ucmd::respond_hw_queue`]: super::Ucmd::respond_hw_queue
#[must_use = "the ioctl must respond with the queue, or fail"]
pub(crate) struct InitHwQueue {
    id: u32,
}

impl InitHwQueue {
    /// The object ID the queue has once published.
    #[inline]
    pub(crate) fn id(&self) -> u32 {
        self.id
    }
}

/// Tracks whether a sequence of page frame numbers is one ascending contiguous run.
#[derive(Debug, Default)]
struct ContigRun {
    first: Option<u64>,
    expected: u64,
}

impl ContigRun {
    /// Feeds the next page frame numbers, in order.
    ///
    /// Returns `false` as soon as one does not follow its predecessor.
    fn extend(&mut self, pfns: impl IntoIterator<Item = u64>) -> bool {
        for pfn in pfns {
            if self.first.is_none() {
                self.first = Some(pfn);
            } else if pfn != self.expected {
                return false;
            }
            self.expected = pfn.wrapping_add(1);
        }
        true
    }

    /// The first page frame number fed, if any.
    fn first(&self) -> Option<u64> {
        self.first
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
pub(crate) unsafe fn destroy_hw_queue(obj: *mut bindings::iommufd_object) {
    let hwq: *mut bindings::iommufd_hw_queue = obj.cast();
    // SAFETY: `obj` is the first member of a valid `struct iommufd_hw_queue` that only this
    // function uses (safety requirements).
    unsafe {
        if let Some(destroy) = (*hwq).destroy {
            destroy(hwq);
        }
        let viommu = (*hwq).viommu;
        if !(*hwq).access.is_null() {
            // `pin` stored these from a `PinnedAccess` of `viommu`, whose context it is.
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

#[cfg(CONFIG_KUNIT)]
#[kernel::macros::kunit_tests(rust_iommufd_hw_queue)]
mod tests {
    use super::*;

    #[test]
    fn contiguity() {
        let mut run = ContigRun::default();
        assert_eq!(run.first(), None);
        assert!(run.extend([7, 8, 9]));
        assert!(run.extend([10]));
        assert!(run.extend([]));
        assert_eq!(run.first(), Some(7));
        assert!(!run.extend([12]));

        // Descending is not contiguous.
        let mut run = ContigRun::default();
        assert!(!run.extend([5, 4]));

        // Repeated is not contiguous.
        let mut run = ContigRun::default();
        assert!(!run.extend([5, 5]));

        // A gap at a chunk boundary is caught.
        let mut run = ContigRun::default();
        assert!(run.extend([1, 2]));
        assert!(!run.extend([4, 5]));

        // A single page is always contiguous, even the last frame.
        let mut run = ContigRun::default();
        assert!(run.extend([u64::MAX]));
        assert_eq!(run.first(), Some(u64::MAX));
    }
}
