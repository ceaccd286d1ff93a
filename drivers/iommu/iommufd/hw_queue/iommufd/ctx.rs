// SPDX-License-Identifier: GPL-2.0

//! An iommufd context, `struct iommufd_ctx`.

use kernel::{
    bindings,
    types::Opaque, //
};

/// An iommufd context, `struct iommufd_ctx`: the state behind one open `/dev/iommu`.
///
/// Its regions for `mmap()` are in the [`mmap`](super::mmap) module of these abstractions.
#[repr(transparent)]
pub(crate) struct Ctx(Opaque<bindings::iommufd_ctx>);

impl Ctx {
    /// Borrows a context.
    ///
    /// # Safety
    ///
    /// `ictx` must be a valid iommufd context for `'a`: the context of a file that stays open,
    /// or one a driver's object belongs to while that object lives.
    #[inline]
    pub(crate) unsafe fn from_raw<'a>(ictx: *mut bindings::iommufd_ctx) -> &'a Self {
        // SAFETY: `Ctx` is a transparent wrapper; the caller guarantees validity for `'a`.
        unsafe { &*ictx.cast() }
    }

    /// Borrows the context of an open `/dev/iommu`.
    ///
    /// # Safety
    ///
    /// `file` must be a `/dev/iommu` file that stays open for `'a`, such as the file of an
    /// `f_ops` call on it.
    #[inline]
    pub(crate) unsafe fn from_file<'a>(file: *mut bindings::file) -> &'a Self {
        // SAFETY: iommufd stores its context in the file's private data at open.
        unsafe { Self::from_raw((*file).private_data.cast()) }
    }

    #[inline]
    pub(super) fn as_raw(&self) -> *mut bindings::iommufd_ctx {
        self.0.get()
    }
}
