// SPDX-License-Identifier: GPL-2.0
//! hwq_demo: a VMM brings up a Tegra241 CMDQV vIOMMU and a HW queue on iommufd, then plays
//! the guest that drives the queue.
//!
//! The VMM side is rust-vmm's `vfio-ioctls` and cloud-hypervisor's `iommufd-ioctls` crates,
//! used as they are, as cloud-hypervisor uses them: `VfioIommufd` and `VfioDevice` (feature
//! `vfio_cdev`) open the emulated SMMU's device through VFIO's device cdev, bind it to the
//! iommufd, attach it and read its PCI regions; `IommuFd`, `IommufdIoas`, `IommufdVIommu::new()`
//! (which probes the hardware information, finds an SMMUv3 with CMDQV, and allocates the nesting
//! parent, the vIOMMU and the bypass and abort STEs), `IommufdVDevice`,
//! `allocate_cmdqv_veventq()` and `allocate_hw_queue()` do the rest. No `IOMMU_TEST_CMD`. What
//! neither crate does is in [`by_hand`]: the mapping of the VINTF page and hugepage guest memory.
//! The guest's side is in [`guest`].
//!
//! The device is the first that the emulated CMDQV's module created (its `devices` parameter),
//! or the one whose sysfs directory is the first argument.
//!
//! It prints what it does in a VMM's terms, a TAP line for each check, and a last line that
//! says whether everything behaved; it exits non-zero if not.

mod by_hand;
mod guest;

use ::iommufd_ioctls::{
    AttachHwpt, IommuFd, IommufdHwInfoData, IommufdInvalidateData, IommufdIoas, IommufdVDevice,
    IommufdVEvent, IommufdVEventData, IommufdVIommu, IommufdViommuData,
};
use by_hand::{device_info, Mapping};
use guest::Lvcmdq;
use iommufd_bindings::iommufd::*;
use std::fmt::Display;
use std::os::unix::io::AsRawFd;
use std::path::PathBuf;
use std::sync::Arc;
use vfio_bindings::bindings::vfio::{
    VFIO_DEVICE_FLAGS_PCI, VFIO_PCI_BAR0_REGION_INDEX, VFIO_PCI_CONFIG_REGION_INDEX,
};
use vfio_ioctls::{VfioDevice, VfioIommufd};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Guest RAM: one 2 MiB hugepage, at this guest physical address (the mock's aperture).
const GPA: u64 = 0x100_0000;
const RAM_SIZE: usize = 2 << 20;
/// The queue: 256 commands at the start of guest RAM.
const QUEUE_LEN: usize = 4096;
/// The guest's stream ID for the device.
const VSID: u32 = 0x42;
/// The emulated SMMU's log of the invalidations it executed.
const LOG: &str = "/sys/kernel/debug/tegra241_cmdqv_emu/invalidations";
/// The driver that binds the emulated SMMU's own devices.
const DRIVER: &str = "/sys/bus/iommufd_mock/drivers/iommufd_mock_backend";
/// BAR 0 of the device's PCI function: its StreamID, and its ATC entry for SSID 1.
const BAR0_SID: u64 = 0;
const BAR0_ATC1: u64 = 0x104;
/// A translation the device caches for SSID 1.
const ATC_CACHED: u32 = 0xbaddad;

/// The checks, one TAP line each.
#[derive(Default)]
struct Checks {
    n: u32,
    failed: u32,
}

impl Checks {
    fn check(&mut self, name: &str, ok: bool, detail: impl Display) {
        self.n += 1;
        if ok {
            println!("ok {} {name}", self.n);
        } else {
            self.failed += 1;
            println!("not ok {} {name} - {detail}", self.n);
        }
    }
}

/// The SMMU log's lines after sequence number `after`, with their numbers.
fn log_since(after: u64) -> Vec<(u64, String)> {
    std::fs::read_to_string(LOG)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (seq, rest) = l.split_once(' ')?;
            let seq = seq.parse().ok()?;
            (seq > after).then(|| (seq, rest.to_string()))
        })
        .collect()
}

fn log_last() -> u64 {
    log_since(0).last().map_or(0, |(seq, _)| *seq)
}

fn main() {
    let mut checks = Checks::default();
    if let Err(e) = run(&mut checks) {
        checks.check("demo_completed", false, e);
    }
    if checks.failed == 0 {
        println!("hwq_demo: everything behaved ({} checks passed)", checks.n);
    } else {
        println!("hwq_demo: {} of {} checks failed", checks.failed, checks.n);
        std::process::exit(1);
    }
}

fn run(c: &mut Checks) -> Result<()> {
    println!(
        "hwq_demo: a VMM brings up a Tegra241 CMDQV vIOMMU and a HW queue, then plays the guest"
    );
    println!("== The VMM (vfio-ioctls 0.10, iommufd-ioctls 0.4)");
    let iommufd = Arc::new(IommuFd::new()?);
    let fd = iommufd.as_raw_fd();
    let ioas = Arc::new(IommufdIoas::new(iommufd.clone())?);
    println!("[vmm] opened /dev/iommu; IOAS {}", ioas.id());

    let path = device_path()?;
    let vfio = Arc::new(VfioIommufd::new(iommufd.clone(), Some(ioas.clone()), None)?);
    let dev = Arc::new(VfioDevice::new(&path, vfio.clone(), true)?);
    let dev_id = dev
        .iommufd_dev_id()
        .ok_or("VfioDevice::new() did not bind the device")?;
    println!(
        "[vmm] VfioDevice::new({}): /dev/vfio/devices cdev bound to the iommufd as device \
         {dev_id}, attached to IOAS {}",
        path.display(),
        ioas.id()
    );
    let mut config = [0u8; 64];
    dev.region_read(VFIO_PCI_CONFIG_REGION_INDEX, &mut config, 0);
    let mut sid = [0u8; 4];
    dev.region_read(VFIO_PCI_BAR0_REGION_INDEX, &mut sid, BAR0_SID);
    let info = device_info(dev.as_raw_fd())?;
    let pci = info.flags & VFIO_DEVICE_FLAGS_PCI != 0;
    println!(
        "[vmm] VFIO_DEVICE_GET_INFO: {}, {} regions, {} interrupt indexes; PCI ID \
         {:04x}:{:04x}, config space {} bytes, BAR 0 {} bytes, StreamID {}",
        if pci { "a PCI function" } else { "not PCI" },
        info.num_regions,
        info.num_irqs,
        u16::from_le_bytes([config[0], config[1]]),
        u16::from_le_bytes([config[2], config[3]]),
        dev.get_region_size(VFIO_PCI_CONFIG_REGION_INDEX),
        dev.get_region_size(VFIO_PCI_BAR0_REGION_INDEX),
        u32::from_le_bytes(sid)
    );
    c.check(
        "vfio_pci_function",
        pci && info.num_regions >= 9
            && info.num_irqs >= 3
            && dev.get_region_size(VFIO_PCI_CONFIG_REGION_INDEX) == 4096,
        info.flags,
    );

    let ram = Mapping::hugepage(RAM_SIZE)?;
    // SAFETY: The range is `ram`'s, which the demo only touches through raw pointers (volatile
    // accesses), and which is unmapped from the IOAS (below) before it is dropped.
    unsafe { vfio.vfio_dma_map(GPA, RAM_SIZE, ram.addr() as *mut u8)? };
    println!(
        "[vmm] guest RAM: {} MiB at GPA {GPA:#x}, a hugepage at {:#x}, mapped in the IOAS \
         (VfioIommufd::vfio_dma_map)",
        ram.len() >> 20,
        ram.addr()
    );

    // What IommufdVIommu::new() will probe, shown first.
    let mut smmu = IommufdHwInfoData::Smmuv3(Default::default());
    let info = iommufd.device_hw_info(dev_id, &mut smmu)?;
    let IommufdHwInfoData::Smmuv3(smmu) = smmu;
    // SAFETY: `out_data_type` is the union's member on output.
    let out_type = unsafe { info.__bindgen_anon_1.out_data_type };
    println!(
        "[vmm] GET_HW_INFO: type {out_type} (ARM SMMUv3), IDR0 {:#010x} IDR1 {:#010x} \
         IDR3 {:#010x} \
         IDR5 {:#010x} IIDR {:#010x} AIDR {:#x}",
        smmu.idr[0], smmu.idr[1], smmu.idr[3], smmu.idr[5], smmu.iidr, smmu.aidr
    );
    c.check(
        "hw_info_smmuv3",
        out_type == iommu_hw_info_type_IOMMU_HW_INFO_TYPE_ARM_SMMUV3,
        out_type,
    );
    let mut cmdqv = iommu_hw_info_tegra241_cmdqv::default();
    let mut info = iommu_hw_info {
        size: std::mem::size_of::<iommu_hw_info>() as u32,
        flags: iommufd_hw_info_flags_IOMMU_HW_INFO_FLAG_INPUT_TYPE,
        dev_id,
        data_len: std::mem::size_of_val(&cmdqv) as u32,
        data_uptr: &mut cmdqv as *mut _ as u64,
        ..Default::default()
    };
    info.__bindgen_anon_1.in_data_type = iommu_hw_info_type_IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV;
    iommufd.get_hw_info(&mut info)?;
    println!(
        "[vmm] GET_HW_INFO, input type TEGRA241_CMDQV: version {}, {} VCMDQs, {} SID slots",
        cmdqv.version,
        1u32 << cmdqv.log2vcmdqs,
        1u32 << cmdqv.log2vsids
    );
    c.check("hw_info_cmdqv", cmdqv.version == 1, cmdqv.version);

    let viommu = Arc::new(IommufdVIommu::new(ioas.clone(), dev_id, true)?);
    let IommufdViommuData::Tegra241Cmdqv {
        mmap_offset,
        mmap_length,
    } = viommu.data()
    else {
        return Err("the vIOMMU is not a Tegra241 CMDQV".into());
    };
    println!(
        "[vmm] IommufdVIommu::new(hw_queue = true): nesting parent HWPT, vIOMMU of type \
         TEGRA241_CMDQV, bypass and abort STE HWPTs"
    );
    println!(
        "[vmm] the vIOMMU hands out its VINTF page: mmap offset {mmap_offset:#x}, \
         length {mmap_length:#x}"
    );
    let page = Mapping::file(fd, mmap_offset, mmap_length)?;
    println!(
        "[vmm] VINTF page0 mapped at {:#x}, for the guest to drive its queues",
        page.addr()
    );
    c.check("vintf_page_64k", mmap_length == 0x10000, mmap_length);

    let mut veventq = viommu.allocate_cmdqv_veventq(16)?;
    println!(
        "[vmm] vEVENTQ of type TEGRA241_CMDQV, depth 16: fd {}",
        veventq.as_raw_fd()
    );

    let vdev = IommufdVDevice::new(
        viommu.clone(),
        dev.clone() as Arc<dyn AttachHwpt>,
        dev_id,
        VSID.into(),
    )?;
    viommu.attach_bypass(&*dev)?;
    println!(
        "[vmm] the guest installs an STE for vSID {:#x}: vDEVICE (virt_id {:#x}), device \
         attached to the bypass STE",
        VSID,
        vdev.virt_id()
    );

    let hwq = viommu.allocate_hw_queue(0, GPA, QUEUE_LEN as u64)?;
    let mut q = Lvcmdq::new(&page, 0, &ram, 0, QUEUE_LEN);
    println!(
        "[vmm] HW queue: LVCMDQ0 at guest address {GPA:#x}, {QUEUE_LEN} bytes ({} commands); \
         registers CONS {:#x} PROD {:#x} CONFIG {:#x} STATUS {:#x}",
        QUEUE_LEN / 16,
        q.reg(guest::CONS),
        q.reg(guest::PROD),
        q.reg(guest::CONFIG),
        q.reg(guest::STATUS)
    );
    c.check(
        "queue_programmed_disabled",
        q.reg(guest::CONFIG) == 0 && q.reg(guest::STATUS) == 0,
        q.reg(guest::STATUS),
    );

    println!("== The guest, through the mapped page only");
    q.set(guest::CONFIG, 1);
    let took = q.wait(guest::STATUS, 1, 1);
    println!(
        "[guest] CONFIG.CMDQ_EN = 1; STATUS.ENABLED = {} after {}",
        q.reg(guest::STATUS) & 1,
        fmt_took(took)
    );
    c.check("status_follows_enable", took.is_some(), "STATUS stayed 0");

    let seq = log_last();
    for i in 0..6u64 {
        q.push(guest::tlbi_nh_va(5, 0x4000_0000 + (i << 12)));
    }
    q.push(guest::atc_inv_ssid(VSID, 1));
    q.push(guest::cmd_sync());
    println!(
        "[guest] writes 8 commands in its memory: 6 TLBI_NH_VA (ASID 5), ATC_INV (vSID {VSID:#x}, \
         SSID 1), CMD_SYNC; PROD {:#x} -> {:#x}",
        q.reg(guest::PROD),
        q.prod
    );
    // The function caches a translation for SSID 1 (a write to its BAR 0, standing in for it).
    dev.region_write(
        VFIO_PCI_BAR0_REGION_INDEX,
        &ATC_CACHED.to_le_bytes(),
        BAR0_ATC1,
    );
    let before = atc_entry(&dev);
    q.ring_doorbell();
    let took = q.wait(guest::CONS, guest::CONS_RD, q.prod);
    println!(
        "[guest] CONS {:#x} after {}",
        q.reg(guest::CONS),
        fmt_took(took)
    );
    c.check("cons_reaches_prod", took.is_some(), q.reg(guest::CONS));
    let after = atc_entry(&dev);
    println!(
        "[effect] the function's ATC entry for SSID 1, read from its BAR 0: {before:#x} -> \
         {after:#x}"
    );
    c.check(
        "atc_inv_reaches_device",
        before == ATC_CACHED && after == 0,
        format!("{before:#x} -> {after:#x}"),
    );
    let lines = log_since(seq);
    for (_, line) in &lines {
        println!("[effect] SMMU: {line}");
    }
    c.check(
        "tlbi_reaches_smmu",
        lines.len() == 7
            && lines
                .iter()
                .filter(|(_, l)| l.contains("TLBI_NH_VA") && l.contains("asid=5"))
                .count()
                == 6,
        lines.len(),
    );

    // An illegal command: reported, halted, acknowledged, resumed.
    let gerror = q.reg(guest::GERROR);
    let bad = q.push(guest::cfgi_ste(VSID));
    q.push(guest::cmd_sync());
    q.ring_doorbell();
    println!(
        "[guest] writes CFGI_STE, which only the host may issue, at index {bad:#x}, then \
         CMD_SYNC; PROD {:#x}",
        q.prod
    );
    let took = q.wait(guest::GERROR, 1, (gerror ^ 1) & 1);
    let cons = q.reg(guest::CONS);
    println!(
        "[guest] after {}: CONS {cons:#x} (RD {:#x}, ERR {} = ILL), GERROR {:#x}, \
         GERRORN {:#x}: halted",
        fmt_took(took),
        guest::cons_rd(cons),
        guest::cons_err(cons),
        q.reg(guest::GERROR),
        q.reg(guest::GERRORN)
    );
    c.check(
        "illegal_command_halts",
        took.is_some() && guest::cons_rd(cons) == bad && guest::cons_err(cons) == 1,
        format!("CONS {cons:#x}"),
    );
    let mut pfd = libc::pollfd {
        fd: veventq.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: One valid pollfd.
    unsafe { libc::poll(&mut pfd, 1, 2000) };
    let events = veventq.read_events()?;
    for e in &events {
        if let Some([w0, w1]) = err_map(e) {
            println!(
                "[vmm] vEVENTQ: event {} of type TEGRA241_CMDQV, lvcmdq_err_map [{w0:#x}, {w1:#x}]",
                e.header.sequence
            );
        }
    }
    c.check(
        "error_reaches_veventq",
        matches!(events.as_slice(), [e] if err_map(e) == Some([1, 0])),
        events.len(),
    );
    q.put(bad, guest::cmd_sync());
    q.set(guest::GERRORN, q.reg(guest::GERROR));
    let took = q.wait(guest::CONS, guest::CONS_RD, q.prod);
    println!(
        "[guest] replaces the bad entry with CMD_SYNC, acknowledges (GERRORN = GERROR); \
         CONS {:#x} after {}",
        q.reg(guest::CONS),
        fmt_took(took)
    );
    c.check("resumes_after_ack", took.is_some(), q.reg(guest::CONS));

    println!("== The trapped path, for comparison");
    let seq = log_last();
    let mut cmd = IommufdInvalidateData::Smmuv3(iommu_viommu_arm_smmuv3_invalidate {
        cmd: guest::tlbi_nh_va(5, 0x4000_0000).map(u64::to_le),
    });
    let handled = viommu.invalidate(&mut cmd)?;
    let lines = log_since(seq);
    for (_, line) in &lines {
        println!("[effect] SMMU: {line}");
    }
    c.check(
        "trapped_same_effect",
        handled
            && lines.len() == 1
            && lines[0].1.starts_with("host: TLBI_NH_VA")
            && lines[0].1.contains("asid=5 va=0x40000000"),
        format!("{lines:?}"),
    );

    println!("== Teardown, in a VMM's order");
    q.set(guest::CONFIG, 0);
    let took = q.wait(guest::STATUS, 1, 0);
    c.check("status_follows_disable", took.is_some(), "STATUS stayed 1");
    drop(hwq);
    println!("[vmm] HW queue destroyed");
    drop(veventq);
    println!("[vmm] vEVENTQ fd closed and destroyed");
    drop(vdev);
    println!("[vmm] vDEVICE destroyed, device detached");
    drop(page);
    println!("[vmm] VINTF page unmapped");
    match Arc::try_unwrap(viommu) {
        Ok(viommu) => drop(viommu),
        Err(_) => return Err("the vIOMMU is still referenced".into()),
    }
    println!("[vmm] vIOMMU, its STE HWPTs and the nesting parent destroyed");
    match Arc::try_unwrap(dev) {
        Ok(dev) => drop(dev),
        Err(_) => return Err("the VFIO device is still referenced".into()),
    }
    println!("[vmm] VFIO device closed: unbound from the iommufd");
    vfio.vfio_dma_unmap(GPA, RAM_SIZE)?;
    println!("[vmm] guest RAM unmapped");
    Ok(())
}

/// The sysfs directory of the device: the first argument, or the first device bound to the
/// emulated SMMU's driver.
fn device_path() -> Result<PathBuf> {
    if let Some(path) = std::env::args_os().nth(1) {
        return Ok(path.into());
    }
    let mut names: Vec<String> = std::fs::read_dir(DRIVER)?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("iommufd_mock"))
        .collect();
    names.sort_by_key(|n| n["iommufd_mock".len()..].parse::<u32>().unwrap_or(u32::MAX));
    let name = names
        .first()
        .ok_or("no device of the emulated SMMU: load tegra241_cmdqv_emu.ko with devices=1")?;
    Ok(PathBuf::from("/sys/bus/iommufd_mock/devices").join(name))
}

/// The function's ATC entry for SSID 1, from its BAR 0.
fn atc_entry(dev: &VfioDevice) -> u32 {
    let mut v = [0u8; 4];
    dev.region_read(VFIO_PCI_BAR0_REGION_INDEX, &mut v, BAR0_ATC1);
    u32::from_le_bytes(v)
}

/// The LVCMDQ error map a CMDQV vEVENT carries.
fn err_map(event: &IommufdVEvent) -> Option<[u64; 2]> {
    match event.data {
        Some(IommufdVEventData::Tegra241Cmdqv(d)) => Some(d.lvcmdq_err_map.map(u64::from_le)),
        _ => None,
    }
}

fn fmt_took(took: Option<std::time::Duration>) -> String {
    took.map_or("never (gave up after 2 s)".into(), |d| {
        format!("{} us", d.as_micros())
    })
}
