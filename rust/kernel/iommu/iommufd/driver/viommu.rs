// SPDX-License-Identifier: GPL-2.0

//! vIOMMU drivers: [`Driver`] and the vIOMMU it is the private part of, [`Viommu`].

use super::{
    hw_queue::{
        self,
        HwQueueInit,
        QueueEntry, //
    },
    mmap::{
        MmapMemory,
        MmapOffset,
        MmapRegion, //
    },
    nested::{
        self,
        NestedOps, //
    },
    user_data::{
        UserData,
        UserDataArray, //
    },
    vdevice::{
        self,
        VDeviceInfo, //
    },
};
use crate::{
    bindings,
    device::Device,
    error::{
        to_result,
        VTABLE_DEFAULT_ERROR, //
    },
    io::PhysAddr,
    new_mutex,
    prelude::*,
    sync::{
        Arc,
        ArcBorrow,
        Mutex, //
    },
    transmute::AsBytes,
    types::Opaque,
};
use core::{
    mem::size_of,
    ops::Deref,
    ptr::NonNull, //
};

/// A vIOMMU driver, implemented by the driver-private part of its vIOMMUs.
///
/// iommufd allocates a vIOMMU of the driver's [`TYPE`](Driver::TYPE) as a [`Viommu<Self>`] and
/// calls [`Driver::init`] to fill in the driver's part; the part is dropped in place when the
/// vIOMMU is destroyed, after every object created on it (vDEVICEs, nested domains, HW queues)
/// has been. The optional operations give the vIOMMU the objects of the associated types.
#[vtable]
pub trait Driver: Sized + Send + Sync + 'static {
    /// The vIOMMU type served, a value of `enum iommu_viommu_type`.
    const TYPE: u32;

    /// Whether vIOMMUs of type `viommu_type` are served: [`Driver::TYPE`] only, unless the
    /// driver serves more types, which its operations tell apart with
    /// [`ViommuInit::viommu_type`] and [`Viommu::viommu_type`].
    fn serves(viommu_type: u32) -> bool {
        viommu_type == Self::TYPE
    }

    /// The driver's data of the physical IOMMU instance that vIOMMUs are created on.
    type Iommu: Send + Sync;

    /// The driver's part of a vDEVICE, dropped when the vDEVICE is destroyed.
    type VDevice: Send + Sync;

    /// The driver's part of a HW queue, dropped when the queue is destroyed.
    type HwQueue: Send + Sync;

    /// The driver's part of a nested domain, dropped when the domain is freed.
    type Nested: NestedOps;

    /// Initializes the driver's part of a vIOMMU on `iommu`, with the driver data user space
    /// passed (`None` when it passed none); the driver writes its answer into the same data.
    fn init(
        iommu: ArcBorrow<'_, Self::Iommu>,
        viommu: &mut ViommuInit<'_>,
        user_data: Option<&UserData>,
    ) -> Result<Self>;

    /// Initializes the driver's part of a vDEVICE of `viommu`.
    ///
    /// iommufd has checked that the device is behind the vIOMMU's IOMMU, has no other vDEVICE,
    /// and that no other vDEVICE of the vIOMMU has its virtual ID.
    fn vdevice_init(_viommu: &Viommu<Self>, _vdev: &VDeviceInfo<'_>) -> Result<Self::VDevice> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Whether HW queues of type `queue_type` (a value of `enum iommu_hw_queue_type`) are
    /// supported on `viommu`; [`Driver::hw_queue_init`] is called for those only, and iommufd
    /// refuses others with `EOPNOTSUPP`.
    fn hw_queue_supported(_viommu: &Viommu<Self>, _queue_type: u32) -> bool {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Initializes the driver's part of HW queue `index` of `viommu`, whose guest memory iommufd
    /// has pinned: it is physically contiguous from `base_pa`, for the queue's length.
    fn hw_queue_init(
        _viommu: &Viommu<Self>,
        _queue: &mut HwQueueInit<'_, Self>,
        _index: u32,
        _base_pa: PhysAddr,
    ) -> Result<Self::HwQueue> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Allocates a domain nested in the vIOMMU's parent, from `user_data`.
    ///
    /// iommufd has rejected unknown flags and empty data; `flags` are `IOMMU_HWPT_ALLOC_*`.
    fn alloc_domain_nested(
        _viommu: &Viommu<Self>,
        _flags: u32,
        _user_data: &UserData,
    ) -> Result<Self::Nested> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Executes the invalidation requests of `array`, reporting how many were handled.
    fn cache_invalidate(_viommu: &Viommu<Self>, _array: &mut UserDataArray) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// A vIOMMU of driver `T`: `struct iommufd_viommu`, then what the abstractions and the driver
/// keep for it.
///
/// # Invariants
///
/// `core` is an initialized vIOMMU whose `ops` are [`Viommu::<T>::ops`] (or, for a selftest
/// backend, a copy with another destroy that calls ours), allocated by iommufd at the size of
/// `Self` (`get_viommu_size`); all fields are initialized. `regions` are owned by `core`.
#[repr(C)]
pub struct Viommu<T: Driver> {
    core: Opaque<bindings::iommufd_viommu>,
    regions: KVec<MmapRegion>,
    events: EventReporter,
    pub(super) queues: Mutex<KVec<QueueEntry>>,
    data: T,
}

// SAFETY: iommufd objects may be used from any thread; `regions` are only touched at init and
// destroy, `queues` under their lock, and `T: Send + Sync`.
unsafe impl<T: Driver> Send for Viommu<T> {}
// SAFETY: As above.
unsafe impl<T: Driver> Sync for Viommu<T> {}

impl<T: Driver> Deref for Viommu<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.data
    }
}

impl<T: Driver> Viommu<T> {
    /// The vIOMMU operations of the driver.
    pub const fn ops() -> &'static bindings::iommufd_viommu_ops {
        &Self::VTABLE
    }

    const VTABLE: bindings::iommufd_viommu_ops = bindings::iommufd_viommu_ops {
        destroy: Some(Self::destroy_callback),
        alloc_domain_nested: if T::HAS_ALLOC_DOMAIN_NESTED {
            Some(nested::alloc_callback::<T>)
        } else {
            None
        },
        cache_invalidate: if T::HAS_CACHE_INVALIDATE {
            Some(Self::cache_invalidate_callback)
        } else {
            None
        },
        vdevice_size: if T::HAS_VDEVICE_INIT {
            vdevice::size::<T::VDevice>()
        } else {
            0
        },
        vdevice_init: if T::HAS_VDEVICE_INIT {
            Some(vdevice::init_callback::<T>)
        } else {
            None
        },
        get_hw_queue_size: if T::HAS_HW_QUEUE_INIT && T::HAS_HW_QUEUE_SUPPORTED {
            Some(hw_queue::size_callback::<T>)
        } else {
            None
        },
        hw_queue_init_phys: if T::HAS_HW_QUEUE_INIT && T::HAS_HW_QUEUE_SUPPORTED {
            Some(hw_queue::init_callback::<T>)
        } else {
            None
        },
    };

    /// The size iommufd allocates for a vIOMMU of type `viommu_type`, 0 for another type: the
    /// `get_viommu_size` operation of `struct iommu_ops`.
    pub fn size(viommu_type: u32) -> usize {
        // iommufd allocates with kzalloc(), which aligns to `ARCH_KMALLOC_MINALIGN` only.
        build_assert!(core::mem::align_of::<Self>() <= bindings::ARCH_KMALLOC_MINALIGN);
        if T::serves(viommu_type) {
            size_of::<Self>()
        } else {
            0
        }
    }

    /// The `viommu_init` operation of `struct iommu_ops`, on the instance `iommu`.
    ///
    /// # Safety
    ///
    /// Called by iommufd with a vIOMMU of a type `T` serves, allocated at [`Viommu::size`] and
    /// zeroed, not initialized yet; `user_data` is null or valid for the call.
    pub(super) unsafe fn init_raw(
        iommu: ArcBorrow<'_, T::Iommu>,
        viommu: *mut bindings::iommufd_viommu,
        user_data: *const bindings::iommu_user_data,
    ) -> c_int {
        // SAFETY: `viommu` is valid (contract).
        if !T::serves(unsafe { (*viommu).type_ }) {
            // The size came from another driver: upstream drivers WARN here.
            return EOPNOTSUPP.to_errno();
        }
        let user_data = if user_data.is_null() {
            None
        } else {
            // SAFETY: Non-null, hence valid for the call (contract).
            Some(unsafe { UserData::from_raw(user_data) })
        };
        let mut regions = KVec::new();
        let mut init = ViommuInit {
            viommu,
            regions: &mut regions,
        };
        // On failure `regions` is dropped here, which removes what the driver registered.
        let data = match T::init(iommu, &mut init, user_data) {
            Ok(data) => data,
            Err(e) => return e.to_errno(),
        };
        let events = match EventReporter::new(viommu) {
            Ok(events) => events,
            Err(e) => return e.to_errno(),
        };
        let this = viommu.cast::<Self>();
        let queues = new_mutex!(KVec::new());
        // SAFETY: `this` is allocated at the size of `Self` (contract) and not yet initialized;
        // `core` is at offset 0 (`repr(C)`). The memory is never moved: pinning holds.
        unsafe {
            (&raw mut (*this).regions).write(regions);
            (&raw mut (*this).events).write(events);
            match queues.__pinned_init(&raw mut (*this).queues) {
                Ok(()) => {}
                Err(e) => match e {},
            }
            (&raw mut (*this).data).write(data);
            // INVARIANT: Every field is initialized; the operations are set last, so that a
            // failed init is never destroyed.
            (*viommu).ops = Self::ops();
        }
        0
    }

    /// # Safety
    ///
    /// Called by iommufd, once, for a vIOMMU initialized by [`Viommu::init_raw`], after
    /// every object on it is destroyed and before it is freed.
    unsafe extern "C" fn destroy_callback(viommu: *mut bindings::iommufd_viommu) {
        let this = viommu.cast::<Self>();
        // SAFETY: Every field is initialized (type invariants) and dropped once, here; events
        // are revoked first, so that none is reported on a vIOMMU being destroyed.
        unsafe {
            (*this).events.revoke();
            core::ptr::drop_in_place(&raw mut (*this).events);
            core::ptr::drop_in_place(&raw mut (*this).regions);
            core::ptr::drop_in_place(&raw mut (*this).data);
            core::ptr::drop_in_place(&raw mut (*this).queues);
        }
    }

    /// # Safety
    ///
    /// Called by iommufd with a live vIOMMU of this driver and a valid array.
    unsafe extern "C" fn cache_invalidate_callback(
        viommu: *mut bindings::iommufd_viommu,
        array: *mut bindings::iommu_user_data_array,
    ) -> c_int {
        // SAFETY: A live, initialized vIOMMU of this driver (contract).
        let this = unsafe { Self::from_raw(viommu) };
        // SAFETY: Valid for the call (contract).
        let array = unsafe { UserDataArray::from_raw(array) };
        match T::cache_invalidate(this, array) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }

    /// # Safety
    ///
    /// `viommu` is a live vIOMMU of this driver, initialized by [`Viommu::init_raw`], for
    /// `'a`.
    pub(super) unsafe fn from_raw<'a>(viommu: *mut bindings::iommufd_viommu) -> &'a Self {
        // SAFETY: `core` is at offset 0 of `Self`, and the whole is initialized (contract).
        unsafe { &*viommu.cast::<Self>() }
    }

    /// A handle to report events on the vIOMMU from elsewhere, such as the driver's hardware.
    pub fn events(&self) -> EventReporter {
        self.events.clone()
    }

    /// Runs `f` on the device of the vIOMMU's vDEVICE whose virtual ID is `virt_id`, if there is
    /// one, as upstream drivers find a device by a guest's ID (`iommufd_viommu_find_dev()`).
    ///
    /// `f` runs under the spinlock of iommufd's table of vDEVICEs, which keeps the vDEVICE from
    /// going meanwhile: it must not sleep.
    pub fn with_vdevice_device<R>(&self, virt_id: u64, f: impl FnOnce(&Device) -> R) -> Option<R> {
        let virt_id = c_ulong::try_from(virt_id).ok()?;
        let viommu = self.core.get();
        // SAFETY: `core` is initialized (type invariants), so is its table of vDEVICEs.
        let vdevs = unsafe { &raw mut (*viommu).vdevs };
        // SAFETY: `vdevs` is a valid xarray; it is unlocked below.
        unsafe { bindings::xa_lock(vdevs) };
        // SAFETY: `viommu` is valid, with its table of vDEVICEs locked, as the function requires.
        let dev = unsafe { bindings::iommufd_viommu_find_dev(viommu, virt_id) };
        // SAFETY: A non-null result is the device of a vDEVICE, which stays while the table is
        // locked, so for the call of `f`.
        let result = (!dev.is_null()).then(|| f(unsafe { Device::from_raw(dev) }));
        // SAFETY: Locked above.
        unsafe { bindings::xa_unlock(vdevs) };
        result
    }

    /// The vIOMMU's type, a value of `enum iommu_viommu_type` that the driver serves.
    pub fn viommu_type(&self) -> u32 {
        // SAFETY: `core` is initialized (type invariants); its type does not change.
        unsafe { (*self.core.get()).type_ }
    }
}

/// Reports events to the vEVENTQs of a vIOMMU, as long as it exists.
///
/// The handle is revoked when the vIOMMU is destroyed, after which reports fail with `ENODEV`,
/// wherever it has been kept.
#[derive(Clone)]
pub struct EventReporter(Arc<Mutex<Option<NonNull<bindings::iommufd_viommu>>>>);

// SAFETY: The vIOMMU is used under the lock, while it exists; iommufd objects may be used from any
// thread.
unsafe impl Send for EventReporter {}
// SAFETY: As above.
unsafe impl Sync for EventReporter {}

impl EventReporter {
    fn new(viommu: *mut bindings::iommufd_viommu) -> Result<Self> {
        Ok(Self(Arc::pin_init(
            new_mutex!(NonNull::new(viommu)),
            GFP_KERNEL,
        )?))
    }

    fn revoke(&self) {
        *self.0.lock() = None;
    }

    /// Reports an event of type `event_type` (a value of `enum iommu_veventq_type`) to the
    /// vEVENTQ of that type of the vIOMMU. An event has at least one byte: a zero-sized `E`
    /// does not build.
    ///
    /// Fails with `ENODEV` when the vIOMMU is gone, with `EOPNOTSUPP` when user space allocated
    /// no such vEVENTQ, and with `ENOMEM` (the vEVENTQ then counts the event as lost). It may
    /// sleep.
    pub fn report<E: AsBytes>(&self, event_type: u32, event: &E) -> Result {
        // iommufd warns about an empty event.
        const { assert!(size_of::<E>() > 0) };
        let viommu = self.0.lock();
        let viommu = viommu.ok_or(ENODEV)?;
        // SAFETY: The vIOMMU exists while the handle is not revoked, which takes the lock held
        // here; `event` is readable for its size and only copied.
        to_result(unsafe {
            bindings::iommufd_viommu_report_event(
                viommu.as_ptr(),
                event_type,
                core::ptr::from_ref(event).cast_mut().cast(),
                size_of::<E>(),
            )
        })
    }
}

/// A vIOMMU being initialized by its driver ([`Driver::init`]).
pub struct ViommuInit<'a> {
    viommu: *mut bindings::iommufd_viommu,
    regions: &'a mut KVec<MmapRegion>,
}

impl ViommuInit<'_> {
    /// The type of the vIOMMU being initialized, a value of `enum iommu_viommu_type` that the
    /// driver serves.
    pub fn viommu_type(&self) -> u32 {
        // SAFETY: `viommu` is valid while it is initialized, with its type set by iommufd.
        unsafe { (*self.viommu).type_ }
    }

    /// Registers `memory` for user space to `mmap()` at the returned offset, for the life of
    /// the vIOMMU, which keeps `memory` alive until then.
    pub fn alloc_mmap(&mut self, memory: Arc<dyn MmapMemory>) -> Result<MmapOffset> {
        self.regions.reserve(1, GFP_KERNEL)?;
        // SAFETY: `viommu` is being initialized; the region is kept in it (`init_raw`) and
        // dropped before it is freed (`destroy_callback`), or dropped on failure at once.
        let region = unsafe { MmapRegion::new(self.viommu, memory)? };
        let offset = region.offset();
        self.regions.push(region, GFP_KERNEL)?;
        Ok(offset)
    }
}
