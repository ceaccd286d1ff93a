// SPDX-License-Identifier: GPL-2.0

//! An `Attach` carries the domain, device and old domain of an attachment the IOMMU core is
//! making, valid only under the device's group lock; a driver gets the device as a reference
//! bound to the attachment, never the raw pointers, which it could keep past it.
//!
//! expect: E0616

use kernel::{
    device::Device,
    iommu::iommufd::driver::Attach, //
};

/// The attachment's device; with `--cfg fail`, its raw pointer too.
pub fn device_of<'a>(attach: &'a Attach<'a>) -> &'a Device {
    #[cfg(fail)]
    let _: *mut kernel::bindings::device = attach.dev;
    attach.device()
}
