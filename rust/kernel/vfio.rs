// SPDX-License-Identifier: GPL-2.0

//! VFIO devices.
//!
//! C header: [`include/linux/vfio.h`](srctree/include/linux/vfio.h).
//!
//! A driver hands a device it has bound to user space by registering it with VFIO: the VFIO core
//! creates its character device, `/dev/vfio/devices/vfioN`, through which a VMM binds it to an
//! iommufd (`VFIO_DEVICE_BIND_IOMMUFD`) and attaches it to the IOAS or HWPT of its choice
//! (`VFIO_DEVICE_ATTACH_IOMMUFD_PT`). A [`Registration`] is such a device for as long as it
//! lives; a driver keeps it in its bound device's data.
//!
//! Only the physical iommufd binding is offered: the device's own IOMMU translates its DMA, and
//! iommufd's device object is the device itself, as for `vfio-pci`. A driver presents what the
//! device is and its regions through [`Driver`]: a PCI function ([`DeviceInfo::PCI`]) is what
//! VMMs' `vfio-pci` code takes.

use crate::{
    bindings,
    device::{
        self,
        Bound, //
    },
    error::{
        from_err_ptr,
        to_result,
        VTABLE_DEFAULT_ERROR, //
    },
    prelude::*,
    str::as_char_ptr_in_const_context,
    types::Opaque,
    uaccess::{
        UserPtr,
        UserSlice, //
    }, //
};
use core::{
    mem::size_of,
    ptr::NonNull, //
};

/// What `VFIO_DEVICE_GET_INFO` reports of a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceInfo {
    /// `VFIO_DEVICE_FLAGS_*`: the kind of device ([`DeviceInfo::PCI`]). The abstraction adds
    /// `VFIO_DEVICE_FLAGS_RESET` when the driver implements [`Driver::reset`].
    pub flags: u32,
    /// The number of regions, the largest index plus one.
    pub num_regions: u32,
    /// The number of interrupt indexes, the largest plus one.
    pub num_irqs: u32,
}

impl DeviceInfo {
    /// A PCI function, as `vfio-pci` presents one: `VFIO_DEVICE_FLAGS_PCI`, the regions of
    /// `enum vfio_pci_region_index` and the interrupts of `enum vfio_pci_irq_index`.
    pub const PCI: Self = Self {
        flags: bindings::VFIO_DEVICE_FLAGS_PCI,
        num_regions: bindings::VFIO_PCI_NUM_REGIONS,
        num_irqs: bindings::VFIO_PCI_NUM_IRQS,
    };
}

/// The region indexes of a PCI function (`enum vfio_pci_region_index`).
pub mod pci_region {
    use crate::bindings;

    /// BAR 0; BARs 1 to 5 follow.
    pub const BAR0: u32 = bindings::VFIO_PCI_BAR0_REGION_INDEX;
    /// BAR 5.
    pub const BAR5: u32 = bindings::VFIO_PCI_BAR5_REGION_INDEX;
    /// The expansion ROM.
    pub const ROM: u32 = bindings::VFIO_PCI_ROM_REGION_INDEX;
    /// The configuration space.
    pub const CONFIG: u32 = bindings::VFIO_PCI_CONFIG_REGION_INDEX;
    /// The legacy VGA ranges.
    pub const VGA: u32 = bindings::VFIO_PCI_VGA_REGION_INDEX;
}

/// What `VFIO_DEVICE_GET_REGION_INFO` reports of a region. Its offset in the device file is
/// [`region_offset()`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegionInfo {
    /// The size in bytes; 0 for a region the device does not have.
    pub size: u64,
    /// `VFIO_REGION_INFO_FLAG_*`: [`RegionInfo::READ`], [`RegionInfo::WRITE`].
    pub flags: u32,
}

impl RegionInfo {
    /// The region can be read ([`Driver::read`]).
    pub const READ: u32 = bindings::VFIO_REGION_INFO_FLAG_READ;
    /// The region can be written ([`Driver::write`]).
    pub const WRITE: u32 = bindings::VFIO_REGION_INFO_FLAG_WRITE;
    /// A region the device does not have.
    pub const NONE: Self = Self { size: 0, flags: 0 };
}

/// What `VFIO_DEVICE_GET_IRQ_INFO` reports of an interrupt index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IrqInfo {
    /// `VFIO_IRQ_INFO_*`.
    pub flags: u32,
    /// The number of interrupts of the index; 0 for none.
    pub count: u32,
}

/// Where region `index` starts in the device file, as `vfio-pci` lays its regions out: each at
/// `index << 40`, so that an offset within a region has 40 bits.
pub const fn region_offset(index: u32) -> u64 {
    (index as u64) << REGION_SHIFT
}

const REGION_SHIFT: u32 = 40;

/// The largest read or write the abstraction passes to the driver at once.
const CHUNK: usize = 256;

/// The operations of a VFIO driver's devices.
///
/// A driver that implements [`Driver::info`] answers `VFIO_DEVICE_GET_INFO`,
/// `VFIO_DEVICE_GET_IRQ_INFO` ([`Driver::irq_info`]) and `VFIO_DEVICE_RESET`
/// ([`Driver::reset`]); [`Driver::region_info`], [`Driver::read`] and [`Driver::write`] serve
/// its regions, at [`region_offset()`] in the device file. Interrupts cannot be set up
/// (`VFIO_DEVICE_SET_IRQS` fails with `EINVAL`).
#[vtable]
pub trait Driver: Sized + Send + Sync {
    /// The driver's name.
    const NAME: &'static CStr;

    /// What the device is, and how many regions and interrupt indexes it has.
    fn info(_this: &Self) -> DeviceInfo {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Region `index`, below [`DeviceInfo::num_regions`].
    fn region_info(_this: &Self, _index: u32) -> Result<RegionInfo> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Interrupt index `index`, below [`DeviceInfo::num_irqs`].
    fn irq_info(_this: &Self, _index: u32) -> Result<IrqInfo> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Reads `buf.len()` bytes (at most 256) of region `index` at `offset`; returns how many
    /// were read.
    fn read(_this: &Self, _index: u32, _offset: u64, _buf: &mut [u8]) -> Result<usize> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Writes `data` (at most 256 bytes) to region `index` at `offset`; returns how many bytes
    /// were written.
    fn write(_this: &Self, _index: u32, _offset: u64, _data: &[u8]) -> Result<usize> {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Resets the device (`VFIO_DEVICE_RESET`).
    fn reset(_this: &Self) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// The device is being removed while user space has it open: asks user space to close it
    /// (for the `count`th time, from 0). Removal waits until it is closed.
    fn request(_this: &Self, _count: u32) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// The ioctls of a VFIO device that the VFIO core passes to its driver.
mod cmd {
    use crate::ioctl::_IO;

    const TYPE: u32 = b';' as u32;
    const BASE: u32 = 100;
    pub(super) const GET_INFO: u32 = _IO(TYPE, BASE + 7);
    pub(super) const GET_IRQ_INFO: u32 = _IO(TYPE, BASE + 9);
    pub(super) const SET_IRQS: u32 = _IO(TYPE, BASE + 10);
    pub(super) const RESET: u32 = _IO(TYPE, BASE + 11);
}

/// A VFIO device of driver `T`: the C `struct vfio_device`, and the driver's data.
///
/// # Invariants
///
/// `vdev` is at offset 0 and was allocated by `_vfio_alloc_device()` with the size of `Self`
/// and `Self::OPS`; `data` is initialized from before the device is registered until the VFIO
/// core releases it (`release_callback`).
#[repr(C)]
pub struct Device<T: Driver> {
    vdev: Opaque<bindings::vfio_device>,
    data: T,
}

impl<T: Driver> Device<T> {
    const OPS: bindings::vfio_device_ops = bindings::vfio_device_ops {
        name: as_char_ptr_in_const_context(T::NAME).cast_mut(),
        release: Some(Self::release_callback),
        bind_iommufd: Some(bindings::vfio_iommufd_physical_bind),
        unbind_iommufd: Some(bindings::vfio_iommufd_physical_unbind),
        attach_ioas: Some(bindings::vfio_iommufd_physical_attach_ioas),
        detach_ioas: Some(bindings::vfio_iommufd_physical_detach_ioas),
        pasid_attach_ioas: Some(bindings::vfio_iommufd_physical_pasid_attach_ioas),
        pasid_detach_ioas: Some(bindings::vfio_iommufd_physical_pasid_detach_ioas),
        request: if T::HAS_REQUEST {
            Some(Self::request_callback)
        } else {
            None
        },
        ioctl: if T::HAS_INFO {
            Some(Self::ioctl_callback)
        } else {
            None
        },
        get_region_info_caps: if T::HAS_REGION_INFO {
            Some(Self::region_info_callback)
        } else {
            None
        },
        read: if T::HAS_READ {
            Some(Self::read_callback)
        } else {
            None
        },
        write: if T::HAS_WRITE {
            Some(Self::write_callback)
        } else {
            None
        },
        // SAFETY: The remaining fields are optional callbacks, for which `None` (all zeroes)
        // means absent.
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
    };

    /// The driver's data.
    pub fn data(&self) -> &T {
        &self.data
    }

    /// # Safety
    ///
    /// `vdev` is the `vdev` of a live `Device<T>`, for `'a`.
    unsafe fn from_raw<'a>(vdev: *mut bindings::vfio_device) -> &'a Self {
        // SAFETY: `vdev` is at offset 0 of a live `Self` (type invariants, contract).
        unsafe { &*vdev.cast::<Self>() }
    }

    /// # Safety
    ///
    /// Called by the VFIO core once, when the last reference on `vdev`, a `Device<T>`, goes,
    /// before it frees the memory.
    unsafe extern "C" fn release_callback(vdev: *mut bindings::vfio_device) {
        let this = vdev.cast::<Self>();
        // SAFETY: `data` is initialized until now, and nothing uses it after (type invariants,
        // contract).
        unsafe { core::ptr::drop_in_place(&raw mut (*this).data) };
    }

    fn ioctl(&self, cmd: u32, arg: usize) -> Result {
        let user = UserSlice::new(UserPtr::from_addr(arg), 4 * size_of::<u32>());
        let (mut reader, mut writer) = user.reader_writer();
        match cmd {
            cmd::GET_INFO => {
                // argsz, flags, num_regions, num_irqs: no capabilities.
                let argsz = reader.read::<u32>()?;
                if (argsz as usize) < 4 * size_of::<u32>() {
                    return Err(EINVAL);
                }
                let info = T::info(&self.data);
                let reset = if T::HAS_RESET {
                    bindings::VFIO_DEVICE_FLAGS_RESET
                } else {
                    0
                };
                for v in [argsz, info.flags | reset, info.num_regions, info.num_irqs] {
                    writer.write(&v)?;
                }
                Ok(())
            }
            cmd::GET_IRQ_INFO => {
                // argsz, flags, index, count.
                let argsz = reader.read::<u32>()?;
                let _flags = reader.read::<u32>()?;
                let index = reader.read::<u32>()?;
                if (argsz as usize) < 4 * size_of::<u32>() || index >= T::info(&self.data).num_irqs
                {
                    return Err(EINVAL);
                }
                let irq = if T::HAS_IRQ_INFO {
                    T::irq_info(&self.data, index)?
                } else {
                    IrqInfo { flags: 0, count: 0 }
                };
                for v in [argsz, irq.flags, index, irq.count] {
                    writer.write(&v)?;
                }
                Ok(())
            }
            cmd::SET_IRQS => Err(EINVAL),
            cmd::RESET if T::HAS_RESET => T::reset(&self.data),
            _ => Err(ENOTTY),
        }
    }

    /// # Safety
    ///
    /// Called by the VFIO core with a registered `Device<T>`, for a file that is bound.
    unsafe extern "C" fn ioctl_callback(
        vdev: *mut bindings::vfio_device,
        cmd: c_uint,
        arg: c_ulong,
    ) -> c_long {
        // SAFETY: Registered, so live for the call (contract).
        let this = unsafe { Self::from_raw(vdev) };
        match this.ioctl(cmd, arg) {
            Ok(()) => 0,
            Err(e) => e.to_errno() as c_long,
        }
    }

    /// # Safety
    ///
    /// Called by the VFIO core with a registered `Device<T>` and the region information it
    /// copied in, whose `index` it asks for.
    unsafe extern "C" fn region_info_callback(
        vdev: *mut bindings::vfio_device,
        info: *mut bindings::vfio_region_info,
        _caps: *mut bindings::vfio_info_cap,
    ) -> c_int {
        // SAFETY: Registered, so live for the call; `info` is valid for it (contract).
        let (this, info) = unsafe { (Self::from_raw(vdev), &mut *info) };
        if info.index >= T::info(&this.data).num_regions {
            return EINVAL.to_errno();
        }
        match T::region_info(&this.data, info.index) {
            Ok(region) => {
                info.size = region.size;
                info.flags = region.flags;
                info.offset = region_offset(info.index);
                0
            }
            Err(e) => e.to_errno(),
        }
    }

    /// Reads or writes `count` bytes at `*pos` of the device file from or to `buf`, in chunks;
    /// returns how many, or an error, as `read()` and `write()` do.
    fn rw(&self, buf: usize, count: usize, pos: &mut i64, write: bool) -> isize {
        match self.try_rw(buf, count, pos, write) {
            Ok(n) => n as isize,
            Err(e) => e.to_errno() as isize,
        }
    }

    fn try_rw(&self, buf: usize, count: usize, pos: &mut i64, write: bool) -> Result<usize> {
        let start = u64::try_from(*pos).map_err(|_| EINVAL)?;
        let index = u32::try_from(start >> REGION_SHIFT).map_err(|_| EINVAL)?;
        let offset = start & ((1 << REGION_SHIFT) - 1);
        let user = UserSlice::new(UserPtr::from_addr(buf), count);
        let (mut reader, mut writer) = user.reader_writer();
        let mut chunk = [0u8; CHUNK];
        let mut done = 0;
        while done < count {
            let len = (count - done).min(CHUNK);
            let at = offset.checked_add(done as u64).ok_or(EINVAL)?;
            let n = if write {
                reader.read_slice(&mut chunk[..len])?;
                T::write(&self.data, index, at, &chunk[..len])?.min(len)
            } else {
                let n = T::read(&self.data, index, at, &mut chunk[..len])?.min(len);
                writer.write_slice(&chunk[..n])?;
                n
            };
            done += n;
            if n < len {
                break;
            }
        }
        *pos += done as i64;
        Ok(done)
    }

    /// # Safety
    ///
    /// Called by the VFIO core with a registered `Device<T>`, for a file that is bound, and a
    /// valid `pos`.
    unsafe extern "C" fn read_callback(
        vdev: *mut bindings::vfio_device,
        buf: *mut c_char,
        count: usize,
        pos: *mut bindings::loff_t,
    ) -> isize {
        // SAFETY: Registered, so live for the call; `pos` is valid for it (contract).
        let (this, pos) = unsafe { (Self::from_raw(vdev), &mut *pos) };
        this.rw(buf as usize, count, pos, false)
    }

    /// # Safety
    ///
    /// As [`Self::read_callback`].
    unsafe extern "C" fn write_callback(
        vdev: *mut bindings::vfio_device,
        buf: *const c_char,
        count: usize,
        pos: *mut bindings::loff_t,
    ) -> isize {
        // SAFETY: Registered, so live for the call; `pos` is valid for it (contract).
        let (this, pos) = unsafe { (Self::from_raw(vdev), &mut *pos) };
        this.rw(buf as usize, count, pos, true)
    }

    /// # Safety
    ///
    /// Called by the VFIO core with a registered `Device<T>`.
    unsafe extern "C" fn request_callback(vdev: *mut bindings::vfio_device, count: u32) {
        // SAFETY: Registered, so live for the call (contract).
        let this = unsafe { Self::from_raw(vdev) };
        T::request(&this.data, count);
    }
}

/// A registered VFIO device of driver `T`, with a physical iommufd binding, for the life of the
/// value.
///
/// # Invariants
///
/// `dev` is a registered `Device<T>`, on which the registration holds the reference that
/// `_vfio_alloc_device()` gave.
pub struct Registration<T: Driver> {
    dev: NonNull<Device<T>>,
}

// SAFETY: The device may be used and unregistered from any thread; `T` is `Send + Sync`.
unsafe impl<T: Driver> Send for Registration<T> {}
// SAFETY: `&Registration` only gives `&Device<T>`, which is `Sync` as `T` is.
unsafe impl<T: Driver> Sync for Registration<T> {}

impl<T: Driver> Registration<T> {
    /// Registers `data` as a VFIO device of `parent`, which the caller's driver has bound and
    /// whose IOMMU translates its DMA.
    ///
    /// The VFIO core refuses a device whose IOMMU does not enforce cache coherency (`EINVAL`).
    /// Must be dropped before `parent` is unbound; dropping it waits until user space has closed
    /// the device (see [`Driver::request`]).
    pub fn new(parent: &device::Device<Bound>, data: T) -> Result<Self> {
        let ops: &'static bindings::vfio_device_ops = &Device::<T>::OPS;
        // SAFETY: `parent` is a valid device; the size is that of a `Device<T>`, whose
        // `struct vfio_device` is at offset 0; `ops` is static.
        let vdev = from_err_ptr(unsafe {
            bindings::_vfio_alloc_device(core::mem::size_of::<Device<T>>(), parent.as_raw(), ops)
        })?;
        let dev = vdev.cast::<Device<T>>();
        // SAFETY: `dev` is a new `Device<T>`, whose `data` is not initialized yet and is
        // written once, here, before anything can release it.
        unsafe { (&raw mut (*dev).data).write(data) };
        // SAFETY: `vdev` is allocated and initialized by `_vfio_alloc_device()`.
        if let Err(e) = to_result(unsafe { bindings::vfio_register_group_dev(vdev) }) {
            // SAFETY: The reference `_vfio_alloc_device()` gave; dropping it releases the
            // device, and `data` with it.
            unsafe { bindings::put_device(&raw mut (*vdev).device) };
            return Err(e);
        }
        // INVARIANT: Registered above, with the allocation's reference.
        Ok(Self {
            // SAFETY: `from_err_ptr()` returned a valid pointer.
            dev: unsafe { NonNull::new_unchecked(dev) },
        })
    }

    /// The device.
    pub fn device(&self) -> &Device<T> {
        // SAFETY: Live while registered (type invariants).
        unsafe { self.dev.as_ref() }
    }
}

impl<T: Driver> Drop for Registration<T> {
    fn drop(&mut self) {
        let vdev = self.dev.as_ptr().cast::<bindings::vfio_device>();
        // SAFETY: Registered (type invariants); this waits until user space has closed it, and
        // then drops the registration's reference, which releases it once nothing else holds
        // it.
        unsafe {
            bindings::vfio_unregister_group_dev(vdev);
            bindings::put_device(&raw mut (*vdev).device);
        }
    }
}
