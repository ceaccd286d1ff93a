// SPDX-License-Identifier: GPL-2.0

//! An iommufd ioctl in progress, `struct iommufd_ucmd`.

use super::{
    hw_queue::{
        InitHwQueue,
        NewHwQueue, //
    },
    object::ObjectRef,
    viommu::{
        HwQueueOps,
        Viommu, //
    },
};
use core::{
    marker::PhantomData,
    mem::size_of,
    ptr::NonNull,
    sync::atomic::{
        AtomicBool,
        Ordering, //
    },
};
use kernel::{
    bindings,
    error::{
        from_err_ptr,
        to_result, //
    },
    prelude::*,
};

/// The command structure of an iommufd ioctl.
///
/// # Safety
///
/// Implementors must be the uAPI structure that the iommufd core copies in from user space for
/// one ioctl, so that a handler of that ioctl finds one in its `struct iommufd_ucmd`.
pub(crate) unsafe trait Command {}

// SAFETY: `struct iommu_hw_queue_alloc` is the command of `IOMMU_HW_QUEUE_ALLOC`.
unsafe impl Command for bindings::iommu_hw_queue_alloc {}

/// An iommufd ioctl in progress, carrying a command of type `T`.
///
/// # Invariants
///
/// `ucmd` points to the `struct iommufd_ucmd` that the iommufd ioctl dispatcher passed to the
/// handler of the ioctl whose command is `T`; its `cmd` points to a `T` and its `ictx` to the
/// file's context. Both stay valid and are used only by this handler for `'a`.
pub(crate) struct Ucmd<'a, T: Command> {
    ucmd: NonNull<bindings::iommufd_ucmd>,
    _p: PhantomData<&'a mut T>,
}

impl<'a, T: Command> Ucmd<'a, T> {
    /// Wraps the command the iommufd core passed to an ioctl handler.
    ///
    /// # Safety
    ///
    /// `ucmd` must be the `struct iommufd_ucmd` the iommufd ioctl dispatcher passed to the
    /// handler of the ioctl whose command is `T`, and the handler must not use it other than
    /// through the returned value for `'a`, which must end before the handler returns.
    #[inline]
    pub(crate) unsafe fn from_raw(ucmd: *mut bindings::iommufd_ucmd) -> Self {
        // INVARIANT: As the caller guarantees.
        Self {
            // SAFETY: The dispatcher never passes a null `ucmd`.
            ucmd: unsafe { NonNull::new_unchecked(ucmd) },
            _p: PhantomData,
        }
    }

    /// The command copied in from user space; what a handler changes is copied back by
    /// [`Ucmd::respond_hw_queue`].
    #[inline]
    pub(crate) fn cmd(&mut self) -> &mut T {
        // SAFETY: By the type invariants `cmd` points to a `T` only this handler uses, and the
        // `&mut self` borrow makes the reference unique.
        unsafe { &mut *(*self.ucmd.as_ptr()).cmd.cast::<T>() }
    }

    #[inline]
    fn ictx(&self) -> *mut bindings::iommufd_ctx {
        // SAFETY: By the type invariants `ucmd` is valid.
        unsafe { (*self.ucmd.as_ptr()).ictx }
    }

    /// Looks up a vIOMMU by its object ID and holds it until the returned reference is dropped.
    ///
    /// Fails with `ENOENT` when no vIOMMU has that ID.
    #[inline]
    pub(crate) fn get_viommu(&self, id: u32) -> Result<ObjectRef<'a, Viommu>> {
        let ictx = self.ictx();
        // SAFETY: `ictx` is the valid context of this ioctl (type invariants).
        let obj = from_err_ptr(unsafe {
            bindings::iommufd_get_object(ictx, id, bindings::iommufd_object_type_IOMMUFD_OBJ_VIOMMU)
        })?;
        // SAFETY: `iommufd_get_object` returned a vIOMMU of the context of this ioctl, which
        // outlives `'a`, with the references `ObjectRef` puts; `obj` is the first member of
        // `struct iommufd_viommu`.
        Ok(unsafe { ObjectRef::from_raw(ictx, obj.cast()) })
    }

    /// Allocates the HW queue object of this ioctl, for a queue of type `queue_type` (a value of
    /// `enum iommu_hw_queue_type`) on the vIOMMU whose HW queue operations are `ops`.
    ///
    /// The object has the size the driver gives for the type: the core part
    /// `struct iommufd_hw_queue` first, the driver's part after it. Fails with `EOPNOTSUPP` if the
    /// driver does not support the type, and, after a warning, if the size it gives cannot hold
    /// the core part: that is a driver bug.
    ///
    /// The object belongs to the ioctl: the core publishes it if the handler succeeds, and
    /// destroys it through [`destroy_hw_queue`] if the handler fails. An ioctl allocates one:
    /// a second call fails with `EBUSY`.
    ///
    /// [`destroy_hw_queue`]: super::destroy_hw_queue
    pub(crate) fn alloc_hw_queue<'v>(
        &mut self,
        ops: &HwQueueOps<'v>,
        queue_type: u32,
    ) -> Result<NewHwQueue<'a, 'v>> {
        static WARNED: AtomicBool = AtomicBool::new(false);

        // An ioctl allocates one object: a second one would be a bug that iommufd warns about.
        // SAFETY: `ucmd` is valid (type invariants).
        if !unsafe { (*self.ucmd.as_ptr()).new_obj }.is_null() {
            return Err(EBUSY);
        }
        let size = ops.queue_size(queue_type);
        if size == 0 {
            return Err(EOPNOTSUPP);
        }
        if size < size_of::<bindings::iommufd_hw_queue>() {
            if !WARNED.swap(true, Ordering::Relaxed) {
                kernel::warn_on!(true);
            }
            return Err(EOPNOTSUPP);
        }
        // SAFETY: `ucmd` is valid (type invariants); the core zero-fills the object.
        let obj = from_err_ptr(unsafe {
            bindings::_iommufd_object_alloc_ucmd(
                self.ucmd.as_ptr(),
                size,
                bindings::iommufd_object_type_IOMMUFD_OBJ_HW_QUEUE,
            )
        })?;
        // SAFETY: A zero-filled `struct iommufd_hw_queue` of the size `ops` give for the type,
        // owned by this ioctl; `obj` is its first member.
        Ok(unsafe { NewHwQueue::from_raw(obj.cast(), ops, queue_type) })
    }

    /// Copies the command back to user space, up to the size user space gave.
    #[inline]
    fn respond(&mut self) -> Result<Responded> {
        // SAFETY: `ucmd` is valid and its `cmd` holds a `T` (type invariants).
        to_result(unsafe { bindings::iommufd_ucmd_respond(self.ucmd.as_ptr(), size_of::<T>()) })?;
        Ok(Responded(()))
    }
}

impl Ucmd<'_, bindings::iommu_hw_queue_alloc> {
    /// Completes `IOMMU_HW_QUEUE_ALLOC` with `queue`, which its driver initialized: reports its
    /// ID and copies the command back to user space. The core then publishes the queue, or
    /// destroys it if this fails.
    #[inline]
    pub(crate) fn respond_hw_queue(&mut self, queue: InitHwQueue) -> Result<Responded> {
        self.cmd().out_hw_queue_id = queue.id();
        self.respond()
    }
}

/// What a handler returns to succeed: it responded to user space.
pub(crate) struct Responded(());
