// SPDX-License-Identifier: GPL-2.0

//! Nested domains: a guest's stage-1 translation, nested in a vIOMMU's parent domain.

use super::{
    user_data::UserData,
    viommu::{
        Driver,
        Viommu, //
    },
};
use crate::{
    bindings,
    device::Device,
    error::to_result,
    prelude::*,
    types::Opaque, //
};
use core::{
    marker::PhantomData,
    mem::MaybeUninit,
    ops::Deref, //
};

/// The operations of a driver's nested domains.
pub trait NestedOps: Send + Sync + Sized + 'static {
    /// Attaches a device to the domain, replacing the domain it had.
    fn attach_dev(&self, attach: &Attach<'_>) -> Result;
}

/// A nested domain with the driver's part `N`: `struct iommu_domain`, then `N`.
///
/// # Invariants
///
/// `domain` is an `IOMMU_DOMAIN_NESTED` domain whose ops are `NestedDomain::<N>::OPS`, and the
/// whole is a `KBox` owned by the domain's user, released by its `free` operation. `viommu` is
/// the vIOMMU the domain was allocated on, which outlives it: iommufd frees the domain before it
/// drops the nested HWPT's reference on the vIOMMU.
#[repr(C)]
pub struct NestedDomain<N: NestedOps> {
    domain: Opaque<bindings::iommu_domain>,
    viommu: *mut bindings::iommufd_viommu,
    data: N,
}

impl<N: NestedOps> Deref for NestedDomain<N> {
    type Target = N;

    fn deref(&self) -> &N {
        &self.data
    }
}

impl<N: NestedOps> NestedDomain<N> {
    const OPS: bindings::iommu_domain_ops = bindings::iommu_domain_ops {
        attach_dev: Some(Self::attach_callback),
        free: Some(Self::free_callback),
        // SAFETY: All-zero is a valid `iommu_domain_ops`: no operation.
        ..unsafe { MaybeUninit::zeroed().assume_init() }
    };

    /// A new domain on `viommu`, released (hence `N` dropped) when its user frees it.
    fn alloc(
        viommu: *mut bindings::iommufd_viommu,
        data: N,
    ) -> Result<*mut bindings::iommu_domain> {
        let domain = bindings::iommu_domain {
            type_: bindings::IOMMU_DOMAIN_NESTED,
            ops: &Self::OPS,
            // SAFETY: All-zero is a valid `iommu_domain`, filled in by its user.
            ..unsafe { MaybeUninit::zeroed().assume_init() }
        };
        let this = KBox::new(
            Self {
                domain: Opaque::new(domain),
                viommu,
                data,
            },
            GFP_KERNEL_ACCOUNT,
        )?;
        // INVARIANT: A boxed nested domain with our ops, owned by whoever gets the pointer.
        Ok(KBox::into_raw(this).cast())
    }

    /// # Safety
    ///
    /// Called by the IOMMU core with a domain made by [`NestedDomain::alloc`], a device and the
    /// device's current domain (or null), under the device's group lock.
    unsafe extern "C" fn attach_callback(
        domain: *mut bindings::iommu_domain,
        dev: *mut bindings::device,
        old: *mut bindings::iommu_domain,
    ) -> c_int {
        // SAFETY: `domain` is the first field of a live `Self` (contract).
        let this = unsafe { &*domain.cast::<Self>() };
        let attach = Attach {
            domain,
            viommu: this.viommu,
            dev,
            old,
            _p: PhantomData,
        };
        match this.data.attach_dev(&attach) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }

    /// # Safety
    ///
    /// Called by the IOMMU core, once, with a domain made by [`NestedDomain::alloc`] that no
    /// device uses any more.
    unsafe extern "C" fn free_callback(domain: *mut bindings::iommu_domain) {
        // SAFETY: The domain is the box made by `alloc` (contract), released once, here.
        drop(unsafe { KBox::from_raw(domain.cast::<Self>()) });
    }
}

/// An attachment of a device to a nested domain in progress ([`NestedOps::attach_dev`]).
///
/// # Invariants
///
/// `domain` is a live nested domain on the vIOMMU `viommu`, `dev` a device and `old` its current
/// domain or null, all valid for `'a`, under the device's group lock.
pub struct Attach<'a> {
    pub(super) domain: *mut bindings::iommu_domain,
    viommu: *mut bindings::iommufd_viommu,
    pub(super) dev: *mut bindings::device,
    pub(super) old: *mut bindings::iommu_domain,
    _p: PhantomData<&'a ()>,
}

impl Attach<'_> {
    /// The device being attached.
    pub fn device(&self) -> &Device {
        // SAFETY: `dev` is valid for the attachment (type invariants).
        unsafe { Device::from_raw(self.dev) }
    }

    /// The virtual ID of the device's vDEVICE on the domain's vIOMMU.
    ///
    /// Fails with `ENOENT` when the device has no vDEVICE there.
    pub fn virt_id(&self) -> Result<u64> {
        let mut id = 0;
        // SAFETY: The vIOMMU and the device are valid for the attachment (type invariants).
        to_result(unsafe { bindings::iommufd_viommu_get_vdev_id(self.viommu, self.dev, &mut id) })?;
        Ok(id as u64)
    }
}

/// The `alloc_domain_nested` operation.
///
/// # Safety
///
/// Called by iommufd with a live vIOMMU of driver `T` and valid user data.
pub(super) unsafe extern "C" fn alloc_callback<T: Driver>(
    viommu: *mut bindings::iommufd_viommu,
    flags: u32,
    user_data: *const bindings::iommu_user_data,
) -> *mut bindings::iommu_domain {
    // SAFETY: A live vIOMMU of `T` (contract).
    let this = unsafe { Viommu::<T>::from_raw(viommu) };
    // SAFETY: Valid for the call (contract).
    let user_data = unsafe { UserData::from_raw(user_data) };
    match T::alloc_domain_nested(this, flags, user_data)
        .and_then(|n| NestedDomain::alloc(viommu, n))
    {
        Ok(domain) => domain,
        Err(e) => e.to_ptr(),
    }
}
