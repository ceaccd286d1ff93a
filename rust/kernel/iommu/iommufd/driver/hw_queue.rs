// SPDX-License-Identifier: GPL-2.0

//! HW queues: queues in guest memory that the IOMMU hardware reads directly.

use super::viommu::{
    Driver,
    Viommu, //
};
use crate::{
    bindings,
    error::to_result,
    io::PhysAddr,
    new_spinlock,
    prelude::*,
    sync::{
        Arc,
        SpinLock, //
    },
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
    memory: Option<QueueMemory>,
    data: Q,
}

/// The guest memory of a HW queue, as the hardware reads it: physically contiguous and pinned by
/// iommufd from the queue's initialization to its destruction.
///
/// The memory is revoked when the queue is destroyed, before iommufd unpins it: reads then fail
/// with `ENODEV`, wherever the value has been kept.
#[derive(Clone)]
pub struct QueueMemory(Arc<SpinLock<Option<Mapping>>>);

/// The kernel mapping of a queue's memory.
///
/// # Invariants
///
/// `[addr, addr + len)` is pinned guest memory in the kernel's direct map, 8-byte aligned.
struct Mapping {
    addr: NonNull<u8>,
    len: usize,
}

// SAFETY: The mapping is an address of memory that any thread may read.
unsafe impl Send for Mapping {}

impl QueueMemory {
    /// Reads `out.len()` little-endian 64-bit words from byte `offset` of the queue.
    ///
    /// Fails with `EINVAL` when they are not all within the queue or `offset` is not 8-byte
    /// aligned, and with `ENODEV` once the queue is destroyed.
    pub fn read_u64s(&self, offset: usize, out: &mut [u64]) -> Result {
        let mapping = self.0.lock();
        let mapping = mapping.as_ref().ok_or(ENODEV)?;
        let end = out
            .len()
            .checked_mul(8)
            .and_then(|bytes| bytes.checked_add(offset))
            .ok_or(EINVAL)?;
        if end > mapping.len || offset % 8 != 0 {
            return Err(EINVAL);
        }
        for (i, word) in out.iter_mut().enumerate() {
            // SAFETY: Within the mapping and aligned (checked above), which stays valid while the
            // lock is held, as revoking takes it. The guest may write the memory at any time,
            // hence the volatile read.
            *word = u64::from_le(unsafe {
                core::ptr::read_volatile(mapping.addr.as_ptr().add(offset + 8 * i).cast::<u64>())
            });
        }
        Ok(())
    }

    /// The length of the queue's memory, in bytes.
    pub fn len(&self) -> usize {
        self.0.lock().as_ref().map_or(0, |m| m.len)
    }

    /// Whether the memory is empty, which it is once revoked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn revoke(&self) {
        *self.0.lock() = None;
    }
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
    base_pa: PhysAddr,
    depends_on: Option<NonNull<bindings::iommufd_hw_queue>>,
    memory: Option<QueueMemory>,
}

impl<T: Driver> HwQueueInit<'_, T> {
    /// The length of the queue's memory, in bytes.
    pub fn length(&self) -> u64 {
        // SAFETY: `queue` is valid during init; iommufd set its length.
        unsafe { (*self.queue).length as u64 }
    }

    /// The queue's guest memory, for hardware that reads it ([`QueueMemory`]).
    ///
    /// Fails with `EOPNOTSUPP` on kernels with `CONFIG_HIGHMEM`, where pinned user pages need
    /// not be in the kernel's direct map, and with `EINVAL` for a base that is not 8-byte
    /// aligned.
    pub fn memory(&mut self) -> Result<QueueMemory> {
        if let Some(memory) = &self.memory {
            return Ok(memory.clone());
        }
        if cfg!(CONFIG_HIGHMEM) {
            return Err(EOPNOTSUPP);
        }
        let len = usize::try_from(self.length()).map_err(|_| EINVAL)?;
        if self.base_pa % 8 != 0 {
            return Err(EINVAL);
        }
        // SAFETY: iommufd pinned the queue's memory, physically contiguous RAM from `base_pa`,
        // for `len` bytes; without `CONFIG_HIGHMEM` (checked above) all RAM is in the direct
        // map.
        let addr = unsafe { bindings::phys_to_virt(self.base_pa) };
        // INVARIANT: Pinned until the queue's destruction, which revokes the mapping first.
        let mapping = Mapping {
            addr: NonNull::new(addr.cast()).ok_or(EINVAL)?,
            len,
        };
        let memory = QueueMemory(Arc::pin_init(new_spinlock!(Some(mapping)), GFP_KERNEL)?);
        self.memory = Some(memory.clone());
        Ok(memory)
    }

    /// Makes this queue depend on the queue `index` of the same vIOMMU: that one cannot be
    /// destroyed (`EBUSY`) until this one is. The dependency ends when this queue is destroyed,
    /// or at once if its initialization fails.
    ///
    /// Fails with `ENOENT` when no queue of that index is initialized, with `EBUSY` when it is
    /// in transition: its `IOMMU_HW_QUEUE_ALLOC` has not returned (and may still fail), or its
    /// destruction has begun; and with `EEXIST` when this queue depends on one already. The
    /// check is iommufd's own (`_iommufd_object_depend()`), so drivers in C and in Rust answer
    /// alike.
    pub fn depend_on(&mut self, index: u32) -> Result {
        if self.depends_on.is_some() {
            return Err(EEXIST);
        }
        let queues = self.viommu.queues.lock();
        let entry = queues.iter().find(|e| e.index == index).ok_or(ENOENT)?;
        // SAFETY: `self.queue` is valid during init and its vIOMMU is live; `entry.queue` is an
        // initialized queue of the same vIOMMU (type invariants of `QueueEntry`), not freed while
        // the registry's lock is held, as its destroy takes the lock first.
        to_result(unsafe {
            bindings::_iommufd_object_depend(
                (*(*self.queue).viommu).ictx,
                &raw mut (*self.queue).obj,
                &raw mut (*entry.queue.as_ptr()).obj,
            )
        })?;
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
    viommu: *mut bindings::iommufd_viommu,
    queue_type: bindings::iommu_hw_queue_type,
) -> usize {
    build_assert!(core::mem::align_of::<HwQueue<T::HwQueue>>() <= bindings::ARCH_KMALLOC_MINALIGN);
    // SAFETY: A live vIOMMU of driver `T` (contract).
    let viommu = unsafe { Viommu::<T>::from_raw(viommu) };
    if T::hw_queue_supported(viommu, queue_type.0) {
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
        base_pa: base_addr_pa,
        depends_on: None,
        memory: None,
    };
    let result = T::hw_queue_init(viommu, &mut init, index, base_addr_pa);
    let HwQueueInit {
        depends_on, memory, ..
    } = init;
    let data = match result {
        Ok(data) => data,
        Err(e) => {
            if let Some(memory) = memory {
                memory.revoke();
            }
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
        (&raw mut (*this).memory).write(memory);
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

/// Drops the driver's part of `queue`, then revokes its memory and drops its dependency.
///
/// # Safety
///
/// `queue` is initialized by [`init_callback`]; not in the registry; called once.
unsafe fn teardown<T: Driver>(queue: *mut bindings::iommufd_hw_queue) {
    let this = queue.cast::<HwQueue<T::HwQueue>>();
    // SAFETY: Every field is initialized (contract) and dropped once, here.
    unsafe {
        core::ptr::drop_in_place(&raw mut (*this).data);
        if let Some(memory) = (*this).memory.take() {
            memory.revoke();
        }
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
