// SPDX-License-Identifier: GPL-2.0

//! Memory a vIOMMU hands to user space for `mmap()`.
//!
//! A driver registers a region of its hardware's MMIO (or of memory emulating it, which user space
//! then maps as memory: [`MmapType`]) while it initializes a vIOMMU
//! ([`ViommuInit::alloc_mmap`](super::ViommuInit::alloc_mmap)) and reports the returned offset and
//! length to user space, which maps exactly that. The region is removed when the vIOMMU is
//! destroyed, which iommufd does only once no VMA maps it any more; the memory is kept alive
//! until then.

use crate::{
    bindings,
    error::to_result,
    io::{
        sysmem::SysMem,
        PhysAddr, //
    },
    prelude::*,
    sync::Arc,
};

/// What a region handed to user space is, which decides how user space maps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum MmapType {
    /// Registers of a device: mapped uncached.
    Mmio = bindings::iommufd_mmap_type_IOMMUFD_MMAP_MMIO,
    /// Kernel memory that the driver also accesses through the kernel's cacheable mapping, such
    /// as registers it emulates: mapped with the same attributes, so that the driver and user
    /// space see the same contents on every architecture.
    Memory = bindings::iommufd_mmap_type_IOMMUFD_MMAP_MEMORY,
}

impl TryFrom<bindings::iommufd_mmap_type> for MmapType {
    type Error = Error;

    fn try_from(value: bindings::iommufd_mmap_type) -> Result<Self> {
        match value {
            bindings::iommufd_mmap_type_IOMMUFD_MMAP_MMIO => Ok(Self::Mmio),
            bindings::iommufd_mmap_type_IOMMUFD_MMAP_MEMORY => Ok(Self::Memory),
            _ => Err(EINVAL),
        }
    }
}

/// Memory that user space may map for as long as the value lives.
///
/// # Safety
///
/// `[phys_addr(), phys_addr() + size())` is page aligned, and is memory of type `mmap_type()`
/// that may be mapped into user space, read and written there at any time, for as long as
/// `self` is alive.
pub unsafe trait MmapMemory: Send + Sync {
    /// The physical address of the memory.
    fn phys_addr(&self) -> PhysAddr;
    /// The size of the memory, in bytes.
    fn size(&self) -> usize;
    /// What the memory is.
    fn mmap_type(&self) -> MmapType;
}

// SAFETY: The pages of a `SysMem` are page aligned kernel memory, owned by it and freed only
// when it is dropped; their contents are registers that any access may change.
unsafe impl<const SIZE: usize> MmapMemory for SysMem<SIZE> {
    fn phys_addr(&self) -> PhysAddr {
        SysMem::phys_addr(self)
    }

    fn size(&self) -> usize {
        SIZE
    }

    fn mmap_type(&self) -> MmapType {
        MmapType::Memory
    }
}

/// Where user space maps a region: the `offset` argument of `mmap()` and the length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MmapOffset {
    /// The offset to pass to `mmap()`.
    pub offset: u64,
    /// The length of the region, in bytes.
    pub length: u64,
}

/// A region registered for a vIOMMU.
///
/// # Invariants
///
/// `offset` is a region of the context of `viommu`, owned by `viommu`, registered with the
/// memory of `memory`.
pub(super) struct MmapRegion {
    viommu: *mut bindings::iommufd_viommu,
    offset: usize,
    memory: Arc<dyn MmapMemory>,
}

impl MmapRegion {
    /// Registers `memory` for user space to map, owned by `viommu`.
    ///
    /// # Safety
    ///
    /// `viommu` is a vIOMMU being initialized, which outlives the returned value.
    pub(super) unsafe fn new(
        viommu: *mut bindings::iommufd_viommu,
        memory: Arc<dyn MmapMemory>,
    ) -> Result<Self> {
        let mut offset = 0;
        // SAFETY: `viommu` is valid (contract), so are its context and object. The memory may
        // be mapped while `memory` lives (`MmapMemory`), which `Self` keeps until the region is
        // removed.
        to_result(unsafe {
            bindings::_iommufd_alloc_mmap(
                (*viommu).ictx,
                &raw mut (*viommu).obj,
                memory.mmap_type() as bindings::iommufd_mmap_type,
                memory.phys_addr(),
                memory.size(),
                &mut offset,
            )
        })?;
        // INVARIANT: Registered just now.
        Ok(Self {
            viommu,
            offset,
            memory,
        })
    }

    pub(super) fn offset(&self) -> MmapOffset {
        MmapOffset {
            offset: self.offset as u64,
            length: self.memory.size() as u64,
        }
    }
}

impl Drop for MmapRegion {
    fn drop(&mut self) {
        // SAFETY: The region was registered for `viommu`, which is alive (type invariants).
        unsafe {
            bindings::_iommufd_destroy_mmap(
                (*self.viommu).ictx,
                &raw mut (*self.viommu).obj,
                self.offset,
            )
        };
    }
}
