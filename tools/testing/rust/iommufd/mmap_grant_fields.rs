// SPDX-License-Identifier: GPL-2.0

//! A grant to map a region cannot be pointed at another physical address before it is mapped.
//!
//! expect: E0616

use kernel::{
    iommu::iommufd::MmapGrant,
    mm::virt::VmaNew,
    prelude::*, //
};

/// Maps physical address 0 instead of the region.
pub fn redirect(grant: MmapGrant, vma: &VmaNew) -> Result {
    #[cfg(fail)]
    let grant = {
        let mut grant = grant;
        grant.mmio_addr = 0;
        grant
    };
    // SAFETY: Nothing more is done with the VMA.
    unsafe { grant.map(vma) }
}
