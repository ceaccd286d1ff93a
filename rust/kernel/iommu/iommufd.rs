// SPDX-License-Identifier: GPL-2.0

//! iommufd core objects.
//!
//! C headers: [`include/linux/iommufd.h`](srctree/include/linux/iommufd.h) and
//! [`drivers/iommu/iommufd/iommufd_private.h`](srctree/drivers/iommu/iommufd/iommufd_private.h).
//!
//! These abstractions serve the parts of iommufd written in Rust, which are linked into iommufd
//! itself (`drivers/iommu/iommufd/hw_queue.rs`): an ioctl in progress ([`Ucmd`]), a reference on
//! an object looked up by ID ([`ObjectRef`]), the vIOMMU ([`Viommu`]), a HW queue under
//! construction ([`NewHwQueue`]), guest memory pinned through an internal access
//! ([`PinnedAccess`]), and the MMIO regions a context hands to user space for `mmap()`
//! ([`Ctx::mmap_regions`], [`MmapRegion`], [`UsersRef`]).
//!
//! # Bindings
//!
//! iommufd's internal structures are only declared in its private header, which
//! `rust/bindings/bindings_helper.h` includes when `CONFIG_IOMMUFD_HW_QUEUE_RUST` is set. The
//! alternative, a C shim inside the module with an accessor per field and a wrapper per function,
//! would restate a dozen structures by hand and drift from them; bindgen reads the header as it
//! is, and `#[export]` makes the compiler check every function that C calls in Rust against the
//! C prototype. The few static inline functions needed are wrapped in `rust/helpers/iommufd.c`.
//! Both the helpers and this module are part of vmlinux and call into iommufd, hence the option
//! requires `IOMMUFD=y` (as the DRM abstractions require `DRM=y`).

use crate::{
    alloc::{flags, KVVec},
    bindings,
    error::{from_err_ptr, to_result},
    io::PhysAddr,
    maple_tree::MapleTreeAlloc,
    mm::virt_io::VmaData,
    page::{PAGE_SHIFT, PAGE_SIZE},
    prelude::*,
    types::{ForeignOwnable, Opaque},
};
use core::{
    marker::PhantomData,
    mem::size_of,
    ptr::{self, NonNull},
    sync::atomic::{AtomicBool, Ordering},
};

/// The command structure of an iommufd ioctl.
///
/// # Safety
///
/// Implementors must be the uAPI structure that the iommufd core copies in from user space for
/// one ioctl, so that a handler of that ioctl finds one in its `struct iommufd_ucmd`.
pub unsafe trait Command {}

// SAFETY: `struct iommu_hw_queue_alloc` is the command of `IOMMU_HW_QUEUE_ALLOC`.
unsafe impl Command for bindings::iommu_hw_queue_alloc {}

/// An iommufd ioctl in progress, carrying a command of type `T`.
///
/// # Invariants
///
/// `ucmd` points to the `struct iommufd_ucmd` that the iommufd ioctl dispatcher passed to the
/// handler of the ioctl whose command is `T`; its `cmd` points to a `T` and its `ictx` to the
/// file's context. Both stay valid and are used only by this handler for `'a`.
pub struct Ucmd<'a, T: Command> {
    ucmd: NonNull<bindings::iommufd_ucmd>,
    _p: PhantomData<&'a mut T>,
}

impl<'a, T: Command> Ucmd<'a, T> {
    /// Wraps the command the iommufd core passed to an ioctl handler.
    ///
    /// # Safety
    ///
    /// `ucmd` must be the `struct iommufd_ucmd` the iommufd ioctl dispatcher passed to the
    /// handler of the ioctl whose command is `T`, and the handler must not use it other than
    /// through the returned value for `'a`, which must end before the handler returns.
    #[inline]
    pub unsafe fn from_raw(ucmd: *mut bindings::iommufd_ucmd) -> Self {
        Self {
            // SAFETY: The dispatcher never passes a null `ucmd`.
            ucmd: unsafe { NonNull::new_unchecked(ucmd) },
            _p: PhantomData,
        }
    }

    /// The command copied in from user space; what a handler changes is copied back by
    /// [`Ucmd::respond`].
    #[inline]
    pub fn cmd(&mut self) -> &mut T {
        // SAFETY: By the type invariants `cmd` points to a `T` only this handler uses, and the
        // `&mut self` borrow makes the reference unique.
        unsafe { &mut *(*self.ucmd.as_ptr()).cmd.cast::<T>() }
    }

    #[inline]
    fn ictx(&self) -> *mut bindings::iommufd_ctx {
        // SAFETY: By the type invariants `ucmd` is valid.
        unsafe { (*self.ucmd.as_ptr()).ictx }
    }

    /// Looks up a vIOMMU by its object ID and holds it until the returned reference is dropped.
    ///
    /// Fails with `ENOENT` when no vIOMMU has that ID.
    #[inline]
    pub fn get_viommu(&self, id: u32) -> Result<ObjectRef<'a, Viommu>> {
        let ictx = self.ictx();
        // SAFETY: `ictx` is the valid context of this ioctl (type invariants).
        let obj = from_err_ptr(unsafe {
            bindings::iommufd_get_object(ictx, id, bindings::iommufd_object_type_IOMMUFD_OBJ_VIOMMU)
        })?;
        // INVARIANT: `iommufd_get_object` returned a vIOMMU with a user reference held, and
        // `obj` is the first member of `struct iommufd_viommu`.
        Ok(ObjectRef {
            // SAFETY: The context outlives the ioctl; a non-null pointer.
            ictx: unsafe { NonNull::new_unchecked(ictx) },
            // SAFETY: `from_err_ptr` passed a valid object pointer, never null.
            obj: unsafe { NonNull::new_unchecked(obj.cast()) },
            _p: PhantomData,
        })
    }

    /// Allocates the HW queue object of this ioctl, of `size` bytes, of which the core part
    /// `struct iommufd_hw_queue` comes first and the driver's part follows.
    ///
    /// The object belongs to the ioctl: the core publishes it if the handler succeeds, and
    /// destroys it through [`destroy_hw_queue`] if the handler fails. Fails with `EOPNOTSUPP`,
    /// after a warning, if `size` cannot hold the core part: that is a driver bug.
    pub fn alloc_hw_queue(&mut self, size: usize) -> Result<NewHwQueue<'a>> {
        static WARNED: AtomicBool = AtomicBool::new(false);

        if size < size_of::<bindings::iommufd_hw_queue>() {
            if !WARNED.swap(true, Ordering::Relaxed) {
                crate::warn_on!(true);
            }
            return Err(EOPNOTSUPP);
        }
        // SAFETY: `ucmd` is valid (type invariants); the core zero-fills the object.
        let obj = from_err_ptr(unsafe {
            bindings::_iommufd_object_alloc_ucmd(
                self.ucmd.as_ptr(),
                size,
                bindings::iommufd_object_type_IOMMUFD_OBJ_HW_QUEUE,
            )
        })?;
        // INVARIANT: A zero-filled `struct iommufd_hw_queue` of at least its own size, owned by
        // this ioctl; `obj` is its first member.
        Ok(NewHwQueue {
            // SAFETY: `from_err_ptr` passed a valid object pointer, never null.
            hwq: unsafe { NonNull::new_unchecked(obj.cast()) },
            _p: PhantomData,
        })
    }

    /// Copies the command back to user space, up to the size user space gave.
    #[inline]
    pub fn respond(&mut self) -> Result {
        // SAFETY: `ucmd` is valid and its `cmd` holds a `T` (type invariants).
        to_result(unsafe { bindings::iommufd_ucmd_respond(self.ucmd.as_ptr(), size_of::<T>()) })
    }
}

/// An iommufd context, `struct iommufd_ctx`: the state behind one open `/dev/iommu`.
#[repr(transparent)]
pub struct Ctx(Opaque<bindings::iommufd_ctx>);

impl Ctx {
    /// Borrows a context.
    ///
    /// # Safety
    ///
    /// `ictx` must be a valid iommufd context for `'a`: the context of a file that stays open,
    /// or one a driver's object belongs to while that object lives.
    #[inline]
    pub unsafe fn from_raw<'a>(ictx: *mut bindings::iommufd_ctx) -> &'a Self {
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
    pub unsafe fn from_file<'a>(file: *mut bindings::file) -> &'a Self {
        // SAFETY: iommufd stores its context in the file's private data at open.
        unsafe { Self::from_raw((*file).private_data.cast()) }
    }

    /// The MMIO regions handed to user space for `mmap()`, keyed by their byte offset.
    #[inline]
    pub fn mmap_regions(&self) -> &MapleTreeAlloc<KBox<MmapRegion>> {
        // SAFETY: iommufd initializes `mt_mmap` with `MT_FLAGS_ALLOC_RANGE` at open and keeps it
        // for the context's life. With `CONFIG_IOMMUFD_HW_QUEUE_RUST` only this type's users
        // store entries in it, all of them `KBox<MmapRegion>`.
        unsafe { MapleTreeAlloc::from_raw(&raw mut (*self.0.get()).mt_mmap) }
    }
}

/// An MMIO region that a driver hands to user space for `mmap()`, on behalf of an object.
///
/// Entries of [`Ctx::mmap_regions`]. A driver removes its regions in its object's destroy
/// operation, before the object is freed, so `owner` is valid while the region is in the tree.
pub struct MmapRegion {
    owner: NonNull<bindings::iommufd_object>,
    /// The region's offset in the file, in pages, once it is in the tree.
    pub vm_pgoff: usize,
    /// The physical address of the region.
    pub mmio_addr: PhysAddr,
    /// The length of the region, in bytes.
    pub length: usize,
}

impl MmapRegion {
    /// A region of `owner`.
    ///
    /// # Safety
    ///
    /// `owner` must stay a valid object for as long as the region is in a context's
    /// [`Ctx::mmap_regions`]: its driver removes the region before the object is freed.
    #[inline]
    pub unsafe fn new(
        owner: NonNull<bindings::iommufd_object>,
        mmio_addr: PhysAddr,
        length: usize,
    ) -> Self {
        Self {
            owner,
            vm_pgoff: 0,
            mmio_addr,
            length,
        }
    }

    /// Whether `owner` is this region's owner.
    #[inline]
    pub fn is_owned_by(&self, owner: NonNull<bindings::iommufd_object>) -> bool {
        self.owner == owner
    }

    /// Takes a `users` reference on the owner, unless the owner is being destroyed.
    ///
    /// Holding the tree's lock while calling this (as [`MapleGuard::load`] does) guarantees the
    /// owner is still allocated.
    ///
    /// [`MapleGuard::load`]: crate::maple_tree::MapleGuard::load
    #[inline]
    pub fn get_owner(&self) -> Option<UsersRef> {
        // SAFETY: `owner` is valid while the region is in the tree (type invariants), which the
        // borrow proves.
        let live =
            unsafe { bindings::refcount_inc_not_zero(&raw mut (*self.owner.as_ptr()).users) };
        // INVARIANT: A reference was just taken.
        live.then_some(UsersRef(self.owner))
    }
}

// SAFETY: `MmapRegion` only holds the address of its owner, used under the tree's lock or with a
// reference held; iommufd objects may be used from any thread.
unsafe impl Send for MmapRegion {}

/// A `users` reference on an iommufd object, which makes `IOMMU_DESTROY` of the object fail
/// with `EBUSY` while it is held.
///
/// # Invariants
///
/// The pointer is a live object on which this value holds one `users` reference.
pub struct UsersRef(NonNull<bindings::iommufd_object>);

impl Drop for UsersRef {
    fn drop(&mut self) {
        // SAFETY: This value holds a reference, so the object is live (type invariants).
        unsafe { bindings::refcount_dec(&raw mut (*self.0.as_ptr()).users) };
    }
}

/// A [`UsersRef`] owned by C code (a VMA's private data), borrowed.
pub struct BorrowedUsersRef<'a> {
    obj: NonNull<bindings::iommufd_object>,
    _p: PhantomData<&'a UsersRef>,
}

// SAFETY: `into_foreign` returns the object's address, which is aligned as
// `struct iommufd_object` is; `from_foreign` takes back the reference `into_foreign` gave up, and
// a borrow only carries the address while the foreign owner keeps the reference.
unsafe impl ForeignOwnable for UsersRef {
    const FOREIGN_ALIGN: usize = core::mem::align_of::<bindings::iommufd_object>();
    type Borrowed<'a> = BorrowedUsersRef<'a>;
    type BorrowedMut<'a> = BorrowedUsersRef<'a>;

    #[inline]
    fn into_foreign(self) -> *mut c_void {
        let ptr = self.0.as_ptr().cast();
        core::mem::forget(self);
        ptr
    }

    #[inline]
    unsafe fn from_foreign(ptr: *mut c_void) -> Self {
        // INVARIANT: `ptr` came from `into_foreign`, so it carries a reference.
        // SAFETY: `ptr` came from `into_foreign`, so it is non-null.
        Self(unsafe { NonNull::new_unchecked(ptr.cast()) })
    }

    #[inline]
    unsafe fn borrow<'a>(ptr: *mut c_void) -> BorrowedUsersRef<'a> {
        BorrowedUsersRef {
            // SAFETY: `ptr` came from `into_foreign`, so it is non-null.
            obj: unsafe { NonNull::new_unchecked(ptr.cast()) },
            _p: PhantomData,
        }
    }

    #[inline]
    unsafe fn borrow_mut<'a>(ptr: *mut c_void) -> BorrowedUsersRef<'a> {
        // SAFETY: Same requirements as `borrow`.
        unsafe { Self::borrow(ptr) }
    }
}

impl VmaData for UsersRef {
    #[inline]
    fn dup(this: BorrowedUsersRef<'_>) -> Self {
        // SAFETY: The borrowed value holds a reference, so the object is live and its count is
        // not zero.
        unsafe { bindings::refcount_inc(&raw mut (*this.obj.as_ptr()).users) };
        // INVARIANT: A reference was just taken.
        UsersRef(this.obj)
    }
}

/// An iommufd object type that [`ObjectRef`] can hold.
///
/// # Safety
///
/// Implementors must be transparent wrappers of a C structure whose first member is its
/// `struct iommufd_object`.
pub unsafe trait Object {}

/// A reference on an iommufd object, taken by a lookup and put when dropped.
///
/// # Invariants
///
/// `obj` is a live object of `ictx` on which this value holds one `users` and one `wait_cnt`
/// reference, as `iommufd_get_object` returns it.
pub struct ObjectRef<'a, O: Object> {
    ictx: NonNull<bindings::iommufd_ctx>,
    obj: NonNull<O>,
    _p: PhantomData<&'a O>,
}

impl<O: Object> core::ops::Deref for ObjectRef<'_, O> {
    type Target = O;

    #[inline]
    fn deref(&self) -> &O {
        // SAFETY: The reference held keeps the object alive (type invariants).
        unsafe { self.obj.as_ref() }
    }
}

impl<O: Object> Drop for ObjectRef<'_, O> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: This value holds the references `iommufd_put_object` puts (type invariants),
        // and `O` starts with its `struct iommufd_object` (`Object` safety requirement).
        unsafe { bindings::iommufd_put_object(self.ictx.as_ptr(), self.obj.as_ptr().cast()) };
    }
}

/// A vIOMMU, `struct iommufd_viommu`.
#[repr(transparent)]
pub struct Viommu(Opaque<bindings::iommufd_viommu>);

// SAFETY: `Viommu` wraps `struct iommufd_viommu`, whose first member is `obj`.
unsafe impl Object for Viommu {}

impl Viommu {
    #[inline]
    fn raw(&self) -> *mut bindings::iommufd_viommu {
        self.0.get()
    }

    /// The driver's HW queue operations, if the driver has both of them.
    #[inline]
    pub fn hw_queue_ops(&self) -> Option<HwQueueOps<'_>> {
        // SAFETY: A live vIOMMU has a valid (or null) `ops` that does not change.
        let ops = unsafe { (*self.raw()).ops };
        if ops.is_null() {
            return None;
        }
        // SAFETY: `ops` is non-null, hence valid for the vIOMMU's life.
        let ops = unsafe { &*ops };
        Some(HwQueueOps {
            viommu: self,
            get_size: ops.get_hw_queue_size?,
            _init_phys: ops.hw_queue_init_phys?,
        })
    }
}

/// The HW queue operations of a vIOMMU's driver.
pub struct HwQueueOps<'a> {
    viommu: &'a Viommu,
    get_size:
        unsafe extern "C" fn(*mut bindings::iommufd_viommu, bindings::iommu_hw_queue_type) -> usize,
    // Present, as checked when the operations were looked up; called through the queue.
    _init_phys:
        unsafe extern "C" fn(*mut bindings::iommufd_hw_queue, u32, bindings::phys_addr_t) -> c_int,
}

impl HwQueueOps<'_> {
    /// The size of the driver's HW queue structure for queues of type `queue_type` (a value of
    /// `enum iommu_hw_queue_type`), or 0 if the driver does not support that type.
    #[inline]
    pub fn queue_size(&self, queue_type: u32) -> usize {
        // SAFETY: A driver operation called with its live vIOMMU.
        unsafe { (self.get_size)(self.viommu.raw(), bindings::iommu_hw_queue_type(queue_type)) }
    }
}

/// A HW queue object under construction, owned by the ioctl that allocated it.
///
/// # Invariants
///
/// `hwq` is a zero-filled `struct iommufd_hw_queue` of at least its own size, allocated by
/// [`Ucmd::alloc_hw_queue`] and not yet published.
pub struct NewHwQueue<'a> {
    hwq: NonNull<bindings::iommufd_hw_queue>,
    _p: PhantomData<&'a mut bindings::iommufd_hw_queue>,
}

impl<'a> NewHwQueue<'a> {
    /// Hands the queue its guest memory and a reference on `viommu`, both released when the
    /// queue is destroyed, and records the queue's type.
    pub fn attach(
        self,
        viommu: &ObjectRef<'_, Viommu>,
        pinned: PinnedAccess,
        queue_type: u32,
    ) -> AttachedHwQueue<'a> {
        let hwq = self.hwq.as_ptr();
        let (access, iova, length) = pinned.into_raw();
        // SAFETY: `hwq` is valid and not yet visible to anyone else (type invariants). The
        // `users` reference taken on the vIOMMU is put by `destroy_hw_queue`.
        unsafe {
            bindings::refcount_inc(&raw mut (*viommu.raw()).obj.users);
            (*hwq).viommu = viommu.raw();
            (*hwq).access = access;
            (*hwq).base_addr = iova;
            (*hwq).length = length as usize;
            (*hwq).type_ = bindings::iommu_hw_queue_type(queue_type);
        }
        // INVARIANT: Just attached, by consuming the only handle on the queue.
        AttachedHwQueue {
            hwq: self.hwq,
            _p: PhantomData,
        }
    }
}

/// A HW queue under construction that holds its guest memory and its vIOMMU.
///
/// # Invariants
///
/// As [`NewHwQueue`], and `viommu` and `access` were set by [`NewHwQueue::attach`] to a live
/// vIOMMU whose driver has HW queue operations ([`Viommu::hw_queue_ops`]) and to a pinned access.
pub struct AttachedHwQueue<'a> {
    hwq: NonNull<bindings::iommufd_hw_queue>,
    _p: PhantomData<&'a mut bindings::iommufd_hw_queue>,
}

impl AttachedHwQueue<'_> {
    /// Lets the driver initialize the queue with its `index` and the physical address of its
    /// first byte.
    pub fn init_phys(&mut self, index: u32, base_pa: PhysAddr) -> Result {
        let hwq = self.hwq.as_ptr();
        // SAFETY: `attach` stored a live vIOMMU whose `ops` are valid (type invariants).
        let init = unsafe { (*(*(*hwq).viommu).ops).hw_queue_init_phys }.ok_or(EOPNOTSUPP)?;
        // SAFETY: A driver operation called on its own queue, attached to its vIOMMU.
        to_result(unsafe { init(hwq, index, base_pa) })
    }

    /// The object ID that the queue will have once published.
    #[inline]
    pub fn id(&self) -> u32 {
        // SAFETY: `hwq` is valid (type invariants).
        unsafe { (*self.hwq.as_ptr()).obj.id }
    }
}

/// Destroys the core part of a HW queue: the driver's part first, then the pinned guest memory,
/// then the reference on the vIOMMU.
///
/// # Safety
///
/// `obj` must be an `IOMMUFD_OBJ_HW_QUEUE` object allocated by [`Ucmd::alloc_hw_queue`] that the
/// iommufd core is destroying, so nobody else uses it, and this must be called once for it.
pub unsafe fn destroy_hw_queue(obj: *mut bindings::iommufd_object) {
    let hwq: *mut bindings::iommufd_hw_queue = obj.cast();
    // SAFETY: `obj` is the first member of a valid `struct iommufd_hw_queue` that only this
    // function uses (safety requirements).
    unsafe {
        if let Some(destroy) = (*hwq).destroy {
            destroy(hwq);
        }
        let viommu = (*hwq).viommu;
        if !(*hwq).access.is_null() {
            // `attach` stored these from a `PinnedAccess` of `viommu`, whose context it is.
            drop(PinnedAccess::from_raw(
                (*viommu).ictx,
                (*hwq).access,
                (*hwq).base_addr,
                (*hwq).length as u64,
            ));
        }
        if !viommu.is_null() {
            bindings::refcount_dec(&raw mut (*viommu).obj.users);
        }
    }
}

/// A range of guest memory rounded out to whole pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSpan {
    /// The start of the range rounded down to a page boundary.
    pub aligned_iova: u64,
    /// The offset of the start of the range in its page.
    pub offset: u64,
    /// The number of pages from `aligned_iova` that cover the range.
    pub npages: u64,
}

impl PageSpan {
    /// Rounds `[iova, iova + length)` out to pages of `1 << page_shift` bytes.
    ///
    /// Fails with `ERANGE` when the page-rounded length is not representable.
    #[inline]
    pub fn new(iova: u64, length: u64, page_shift: u32) -> Result<Self> {
        let page_mask = (1u64 << page_shift) - 1;
        let aligned_iova = iova & !page_mask;
        let offset = iova - aligned_iova;
        let rounded = offset
            .checked_add(length)
            .and_then(|l| l.checked_add(page_mask))
            .ok_or(ERANGE)?;
        Ok(Self {
            aligned_iova,
            offset,
            npages: rounded >> page_shift,
        })
    }

    /// Splits the span into chunks of at most `chunk_pages` pages (at least one), as
    /// `(iova, npages)` in ascending order. The split depends only on the span and
    /// `chunk_pages`, so an unpin can walk exactly the chunks a pin made.
    #[inline]
    pub fn chunks(&self, chunk_pages: u64, page_shift: u32) -> impl Iterator<Item = (u64, u64)> {
        let chunk_pages = chunk_pages.max(1);
        let (start, npages) = (self.aligned_iova, self.npages);
        (0..npages.div_ceil(chunk_pages)).map(move |i| {
            let first = i * chunk_pages;
            // `first < npages` and `new` proved `npages << page_shift` representable.
            (
                start + (first << page_shift),
                (npages - first).min(chunk_pages),
            )
        })
    }
}

/// Guest memory pinned through an internal access attached to a vIOMMU's nesting parent IOAS.
///
/// While it lives, the pages cannot move and `IOMMU_IOAS_UNMAP` of the range fails with
/// `EBUSY`. Dropping it unpins the pages and detaches and destroys the access.
///
/// # Invariants
///
/// `access` is an internal access of `ictx`, attached to an IOAS, on which every chunk of
/// `PageSpan::new(iova, length)` split by [`PinnedAccess::CHUNK_PAGES`] is pinned once.
pub struct PinnedAccess {
    ictx: NonNull<bindings::iommufd_ctx>,
    access: NonNull<bindings::iommufd_access>,
    iova: u64,
    length: u64,
}

/// The page frame numbers of one pinned chunk, in order.
pub struct Pfns<'a>(core::slice::Iter<'a, *mut bindings::page>);

impl Iterator for Pfns<'_> {
    type Item = u64;

    #[inline]
    fn next(&mut self) -> Option<u64> {
        // SAFETY: `iommufd_access_pin_pages` filled the chunk with valid pinned pages.
        self.0
            .next()
            .map(|&page| unsafe { bindings::page_to_pfn(page) } as u64)
    }
}

impl PinnedAccess {
    /// The most pages pinned by one call into the core, bounding the temporary page array to
    /// 16 KiB. Up to 8 MiB, the largest queue Tegra241 CMDQV supports, this is one call, as in
    /// C; larger ranges take more calls instead of a larger array.
    pub const CHUNK_PAGES: u64 = 2048;

    /// Pins `[iova, iova + length)` of `viommu`'s nesting parent IOAS.
    ///
    /// `visit` sees the page frame numbers of every chunk in order, once all of them are pinned;
    /// its first error fails the pin. Pinning errors come first: `ERANGE` for a range whose
    /// page-rounded length overflows, `ENOMEM`, and what `iommufd_access_pin_pages` returns
    /// (`ENOENT` for an unmapped range, for instance).
    pub fn pin(
        viommu: &Viommu,
        iova: u64,
        length: u64,
        mut visit: impl FnMut(Pfns<'_>) -> Result,
    ) -> Result<Self> {
        let span = PageSpan::new(iova, length, PAGE_SHIFT as u32)?;
        let chunk = span.npages.min(Self::CHUNK_PAGES) as usize;
        let mut pages = KVVec::from_elem(ptr::null_mut(), chunk, GFP_KERNEL | flags::__GFP_NOWARN)?;

        // SAFETY: A live vIOMMU has a valid context and nesting parent HWPT, with its IOAS.
        let (ictx, ioas) = unsafe { ((*viommu.raw()).ictx, (*(*viommu.raw()).hwpt).ioas) };
        // SAFETY: `ictx` is valid.
        let access = from_err_ptr(unsafe { bindings::iommufd_access_create_internal(ictx) })?;
        // SAFETY: `access` is a fresh internal access, `ioas` a live IOAS of the same context.
        if let Err(e) = to_result(unsafe { bindings::iommufd_access_attach_internal(access, ioas) })
        {
            // SAFETY: Not attached: destroy only.
            unsafe { bindings::iommufd_access_destroy_internal(ictx, access) };
            return Err(e);
        }
        // INVARIANT: No chunk is pinned yet; `release` is told how many are until the end.
        let mut this = Self {
            // SAFETY: Valid pointers are non-null.
            ictx: unsafe { NonNull::new_unchecked(ictx) },
            // SAFETY: `from_err_ptr` passed a valid access pointer.
            access: unsafe { NonNull::new_unchecked(access) },
            iova,
            length,
        };

        let mut pinned = 0;
        let mut verdict = Ok(());
        for (chunk_iova, n) in span.chunks(Self::CHUNK_PAGES, PAGE_SHIFT as u32) {
            let buf = &mut pages[..n as usize];
            // SAFETY: `access` is attached; `buf` has room for the `n` pages of the chunk.
            let rc = unsafe {
                bindings::iommufd_access_pin_pages(
                    access,
                    chunk_iova as usize,
                    (n << PAGE_SHIFT) as usize,
                    buf.as_mut_ptr(),
                    0,
                )
            };
            if let Err(e) = to_result(rc) {
                this.release(pinned);
                core::mem::forget(this);
                return Err(e);
            }
            pinned += 1;
            if verdict.is_ok() {
                verdict = visit(Pfns(buf.iter()));
            }
        }
        if let Err(e) = verdict {
            this.release(pinned);
            core::mem::forget(this);
            return Err(e);
        }
        Ok(this)
    }

    /// The pinned range as given to [`PinnedAccess::pin`].
    #[inline]
    pub fn range(&self) -> (u64, u64) {
        (self.iova, self.length)
    }

    /// Unpins the first `pinned` chunks, then detaches and destroys the access. The caller
    /// forgets `self` afterwards, or is its `drop`.
    fn release(&mut self, pinned: usize) {
        // Cannot fail: `pin` made a span of the same range.
        if let Ok(span) = PageSpan::new(self.iova, self.length, PAGE_SHIFT as u32) {
            for (iova, n) in span
                .chunks(Self::CHUNK_PAGES, PAGE_SHIFT as u32)
                .take(pinned)
            {
                // SAFETY: This chunk was pinned on the attached access (type invariants).
                unsafe {
                    bindings::iommufd_access_unpin_pages(
                        self.access.as_ptr(),
                        iova as usize,
                        (n << PAGE_SHIFT) as usize,
                    )
                };
            }
        }
        // SAFETY: `access` is an attached internal access of `ictx` with nothing pinned.
        unsafe {
            bindings::iommufd_access_detach_internal(self.access.as_ptr());
            bindings::iommufd_access_destroy_internal(self.ictx.as_ptr(), self.access.as_ptr());
        }
    }

    #[inline]
    fn into_raw(self) -> (*mut bindings::iommufd_access, u64, u64) {
        let raw = (self.access.as_ptr(), self.iova, self.length);
        core::mem::forget(self);
        raw
    }

    /// # Safety
    ///
    /// The arguments must come from [`PinnedAccess::into_raw`] of a value of context `ictx`, and
    /// be used once.
    unsafe fn from_raw(
        ictx: *mut bindings::iommufd_ctx,
        access: *mut bindings::iommufd_access,
        iova: u64,
        length: u64,
    ) -> Self {
        // INVARIANT: As `into_raw` gave them up.
        Self {
            // SAFETY: Non-null, as `into_raw` gave them up.
            ictx: unsafe { NonNull::new_unchecked(ictx) },
            // SAFETY: As above.
            access: unsafe { NonNull::new_unchecked(access) },
            iova,
            length,
        }
    }
}

impl Drop for PinnedAccess {
    fn drop(&mut self) {
        // Every chunk is pinned (type invariants).
        self.release(usize::MAX);
    }
}

// Used by `Pfns`; `PAGE_SIZE` documents the unit of `CHUNK_PAGES`.
const _: () = assert!(PinnedAccess::CHUNK_PAGES as usize * size_of::<usize>() <= 4 * PAGE_SIZE);

#[cfg(CONFIG_KUNIT)]
#[macros::kunit_tests(rust_iommufd_page_span)]
mod tests {
    use super::*;

    const SHIFT: u32 = 12;

    #[test]
    fn aligned() -> Result {
        let s = PageSpan::new(0x10000, 0x2000, SHIFT)?;
        assert_eq!(
            s,
            PageSpan {
                aligned_iova: 0x10000,
                offset: 0,
                npages: 2
            }
        );
        Ok(())
    }

    #[test]
    fn unaligned_crosses_pages() -> Result {
        // 16 bytes straddling a page boundary need two pages.
        let s = PageSpan::new(0x10ff8, 16, SHIFT)?;
        assert_eq!(
            s,
            PageSpan {
                aligned_iova: 0x10000,
                offset: 0xff8,
                npages: 2
            }
        );
        // One byte at the end of a page needs one.
        assert_eq!(PageSpan::new(0x10fff, 1, SHIFT)?.npages, 1);
        // A whole page starting one byte in needs two.
        assert_eq!(PageSpan::new(0x10001, 0x1000, SHIFT)?.npages, 2);
        // Half a page in the second half of a page needs one.
        assert_eq!(PageSpan::new(0x10800, 0x800, SHIFT)?.npages, 1);
        Ok(())
    }

    #[test]
    fn overflow_edges() -> Result {
        // The last page of the address space.
        let s = PageSpan::new(u64::MAX - 0xfff, 0x1000, SHIFT)?;
        assert_eq!(
            s,
            PageSpan {
                aligned_iova: u64::MAX - 0xfff,
                offset: 0,
                npages: 1
            }
        );
        // Rounding the length up to a page overflows.
        assert_eq!(PageSpan::new(0, u64::MAX, SHIFT), Err(ERANGE));
        assert_eq!(PageSpan::new(0, u64::MAX - 0xffe, SHIFT), Err(ERANGE));
        assert_eq!(
            PageSpan::new(0, u64::MAX - 0xfff, SHIFT)?.npages,
            u64::MAX >> SHIFT
        );
        // Offset plus length overflows.
        assert_eq!(PageSpan::new(0xfff, u64::MAX, SHIFT), Err(ERANGE));
        Ok(())
    }

    #[test]
    fn chunks() -> Result {
        let s = PageSpan::new(0x3000, 5 * 0x1000, SHIFT)?;
        let mut it = s.chunks(2, SHIFT);
        assert_eq!(it.next(), Some((0x3000, 2)));
        assert_eq!(it.next(), Some((0x5000, 2)));
        assert_eq!(it.next(), Some((0x7000, 1)));
        assert_eq!(it.next(), None);
        // The last page of the address space, in one chunk.
        let s = PageSpan::new(u64::MAX - 0xfff, 0x1000, SHIFT)?;
        let mut it = s.chunks(PinnedAccess::CHUNK_PAGES, SHIFT);
        assert_eq!(it.next(), Some((u64::MAX - 0xfff, 1)));
        assert_eq!(it.next(), None);
        // A zero chunk size still makes progress.
        assert_eq!(s.chunks(0, SHIFT).count(), 1);
        // 8 MiB is one chunk, 8 MiB and a byte two.
        assert_eq!(
            PageSpan::new(0, 8 << 20, SHIFT)?
                .chunks(PinnedAccess::CHUNK_PAGES, SHIFT)
                .count(),
            1
        );
        assert_eq!(
            PageSpan::new(0, (8 << 20) + 1, SHIFT)?
                .chunks(PinnedAccess::CHUNK_PAGES, SHIFT)
                .count(),
            2
        );
        Ok(())
    }
}
