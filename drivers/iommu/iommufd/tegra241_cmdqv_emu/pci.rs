// SPDX-License-Identifier: GPL-2.0

//! The PCI function that the module's devices present to VMMs through VFIO.
//!
//! What a VMM's `vfio-pci` code needs of a device before it passes it to a guest: a
//! configuration space with a type 0 header, a PCI Express capability (so that it has an
//! extended configuration space) and an ATS extended capability (its ATC is what a guest's
//! `CMD_ATC_INV` reaches), and a memory BAR. The function has no interrupts (interrupt pin 0, no
//! MSI or MSI-X capability) and does no DMA of its own.
//!
//! Its IDs are Red Hat's for QEMU's PCI test device (1b36:0005), which no guest driver binds:
//! it is a test function. BAR 0 holds the function's StreamID, a scratch register that a guest
//! can write and read back, and the function's ATC (the mock device's cache), which shows what
//! a guest's `CMD_ATC_INV` did.
//!
//! A VMM may write the command register and ATS control; every other bit of the configuration
//! space is read-only, and a VMM such as QEMU emulates the BARs' sizing itself.

use core::ops::Range;
use kernel::{
    device::Device,
    io::{
        register,
        register::{
            Array,
            Register, //
        },
        sysmem::SysMem,
        Io, //
    },
    iommu::iommufd::driver::mock,
    new_mutex,
    page::PAGE_SIZE,
    prelude::*,
    sync::{
        aref::ARef,
        Mutex, //
    }, //
};

/// The size of the configuration space, with the PCI Express extended space.
pub(crate) const CONFIG_SIZE: usize = 0x1000;
/// The size of BAR 0.
pub(crate) const BAR0_SIZE: usize = 0x1000;
/// The memory that holds each: at least a page.
const BACKING: usize = if PAGE_SIZE > 0x1000 {
    PAGE_SIZE
} else {
    0x1000
};

/// Registers in kernel memory, at least a page of it.
type Regs = SysMem<BACKING>;

/// Where the PCI Express capability is.
const PCIE_CAP: u8 = 0x40;

register! {
    /// Vendor ID.
    VENDOR_ID(u16) @ 0x00 {
        15:0 id;
    }

    /// Device ID.
    DEVICE_ID(u16) @ 0x02 {
        15:0 id;
    }

    /// Command register: what the function may do.
    COMMAND(u16) @ 0x04 {
        /// Interrupt disable.
        10:10 intx_disable => bool;
        /// Bus master: the function may issue requests, ATS translation requests included.
        2:2 bus_master => bool;
        /// Memory space: the function answers its memory BAR.
        1:1 memory => bool;
    }

    /// Status register.
    STATUS(u16) @ 0x06 {
        /// The function has a capability list.
        4:4 cap_list => bool;
    }

    /// Revision ID and class code.
    CLASS_REV(u32) @ 0x08 {
        /// Base class.
        31:24 class;
        /// Subclass.
        23:16 subclass;
        /// Programming interface.
        15:8 prog_if;
        /// Revision.
        7:0 revision;
    }

    /// Header type.
    HEADER_TYPE(u8) @ 0x0e {
        /// Layout: 0 for a type 0 (endpoint) header.
        6:0 layout;
    }

    /// BAR 0.
    BAR0(u32) @ 0x10 {
        /// Address, aligned to the BAR's size.
        31:4 address;
        /// Prefetchable.
        3:3 prefetchable => bool;
        /// Type: 0 for 32-bit.
        2:1 kind;
        /// 0 for a memory BAR.
        0:0 io => bool;
    }

    /// Subsystem vendor ID and subsystem ID.
    SUBSYSTEM(u32) @ 0x2c {
        31:16 id;
        15:0 vendor_id;
    }

    /// Where the capability list starts.
    CAP_PTR(u8) @ 0x34 {
        7:0 offset;
    }

    /// The PCI Express capability's header.
    PCIE_CAP_HDR(u32) @ 0x40 {
        /// Device/port type: 0 for an endpoint.
        23:20 port_type;
        /// Capability version.
        19:16 version;
        /// Next capability: none.
        15:8 next;
        /// Capability ID: 0x10.
        7:0 id;
    }

    /// The ATS extended capability's header: the first of the extended space.
    ATS_HDR(u32) @ 0x100 {
        /// Next extended capability: none.
        31:20 next;
        /// Capability version.
        19:16 version;
        /// Extended capability ID: 0x000f.
        15:0 id;
    }

    /// ATS capability.
    ATS_CAPABILITY(u16) @ 0x104 {
        /// Page aligned requests.
        5:5 page_aligned => bool;
        /// Invalidate queue depth: 0 for 32.
        4:0 queue_depth;
    }

    /// ATS control.
    ATS_CONTROL(u16) @ 0x106 {
        /// ATS is enabled.
        15:15 enable => bool;
        /// Smallest translation unit, log2 of 4 KiB units.
        4:0 stu;
    }
}

/// The entries of the function's ATC that BAR 0 shows.
pub(crate) const ATC_ENTRIES: usize = 4;

register! {
    /// BAR 0: the function's StreamID.
    SID(u32) @ 0x00 {
        31:0 sid;
    }

    /// BAR 0: a register the guest writes and reads back.
    SCRATCH(u32) @ 0x04 {
        31:0 value;
    }

    /// BAR 0: the function's ATC, one entry per substream (SSID 0 to 3), as a guest's
    /// `CMD_ATC_INV` leaves it: 0 once invalidated. Writing an entry stands for the function
    /// caching a translation there.
    ATC(u32)[ATC_ENTRIES] @ 0x100 {
        31:0 value;
    }
}

const _: () = assert!(PCIE_CAP as usize == PCIE_CAP_HDR::OFFSET);

/// The function's configuration space and BAR 0, as a VMM reads and writes them.
pub(crate) struct Function {
    /// The mock device behind the emulated SMMU, whose cache is the function's ATC.
    dev: ARef<Device>,
    sid: u32,
    config: Regs,
    bar0: Regs,
    /// Serializes the read-modify-write of writable registers.
    write: Pin<KBox<Mutex<()>>>,
}

impl Function {
    /// The function of `dev`, just reset.
    pub(crate) fn new(dev: ARef<Device>) -> Result<Self> {
        let sid = mock::dev_sid(&dev)?;
        let this = Self {
            dev,
            sid,
            config: SysMem::new()?,
            bar0: SysMem::new()?,
            write: KBox::pin_init(new_mutex!(()), GFP_KERNEL)?,
        };
        this.reset();
        Ok(this)
    }

    /// The function's StreamID.
    pub(crate) fn sid(&self) -> u32 {
        self.sid
    }

    /// Puts every register back to its value after a reset; a reset empties the ATC.
    pub(crate) fn reset(&self) {
        let _guard = self.write.lock();
        let config = &self.config;
        clear(config, CONFIG_SIZE);
        config.write_reg(VENDOR_ID::zeroed().with_const_id::<0x1b36>());
        config.write_reg(DEVICE_ID::zeroed().with_const_id::<0x0005>());
        config.write_reg(STATUS::zeroed().with_cap_list(true));
        // Base class 0xff: a device that fits no other class.
        config.write_reg(CLASS_REV::zeroed().with_const_class::<0xff>());
        config.write_reg(HEADER_TYPE::zeroed());
        // A 32-bit, non-prefetchable memory BAR, not placed yet.
        config.write_reg(BAR0::zeroed());
        config.write_reg(
            SUBSYSTEM::zeroed()
                .with_const_vendor_id::<0x1b36>()
                .with_const_id::<0x1100>(),
        );
        config.write_reg(CAP_PTR::zeroed().with_const_offset::<PCIE_CAP>());
        config.write_reg(
            PCIE_CAP_HDR::zeroed()
                .with_const_id::<0x10>()
                .with_const_version::<2>(),
        );
        config.write_reg(
            ATS_HDR::zeroed()
                .with_const_id::<0x000f>()
                .with_const_version::<1>(),
        );
        config.write_reg(ATS_CAPABILITY::zeroed().with_page_aligned(true));
        clear(&self.bar0, BAR0_SIZE);
        self.bar0.write_reg(SID::zeroed().with_sid(self.sid));
        // Cannot fail: the device is of the flavour.
        let _ = mock::invalidate_cache(&self.dev, None);
    }

    /// Reads `buf.len()` bytes of the configuration space at `offset`.
    pub(crate) fn read_config(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        read_bytes(&self.config, CONFIG_SIZE, offset, buf)
    }

    /// Writes `data` to the configuration space at `offset`. Of its bits, only those of the
    /// command register and ATS control that a VMM may set take the write.
    pub(crate) fn write_config(&self, offset: u64, data: &[u8]) -> Result<usize> {
        let bytes = within(CONFIG_SIZE, offset, data.len())?;
        let writable: [(usize, u16); 2] = [
            (
                COMMAND::OFFSET,
                COMMAND::zeroed()
                    .with_intx_disable(true)
                    .with_bus_master(true)
                    .with_memory(true)
                    .into(),
            ),
            (
                ATS_CONTROL::OFFSET,
                ATS_CONTROL::zeroed()
                    .with_enable(true)
                    .with_const_stu::<0x1f>()
                    .into(),
            ),
        ];
        let _guard = self.write.lock();
        for (at, &byte) in bytes.zip(data) {
            for &(reg, mask) in &writable {
                if (reg..reg + 2).contains(&at) {
                    let mask = mask.to_le_bytes()[at - reg];
                    let old = self.config.try_read8(at)?;
                    self.config.try_write8((old & !mask) | (byte & mask), at)?;
                }
            }
        }
        Ok(data.len())
    }

    /// Reads `buf.len()` bytes of BAR 0 at `offset`, the ATC as it is now.
    pub(crate) fn read_bar0(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let _guard = self.write.lock();
        self.load_atc()?;
        read_bytes(&self.bar0, BAR0_SIZE, offset, buf)
    }

    /// Writes `data` to BAR 0 at `offset`: only the scratch register and the ATC change.
    pub(crate) fn write_bar0(&self, offset: u64, data: &[u8]) -> Result<usize> {
        let bytes = within(BAR0_SIZE, offset, data.len())?;
        let scratch = SCRATCH::OFFSET..SCRATCH::OFFSET + 4;
        let atc = ATC::OFFSET..ATC::OFFSET + 4 * ATC_ENTRIES;
        let _guard = self.write.lock();
        self.load_atc()?;
        for (at, &byte) in bytes.zip(data) {
            if scratch.contains(&at) || atc.contains(&at) {
                self.bar0.try_write8(byte, at)?;
            }
        }
        self.store_atc()?;
        Ok(data.len())
    }

    /// Copies the ATC into BAR 0's registers.
    fn load_atc(&self) -> Result {
        for i in 0..ATC_ENTRIES {
            let value = mock::cache_entry(&self.dev, i as u32)?;
            self.bar0.write(
                ATC::try_at(i).ok_or(EINVAL)?,
                ATC::zeroed().with_value(value),
            );
        }
        Ok(())
    }

    /// Copies BAR 0's registers into the ATC.
    fn store_atc(&self) -> Result {
        for i in 0..ATC_ENTRIES {
            let value = self.bar0.read(ATC::try_at(i).ok_or(EINVAL)?).value().get();
            mock::set_cache_entry(&self.dev, i as u32, value)?;
        }
        Ok(())
    }
}

/// The bytes at `offset` of a region of `size` bytes that an access of `len` bytes covers, all
/// within the region.
fn within(size: usize, offset: u64, len: usize) -> Result<Range<usize>> {
    let start = usize::try_from(offset).map_err(|_| EINVAL)?;
    let end = start.checked_add(len).ok_or(EINVAL)?;
    if end > size {
        return Err(EINVAL);
    }
    Ok(start..end)
}

/// Zeroes the first `size` bytes of `io`, a multiple of 4 within it.
fn clear(io: &Regs, size: usize) {
    for offset in (0..size).step_by(4) {
        // In bounds, per the contract.
        let _ = io.try_write32(0, offset);
    }
}

/// Reads `buf.len()` bytes of `io` at `offset`, all within its first `size` bytes.
fn read_bytes(io: &Regs, size: usize, offset: u64, buf: &mut [u8]) -> Result<usize> {
    for (at, byte) in within(size, offset, buf.len())?.zip(buf.iter_mut()) {
        *byte = io.try_read8(at)?;
    }
    Ok(buf.len())
}
