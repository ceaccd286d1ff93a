// SPDX-License-Identifier: GPL-2.0

//! A backend for the iommufd selftest's mock devices.
//!
//! C header: [`iommufd_mock_backend.h`](srctree/drivers/iommu/iommufd/iommufd_mock_backend.h).
//!
//! The selftest's mock devices created with `MOCK_FLAGS_DEVICE_TEGRA241_CMDQV` present the
//! hardware of a backend module: their hardware information and their vIOMMUs come from the
//! registered [`Backend`]. Each of its vIOMMUs holds a reference on the module, so the module
//! cannot be unloaded while one exists.

use super::{
    nested::Attach,
    viommu::{
        Driver,
        Viommu, //
    },
};
use crate::{
    bindings,
    device::{
        Bound,
        Device, //
    },
    error::to_result,
    prelude::*,
    sync::{
        Arc,
        ArcBorrow, //
    },
    transmute::AsBytes,
    types::ForeignOwnable, //
};
use core::marker::PhantomData;

/// A vIOMMU driver serving the selftest's mock devices of its flavour.
pub trait Backend: Driver {
    /// What the backend keeps for a device of its own ([`add_device`]) while it is bound.
    type DeviceData: Send + Sync;

    /// The hardware information of `dev` of type `data_type` (a value of
    /// `enum iommu_hw_info_type`; `IOMMU_HW_INFO_TYPE_DEFAULT` asks for the default one).
    fn hw_info(iommu: ArcBorrow<'_, Self::Iommu>, dev: &Device, data_type: u32) -> Result<HwInfo>;

    /// Binds `dev`, a device the backend created with [`add_device`]. What it returns is
    /// dropped when the device is removed.
    fn probe(
        iommu: ArcBorrow<'_, Self::Iommu>,
        dev: &Device<Bound>,
    ) -> Result<Pin<KBox<Self::DeviceData>>>;
}

/// Creates a device of the flavour, bound to the registered backend's driver, whose
/// [`Backend::probe`] it calls.
///
/// The device lives until it is removed through the driver's sysfs attribute
/// (`/sys/bus/iommufd_mock/drivers/iommufd_mock_backend/remove`) or the backend's
/// [`Registration`] is dropped. Fails with `ENODEV` while no backend is registered, or with the
/// error of [`Backend::probe`].
pub fn add_device() -> Result {
    // SAFETY: No requirement.
    to_result(unsafe { bindings::iommufd_mock_backend_dev_add() })
}

/// Hardware information for `IOMMU_GET_HW_INFO`: a structure of `include/uapi/linux/iommufd.h`
/// and its type.
pub struct HwInfo {
    data: KVec<u8>,
    data_type: u32,
}

impl HwInfo {
    /// Information of type `data_type` (a value of `enum iommu_hw_info_type`).
    pub fn new<T: AsBytes>(data_type: u32, value: &T) -> Result<Self> {
        if core::mem::size_of::<T>() == 0 {
            return Err(EINVAL);
        }
        let mut data = KVec::new();
        data.extend_from_slice(value.as_bytes(), GFP_KERNEL)?;
        Ok(Self { data, data_type })
    }
}

/// The physical stream ID of a mock device of the backend's flavour.
///
/// Fails with `EINVAL` for any other device.
pub fn dev_sid(dev: &Device) -> Result<u32> {
    let mut sid = 0;
    // SAFETY: `dev` is a valid device.
    to_result(unsafe { bindings::iommufd_mock_dev_sid(dev.as_raw(), &mut sid) })?;
    Ok(sid)
}

/// Invalidates entries of the cache of a mock device of the backend's flavour, as
/// `IOMMU_TEST_OP_DEV_CHECK_CACHE` reads them: entry `id`, or all of them for `None`.
///
/// Fails with `EINVAL` for any other device, and for an entry past the last.
pub fn invalidate_cache(dev: &Device, id: Option<u32>) -> Result {
    // SAFETY: `dev` is a valid device.
    to_result(unsafe {
        bindings::iommufd_mock_dev_invalidate_cache(dev.as_raw(), id.unwrap_or(0), id.is_none())
    })
}

/// Entry `id` of the cache of a mock device of the backend's flavour: the device's ATC, as the
/// backend presents it.
///
/// Fails with `EINVAL` for any other device, and for an entry past the last.
pub fn cache_entry(dev: &Device, id: u32) -> Result<u32> {
    let mut value = 0;
    // SAFETY: `dev` is a valid device.
    to_result(unsafe { bindings::iommufd_mock_dev_cache_get(dev.as_raw(), id, &mut value) })?;
    Ok(value)
}

/// Sets entry `id` of the cache of a mock device of the backend's flavour to `value`, as the
/// device caching a translation would.
///
/// Fails with `EINVAL` for any other device, and for an entry past the last.
pub fn set_cache_entry(dev: &Device, id: u32, value: u32) -> Result {
    // SAFETY: `dev` is a valid device.
    to_result(unsafe { bindings::iommufd_mock_dev_cache_set(dev.as_raw(), id, value) })
}

/// Attaches a mock device of the backend's flavour to a nested domain of the backend, as the
/// selftest's mock keeps track of the domain of each of its devices.
///
/// Fails with `EINVAL` for any other device.
pub fn attach_nested(attach: &Attach<'_>) -> Result {
    // SAFETY: The pointers are valid for the attachment (type invariants of `Attach`).
    to_result(unsafe {
        bindings::iommufd_mock_attach_nested(attach.domain, attach.dev, attach.old)
    })
}

/// The registration of backend `T`, with its IOMMU instance, for the life of the value.
pub struct Registration<T: Backend> {
    table: &'static bindings::iommufd_mock_backend,
    _iommu: Arc<T::Iommu>,
    _p: PhantomData<T>,
}

// SAFETY: The table is immutable static data, whose callbacks may run on any thread; the
// instance is `Send + Sync` (`Driver::Iommu`).
unsafe impl<T: Backend> Send for Registration<T> {}
// SAFETY: As above; the registration has no method taking `&self`.
unsafe impl<T: Backend> Sync for Registration<T> {}

impl<T: Backend> Registration<T> {
    const TABLE: bindings::iommufd_mock_backend = bindings::iommufd_mock_backend {
        hw_info: Some(Self::hw_info_callback),
        get_viommu_size: Some(Self::size_callback),
        viommu_init: Some(Self::viommu_init_callback),
        viommu_ops: Viommu::<T>::ops(),
        probe: Some(Self::probe_callback),
        remove: Some(Self::remove_callback),
    };

    const fn table() -> &'static bindings::iommufd_mock_backend {
        &Self::TABLE
    }

    /// Registers `T` as the backend, serving the devices of its flavour with `iommu`, owned by
    /// `module`.
    ///
    /// Fails with `EBUSY` when another backend is registered.
    pub fn new(module: &'static ThisModule, iommu: Arc<T::Iommu>) -> Result<Self> {
        let table = Self::table();
        // SAFETY: `table` is static and its callbacks are valid for it; `priv` is the instance,
        // kept alive by the registration. It is unregistered when the value is dropped, which
        // happens before `module` goes away.
        to_result(unsafe {
            bindings::iommufd_mock_backend_register(
                table,
                module.as_ptr(),
                Arc::as_ptr(&iommu).cast_mut().cast(),
            )
        })?;
        Ok(Self {
            table,
            _iommu: iommu,
            _p: PhantomData,
        })
    }

    /// The instance behind `priv`.
    ///
    /// # Safety
    ///
    /// `priv_` is the `priv` of a live registration of `T` (`new`), for `'a`.
    unsafe fn iommu<'a>(priv_: *mut c_void) -> ArcBorrow<'a, T::Iommu> {
        // SAFETY: `priv_` is `Arc::as_ptr()` of the registration's instance, alive for `'a`
        // (contract).
        unsafe { ArcBorrow::from_raw(priv_.cast::<T::Iommu>()) }
    }

    /// # Safety
    ///
    /// Called by the selftest with the registration's `priv`, holding a reference on the
    /// module, a mock device of the flavour and valid in/out pointers.
    unsafe extern "C" fn hw_info_callback(
        priv_: *mut c_void,
        dev: *mut bindings::device,
        length: *mut u32,
        data_type: *mut u32,
    ) -> *mut c_void {
        // SAFETY: Valid for the call (contract); the module, so the registration, stays.
        let (iommu, dev, requested) =
            unsafe { (Self::iommu(priv_), Device::from_raw(dev), *data_type) };
        let info = match T::hw_info(iommu, dev, requested) {
            Ok(info) => info,
            Err(e) => return e.to_ptr(),
        };
        let Ok(len) = u32::try_from(info.data.len()) else {
            return EINVAL.to_ptr();
        };
        let (ptr, _, _) = info.data.into_raw_parts();
        // SAFETY: Valid for writes (contract).
        unsafe {
            *length = len;
            *data_type = info.data_type;
        }
        // The buffer is kmalloc()ed; the caller kfree()s it.
        ptr.cast()
    }

    /// # Safety
    ///
    /// Called by the selftest with the registration's `priv` and a mock device of the flavour.
    unsafe extern "C" fn size_callback(
        _priv: *mut c_void,
        _dev: *mut bindings::device,
        viommu_type: u32,
    ) -> usize {
        Viommu::<T>::size(viommu_type)
    }

    /// # Safety
    ///
    /// Called by the selftest with the registration's `priv`, holding a reference on the
    /// module, and a vIOMMU of a type `T` serves, of the size [`Viommu::size`] gave, to
    /// initialize.
    unsafe extern "C" fn viommu_init_callback(
        priv_: *mut c_void,
        viommu: *mut bindings::iommufd_viommu,
        _parent: *mut bindings::iommu_domain,
        user_data: *const bindings::iommu_user_data,
    ) -> c_int {
        // SAFETY: Per the contract, which is `init_raw`'s.
        unsafe { Viommu::<T>::init_raw(Self::iommu(priv_), viommu, user_data) }
    }

    /// # Safety
    ///
    /// Called by the selftest's driver with the registration's `priv` and a device being bound
    /// to it, while the registration lives.
    unsafe extern "C" fn probe_callback(
        priv_: *mut c_void,
        dev: *mut bindings::device,
    ) -> *mut c_void {
        // SAFETY: Valid for the call, in which `dev` is being bound (contract).
        let (iommu, dev) = unsafe { (Self::iommu(priv_), Device::<Bound>::from_raw(dev)) };
        match T::probe(iommu, dev) {
            Ok(data) => data.into_foreign(),
            Err(e) => e.to_ptr(),
        }
    }

    /// # Safety
    ///
    /// Called by the selftest's driver with the registration's `priv`, a device being unbound
    /// from it, and what `probe_callback` returned for it, once.
    unsafe extern "C" fn remove_callback(
        _priv: *mut c_void,
        _dev: *mut bindings::device,
        data: *mut c_void,
    ) {
        // SAFETY: `data` is `into_foreign()` of the device's data, given back once (contract).
        drop(unsafe { Pin::<KBox<T::DeviceData>>::from_foreign(data) });
    }
}

impl<T: Backend> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: Registered by `new`, and unregistered once, here. The selftest takes no new
        // call or vIOMMU of the backend once this starts, and it returns only when the calls in
        // flight have returned and the backend's vIOMMUs are destroyed, so nothing of the
        // registration (the table, `priv`) is used after it.
        unsafe { bindings::iommufd_mock_backend_unregister(self.table) };
    }
}
