// SPDX-License-Identifier: GPL-2.0
//! hwq_demo: a VMM brings up a Tegra241 CMDQV vIOMMU and a HW queue on iommufd, then plays
//! the guest that drives the queue.
//!
//! The VMM side is cloud-hypervisor's `iommufd-ioctls` crate, used as it is: `IommuFd`,
//! `IommufdIoas`, `IommufdVIommu::new()` (which probes the hardware information, finds an SMMUv3
//! with CMDQV, and allocates the nesting parent, the vIOMMU and the bypass and abort STEs),
//! `IommufdVDevice`, `allocate_cmdqv_veventq()` and `allocate_hw_queue()`. What the crate cannot
//! do is in [`by_hand`]: the selftest's mock device, which stands in for a VFIO device, and the
//! mapping of the VINTF page. The guest's side is in [`guest`].
//!
//! It prints what it does in a VMM's terms, a TAP line for each check, and a last line that
//! says whether everything behaved; it exits non-zero if not.

mod by_hand;
mod guest;

use ::iommufd_ioctls::{
    AttachHwpt, IommuFd, IommufdHwInfoData, IommufdInvalidateData, IommufdIoas, IommufdVDevice,
    IommufdVEvent, IommufdVEventData, IommufdVIommu, IommufdViommuData,
};
use by_hand::{Mapping, MockDevice, DEV_CACHE_DEFAULT, MOCK_FLAGS_DEVICE_TEGRA241_CMDQV};
use guest::Lvcmdq;
use iommufd_bindings::iommufd::*;
use std::fmt::Display;
use std::os::unix::io::AsRawFd;
use std::sync::Arc;

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
    println!("== The VMM (iommufd-ioctls 0.4)");
    let iommufd = Arc::new(IommuFd::new()?);
    let fd = iommufd.as_raw_fd();
    let ioas = Arc::new(IommufdIoas::new(iommufd.clone())?);
    println!("[vmm] opened /dev/iommu; IOAS {}", ioas.id());

    let dev = Arc::new(MockDevice::new(
        fd,
        ioas.id(),
        MOCK_FLAGS_DEVICE_TEGRA241_CMDQV,
    )?);
    println!(
        "[vmm] device: a selftest mock device behind the emulated Tegra241 CMDQV, bound as \
         iommufd device {} (attached to HWPT {})",
        dev.idev_id, dev.hwpt_id
    );

    let ram = Mapping::hugepage(RAM_SIZE)?;
    iommufd.map_iommu_ioas(&iommu_ioas_map {
        size: std::mem::size_of::<iommu_ioas_map>() as u32,
        flags: iommufd_ioas_map_flags_IOMMU_IOAS_MAP_FIXED_IOVA
            | iommufd_ioas_map_flags_IOMMU_IOAS_MAP_READABLE
            | iommufd_ioas_map_flags_IOMMU_IOAS_MAP_WRITEABLE,
        ioas_id: ioas.id(),
        __reserved: 0,
        user_va: ram.addr(),
        length: RAM_SIZE as u64,
        iova: GPA,
    })?;
    println!(
        "[vmm] guest RAM: {} MiB at GPA {GPA:#x}, a hugepage at {:#x}, mapped in the IOAS",
        ram.len() >> 20,
        ram.addr()
    );

    // What IommufdVIommu::new() will probe, shown first.
    let mut smmu = IommufdHwInfoData::Smmuv3(Default::default());
    let info = iommufd.device_hw_info(dev.idev_id, &mut smmu)?;
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
        dev_id: dev.idev_id,
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

    let viommu = Arc::new(IommufdVIommu::new(ioas.clone(), dev.idev_id, true)?);
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
        dev.idev_id,
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
    let before = dev.cache_entry(1)?;
    q.ring_doorbell();
    let took = q.wait(guest::CONS, guest::CONS_RD, q.prod);
    println!(
        "[guest] CONS {:#x} after {}",
        q.reg(guest::CONS),
        fmt_took(took)
    );
    c.check("cons_reaches_prod", took.is_some(), q.reg(guest::CONS));
    let after = dev.cache_entry(1)?;
    println!(
        "[effect] the device's ATC entry for SSID 1: {} -> {}",
        fmt_entry(before),
        fmt_entry(after)
    );
    c.check(
        "atc_inv_reaches_device",
        before == Some(DEV_CACHE_DEFAULT) && after == Some(0),
        format!("{before:?} -> {after:?}"),
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
    ioas.unmap(GPA, RAM_SIZE as u64)?;
    println!("[vmm] guest RAM unmapped");
    Ok(())
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

fn fmt_entry(entry: Option<u32>) -> String {
    entry.map_or("?".into(), |v| format!("{v:#x}"))
}
