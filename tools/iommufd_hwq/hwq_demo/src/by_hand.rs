// SPDX-License-Identifier: GPL-2.0
//! What a VMM needs here that `iommufd-ioctls` does not offer, by hand: the selftest's mock
//! device (`IOMMU_TEST_CMD` of `drivers/iommu/iommufd/iommufd_test.h`, which stands in for a
//! VFIO device bound to the iommufd), the mapping of the VINTF page the vIOMMU hands out, and
//! guest memory that is physically contiguous (a hugepage).

use iommufd_ioctls::AttachHwpt;
use std::io;
use std::os::unix::io::RawFd;

/// `IOMMU_TEST_CMD`: `_IO(IOMMUFD_TYPE, IOMMUFD_CMD_BASE + 32)`.
const IOMMU_TEST_CMD: libc::c_ulong = 0x3ba0;
const IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE: u32 = 10;
const IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS: u32 = 12;
const IOMMU_TEST_OP_DEV_CHECK_CACHE: u32 = 16;
/// A mock device that presents the emulated Tegra241 CMDQV.
pub const MOCK_FLAGS_DEVICE_TEGRA241_CMDQV: u32 = 1 << 3;
/// The value of a mock device's cache entries until they are invalidated.
pub const DEV_CACHE_DEFAULT: u32 = 0xbaddad;

/// `struct iommu_test_cmd`: 16 bytes of header, a 48-byte union, `last`.
#[repr(C)]
#[derive(Default)]
struct TestCmd {
    size: u32,
    op: u32,
    id: u32,
    reserved: u32,
    union: [u32; 12],
    last: u32,
    pad: u32,
}

fn test_cmd(fd: RawFd, op: u32, id: u32, args: &[u32]) -> io::Result<[u32; 12]> {
    let mut cmd = TestCmd {
        size: std::mem::size_of::<TestCmd>() as u32,
        op,
        id,
        ..Default::default()
    };
    cmd.union[..args.len()].copy_from_slice(args);
    // SAFETY: `cmd` is a valid `struct iommu_test_cmd` for the duration of the call.
    if unsafe { libc::ioctl(fd, IOMMU_TEST_CMD, &mut cmd) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(cmd.union)
}

/// A mock device, bound to the iommufd and attached to a HWPT of its own in an IOAS.
pub struct MockDevice {
    fd: RawFd,
    /// The test object holding the device.
    pub stdev_id: u32,
    /// The HWPT it was first attached to.
    pub hwpt_id: u32,
    /// Its iommufd device ID, what VFIO_DEVICE_BIND_IOMMUFD would return.
    pub idev_id: u32,
}

impl MockDevice {
    /// `IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS`: a mock device with `flags`, attached in `ioas_id`.
    pub fn new(fd: RawFd, ioas_id: u32, flags: u32) -> io::Result<Self> {
        let out = test_cmd(
            fd,
            IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS,
            ioas_id,
            &[0, 0, 0, flags],
        )?;
        Ok(Self {
            fd,
            stdev_id: out[0],
            hwpt_id: out[1],
            idev_id: out[2],
        })
    }

    /// `IOMMU_TEST_OP_DEV_CHECK_CACHE`: whether cache entry `entry` holds `value`.
    pub fn cache_is(&self, entry: u32, value: u32) -> io::Result<bool> {
        match test_cmd(
            self.fd,
            IOMMU_TEST_OP_DEV_CHECK_CACHE,
            self.idev_id,
            &[entry, value],
        ) {
            Ok(_) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Cache entry `entry`, as far as the two values a demo expects tell.
    pub fn cache_entry(&self, entry: u32) -> io::Result<Option<u32>> {
        for value in [DEV_CACHE_DEFAULT, 0] {
            if self.cache_is(entry, value)? {
                return Ok(Some(value));
            }
        }
        Ok(None)
    }

    fn replace(&self, pt_id: u32) -> io::Result<()> {
        test_cmd(
            self.fd,
            IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
            self.stdev_id,
            &[pt_id],
        )
        .map(|_| ())
    }
}

impl AttachHwpt for MockDevice {
    fn attach_hwpt(&self, pt_id: u32) -> io::Result<()> {
        self.replace(pt_id)
    }

    /// The mock has no detach: back to the HWPT it started on.
    fn detach_hwpt(&self) -> io::Result<()> {
        self.replace(self.hwpt_id)
    }
}

/// A shared mapping, unmapped on drop.
pub struct Mapping {
    ptr: *mut libc::c_void,
    len: usize,
}

impl Mapping {
    /// `mmap()` of `len` bytes of `fd` at `offset`: the VINTF page the vIOMMU hands out.
    pub fn file(fd: RawFd, offset: u64, len: u64) -> io::Result<Self> {
        Self::map(len as usize, libc::MAP_SHARED, fd, offset as libc::off_t)
    }

    /// Anonymous memory in one hugepage, so physically contiguous, zeroed.
    pub fn hugepage(len: usize) -> io::Result<Self> {
        Self::map(
            len,
            libc::MAP_SHARED | libc::MAP_ANONYMOUS | libc::MAP_HUGETLB,
            -1,
            0,
        )
    }

    fn map(len: usize, flags: libc::c_int, fd: RawFd, offset: libc::off_t) -> io::Result<Self> {
        // SAFETY: A new mapping, at an address the kernel chooses.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                flags,
                fd,
                offset,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Self { ptr, len })
    }

    /// Where it is mapped.
    pub fn addr(&self) -> u64 {
        self.ptr as u64
    }

    /// Its length.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Reads the `u32` at `offset`, as MMIO is read.
    pub fn read32(&self, offset: usize) -> u32 {
        assert!(offset + 4 <= self.len);
        // SAFETY: In the mapping, aligned; the "hardware" writes it concurrently.
        unsafe { std::ptr::read_volatile(self.ptr.cast::<u8>().add(offset).cast::<u32>()) }
    }

    /// Writes the `u32` at `offset`, as MMIO is written.
    pub fn write32(&self, offset: usize, value: u32) {
        assert!(offset + 4 <= self.len);
        std::sync::atomic::fence(std::sync::atomic::Ordering::Release);
        // SAFETY: In the mapping, aligned.
        unsafe { std::ptr::write_volatile(self.ptr.cast::<u8>().add(offset).cast::<u32>(), value) }
    }

    /// Writes the `u64` at `offset`.
    pub fn write64(&self, offset: usize, value: u64) {
        assert!(offset + 8 <= self.len);
        // SAFETY: In the mapping, aligned.
        unsafe { std::ptr::write_volatile(self.ptr.cast::<u8>().add(offset).cast::<u64>(), value) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: Mapped by `map`, and not used past this point.
        unsafe { libc::munmap(self.ptr, self.len) };
    }
}
