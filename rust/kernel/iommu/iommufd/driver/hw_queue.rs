// SPDX-License-Identifier: GPL-2.0

//! HW queues: queues in guest memory that the IOMMU hardware reads directly.

use super::viommu::{
    Driver,
    Viommu, //
};
use crate::{
    bindings,
    prelude::*,
    types::Opaque, //
};
use core::{
    mem::size_of,
    ops::Deref,
    ptr::NonNull, //
};

/// A HW queue with the driver's part `Q`: `struct iommufd_hw_queue`, then what the abstractions
/// keep, then `Q`.
///
/// # Invariants
///
/// `core` is an initialized HW queue of a [`Viommu`] whose driver's `HwQueue` is `Q`; the other
/// fields are initialized while `core.destroy` is set. `depends_on`, if any, is a HW queue of
/// the same vIOMMU on which `core` holds a `users` reference.
#[repr(C)]
pub struct HwQueue<Q> {
    core: Opaque<bindings::iommufd_hw_queue>,
    depends_on: Option<NonNull<bindings::iommufd_hw_queue>>,
    data: Q,
}

impl<Q> Deref for HwQueue<Q> {
    type Target = Q;

    fn deref(&self) -> &Q {
        &self.data
    }
}

/// A live HW queue of a vIOMMU, by its index, in [`Viommu`]'s registry.
///
/// # Invariants
///
/// `queue` is initialized by [`init_callback`] and not destroyed yet.
pub(super) struct QueueEntry {
    index: u32,
    queue: NonNull<bindings::iommufd_hw_queue>,
}

// SAFETY: The entry is an address; iommufd objects may be used from any thread.
unsafe impl Send for QueueEntry {}

/// A HW queue being initialized by its driver ([`Driver::hw_queue_init`]).
pub struct HwQueueInit<'a, T: Driver> {
    viommu: &'a Viommu<T>,
    queue: *mut bindings::iommufd_hw_queue,
    depends_on: Option<NonNull<bindings::iommufd_hw_queue>>,
}

impl<T: Driver> HwQueueInit<'_, T> {
    /// The length of the queue's memory, in bytes.
    pub fn length(&self) -> u64 {
        // SAFETY: `queue` is valid during init; iommufd set its length.
        unsafe { (*self.queue).length as u64 }
    }

    /// Makes this queue depend on the live queue `index` of the same vIOMMU: that one cannot be
    /// destroyed (`EBUSY`) until this one is. The dependency ends when this queue is destroyed,
    /// or at once if its initialization fails.
    ///
    /// Fails with `ENOENT` when no live queue has that index, and with `EEXIST` when this queue
    /// depends on one already. A queue is live from the return of its driver's
    /// [`Driver::hw_queue_init`] to the start of its destruction, when iommufd has removed it
    /// from user space's reach and dropped its last user.
    pub fn depend_on(&mut self, index: u32) -> Result {
        if self.depends_on.is_some() {
            return Err(EEXIST);
        }
        let queues = self.viommu.queues.lock();
        let entry = queues.iter().find(|e| e.index == index).ok_or(ENOENT)?;
        // A queue removed from the object table but not destroyed yet has no users left: take a
        // reference only on one that has, under the registry's lock, which its destroy takes
        // before it is freed.
        // SAFETY: `entry.queue` is live (type invariants of `QueueEntry`).
        let users = unsafe { &raw mut (*entry.queue.as_ptr()).obj.users };
        // SAFETY: `users` is the valid reference count of a live object.
        if !unsafe { bindings::refcount_inc_not_zero(users) } {
            return Err(ENOENT);
        }
        self.depends_on = Some(entry.queue);
        Ok(())
    }
}

/// Drops a dependency of `queue` on `depended`.
///
/// # Safety
///
/// `queue` holds a `users` reference on `depended`, both HW queues of one vIOMMU.
unsafe fn undepend(
    queue: *mut bindings::iommufd_hw_queue,
    depended: *mut bindings::iommufd_hw_queue,
) {
    // SAFETY: Per the contract.
    unsafe { bindings::_iommufd_object_undepend(&raw mut (*queue).obj, &raw mut (*depended).obj) };
}

/// The `get_hw_queue_size` operation.
///
/// # Safety
///
/// Called by iommufd with a live vIOMMU of driver `T`.
pub(super) unsafe extern "C" fn size_callback<T: Driver>(
    _viommu: *mut bindings::iommufd_viommu,
    queue_type: bindings::iommu_hw_queue_type,
) -> usize {
    build_assert!(core::mem::align_of::<HwQueue<T::HwQueue>>() <= bindings::ARCH_KMALLOC_MINALIGN);
    if T::hw_queue_supported(queue_type.0) {
        size_of::<HwQueue<T::HwQueue>>()
    } else {
        0
    }
}

/// The `hw_queue_init_phys` operation.
///
/// # Safety
///
/// Called by iommufd with a HW queue allocated at [`size_callback`]'s size, whose core part is
/// initialized and whose memory is pinned, physically contiguous from `base_addr_pa`, on a live
/// vIOMMU of driver `T`.
pub(super) unsafe extern "C" fn init_callback<T: Driver>(
    queue: *mut bindings::iommufd_hw_queue,
    index: u32,
    base_addr_pa: bindings::phys_addr_t,
) -> c_int {
    // SAFETY: The queue's vIOMMU is a live vIOMMU of `T` (contract).
    let viommu = unsafe { Viommu::<T>::from_raw((*queue).viommu) };
    let mut init = HwQueueInit {
        viommu,
        queue,
        depends_on: None,
    };
    let result = T::hw_queue_init(viommu, &mut init, index, base_addr_pa);
    let depends_on = init.depends_on;
    let data = match result {
        Ok(data) => data,
        Err(e) => {
            if let Some(depended) = depends_on {
                // SAFETY: `depend_on` took the reference.
                unsafe { undepend(queue, depended.as_ptr()) };
            }
            return e.to_errno();
        }
    };
    let this = queue.cast::<HwQueue<T::HwQueue>>();
    // SAFETY: `this` is allocated at the size of `HwQueue` (contract), `core` at its offset 0.
    unsafe {
        (&raw mut (*this).depends_on).write(depends_on);
        (&raw mut (*this).data).write(data);
    }
    let mut queues = viommu.queues.lock();
    // INVARIANT: The queue is initialized: it is live until its destroy removes the entry.
    let entry = QueueEntry {
        index,
        // SAFETY: iommufd passes a valid queue.
        queue: unsafe { NonNull::new_unchecked(queue) },
    };
    if let Err(e) = queues.push(entry, GFP_KERNEL) {
        drop(queues);
        // SAFETY: Initialized just now, not published: torn down as its destroy would.
        unsafe { teardown::<T>(queue) };
        return Error::from(e).to_errno();
    }
    // SAFETY: `queue` is valid; every field of `this` is initialized.
    unsafe { (*queue).destroy = Some(destroy_callback::<T>) };
    0
}

/// Drops the driver's part of `queue`, then its dependency.
///
/// # Safety
///
/// `queue` is initialized by [`init_callback`]; not in the registry; called once.
unsafe fn teardown<T: Driver>(queue: *mut bindings::iommufd_hw_queue) {
    let this = queue.cast::<HwQueue<T::HwQueue>>();
    // SAFETY: Every field is initialized (contract) and dropped once, here.
    unsafe {
        core::ptr::drop_in_place(&raw mut (*this).data);
        if let Some(depended) = (*this).depends_on {
            undepend(queue, depended.as_ptr());
        }
    }
}

/// # Safety
///
/// Called by iommufd, once, for a queue initialized by [`init_callback`].
unsafe extern "C" fn destroy_callback<T: Driver>(queue: *mut bindings::iommufd_hw_queue) {
    // SAFETY: The queue's vIOMMU outlives it.
    let viommu = unsafe { Viommu::<T>::from_raw((*queue).viommu) };
    viommu.queues.lock().retain(|e| e.queue.as_ptr() != queue);
    // SAFETY: Initialized (contract), out of the registry now.
    unsafe { teardown::<T>(queue) };
}
