// SPDX-License-Identifier: GPL-2.0

//! vDEVICEs: a device as a vIOMMU knows it, under its virtual ID.

use super::viommu::{
    Driver,
    Viommu, //
};
use crate::{
    bindings,
    device::Device,
    prelude::*,
    types::Opaque, //
};
use core::ops::Deref;

/// A vDEVICE with the driver's part `D`: `struct iommufd_vdevice`, then `D`.
///
/// # Invariants
///
/// `core` is an initialized vDEVICE of a [`Viommu`] whose driver's `VDevice` is `D`; `data` is
/// initialized while `core.destroy` is set.
#[repr(C)]
pub struct VDevice<D> {
    core: Opaque<bindings::iommufd_vdevice>,
    data: D,
}

impl<D> Deref for VDevice<D> {
    type Target = D;

    fn deref(&self) -> &D {
        &self.data
    }
}

/// The size iommufd allocates for a vDEVICE whose driver part is `D`.
pub(super) const fn size<D>() -> usize {
    // iommufd allocates with kzalloc(), which aligns to `ARCH_KMALLOC_MINALIGN` only.
    assert!(core::mem::align_of::<VDevice<D>>() <= bindings::ARCH_KMALLOC_MINALIGN);
    core::mem::size_of::<VDevice<D>>()
}

/// What a driver learns of a vDEVICE it initializes ([`Driver::vdevice_init`]).
pub struct VDeviceInfo<'a> {
    virt_id: u64,
    device: &'a Device,
}

impl VDeviceInfo<'_> {
    /// The virtual ID user space gave the device, e.g. the virtual stream ID on SMMUv3.
    pub fn virt_id(&self) -> u64 {
        self.virt_id
    }

    /// The physical device.
    pub fn device(&self) -> &Device {
        self.device
    }
}

/// The `vdevice_init` operation.
///
/// # Safety
///
/// Called by iommufd with a vDEVICE allocated at the size of `VDevice<T::VDevice>`, whose core
/// part is initialized, on a live vIOMMU of driver `T`.
pub(super) unsafe extern "C" fn init_callback<T: Driver>(
    vdev: *mut bindings::iommufd_vdevice,
) -> c_int {
    // SAFETY: The vDEVICE's vIOMMU is a live vIOMMU of `T` (contract).
    let viommu = unsafe { Viommu::<T>::from_raw((*vdev).viommu) };
    // SAFETY: `vdev` is valid (contract); iommufd set its device before this call, which stays
    // bound for it.
    let device = unsafe { Device::from_raw(bindings::iommufd_vdevice_to_device(vdev)) };
    let info = VDeviceInfo {
        // SAFETY: `vdev` is valid (contract).
        virt_id: unsafe { (*vdev).virt_id },
        device,
    };
    match T::vdevice_init(viommu, &info) {
        Ok(data) => {
            let this = vdev.cast::<VDevice<T::VDevice>>();
            // SAFETY: `this` is allocated at the size of `VDevice` (contract); `core` is at its
            // offset 0 (`repr(C)`).
            unsafe {
                (&raw mut (*this).data).write(data);
                // INVARIANT: `data` is initialized.
                (*vdev).destroy = Some(destroy_callback::<T>);
            }
            0
        }
        Err(e) => e.to_errno(),
    }
}

/// # Safety
///
/// Called by iommufd, once, for a vDEVICE initialized by [`init_callback`].
unsafe extern "C" fn destroy_callback<T: Driver>(vdev: *mut bindings::iommufd_vdevice) {
    let this = vdev.cast::<VDevice<T::VDevice>>();
    // SAFETY: `data` is initialized (`destroy` is set) and dropped once, here.
    unsafe { core::ptr::drop_in_place(&raw mut (*this).data) };
}
