// SPDX-License-Identifier: GPL-2.0

//! The vIOMMU driver: what a VMM gets from the emulated CMDQV through iommufd.
//!
//! Each vIOMMU of type `IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV` is a guest's VINTF, as upstream's
//! `tegra241_cmdqv_init_vintf_user()` sets it up: the VINTF's page0 is handed to the VMM for
//! `mmap()`, vDEVICEs take SID slots, and HW queues of type `IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV`
//! are its LVCMDQs. Nested domains carry the guest's SMMUv3 stream table entries, and
//! `IOMMU_HWPT_INVALIDATE` on the vIOMMU takes the guest's commands the trapped way, as upstream's
//! `arm_vsmmu_cache_invalidate()` does.
//!
//! A vIOMMU of type `IOMMU_VIOMMU_TYPE_ARM_SMMUV3` is a plain vSMMUv3, as Grace offers besides
//! (what a VMM uses with CMDQV off, as upstream's `arm_smmu_get_viommu_size()` accepts it): no
//! VINTF, so no page to map and no HW queue (`EOPNOTSUPP`); vDEVICEs with any virtual ID, which
//! the trapped invalidations find in iommufd's table of vDEVICEs, as upstream's
//! `arm_vsmmu_vsid_to_sid()` does; nested STE domains as for the CMDQV type.

use super::{
    caches::{
        Caches,
        Source, //
    },
    cmd,
    engine::{
        Engine,
        EngineQueue, //
    },
    hw::{
        Cmdqv,
        RegPage, //
    },
    smmu,
    ste::{
        validate_vste,
        NestedSte, //
    },
    tunables::Tunables,
    vfio::BoundFunction,
    vintf::{
        self,
        Geometry,
        Vintf, //
    },
};
use kernel::{
    device::{
        Bound,
        Device, //
    },
    io::PhysAddr,
    iommu::iommufd::driver::{
        mock::{
            self,
            Backend,
            HwInfo, //
        },
        Attach,
        Driver,
        HwQueueInit,
        MmapMemory,
        NestedOps,
        UserData,
        UserDataArray,
        VDeviceInfo,
        Viommu,
        ViommuInit, //
    },
    new_mutex,
    prelude::*,
    sync::{
        Arc,
        ArcBorrow,
        Mutex, //
    },
    uapi,
};

/// The emulated CMDQV as its vIOMMUs see it: the hardware, which VINTFs are given out, the
/// SMMU's caches, and the engine that executes the guests' queues.
#[pin_data]
pub(crate) struct CmdqvDev {
    hw: Arc<Cmdqv>,
    geometry: Geometry,
    /// Bit `v` is set while VINTF `v` belongs to a vIOMMU.
    #[pin]
    vintfs: Mutex<u64>,
    caches: Arc<Caches>,
    tunables: Arc<Tunables>,
    engine: Arc<Engine>,
}

impl CmdqvDev {
    /// The CMDQV of `hw`, enabled.
    pub(crate) fn new(hw: Cmdqv) -> Result<Arc<Self>> {
        vintf::enable_cmdqv(&hw)?;
        let geometry = Geometry::read(&hw);
        let hw = Arc::new(hw, GFP_KERNEL)?;
        let caches = Caches::new()?;
        let tunables = Tunables::new()?;
        let engine = Engine::new(hw.clone(), caches.clone(), tunables.clone(), geometry.sids)?;
        Arc::pin_init(
            try_pin_init!(Self {
                hw,
                geometry,
                vintfs <- new_mutex!(0),
                caches,
                tunables,
                engine,
            }),
            GFP_KERNEL,
        )
    }

    /// The SMMU's caches.
    pub(crate) fn caches(&self) -> &Arc<Caches> {
        &self.caches
    }

    /// What a developer tunes.
    pub(crate) fn tunables(&self) -> &Arc<Tunables> {
        &self.tunables
    }

    /// The geometry of the hardware.
    pub(crate) fn geometry(&self) -> Geometry {
        self.geometry
    }

    /// Takes the first free VINTF for a guest; VINTF0 is the host's. `ENOSPC` if none is free.
    fn take_vintf(&self) -> Result<usize> {
        let mut taken = self.vintfs.lock();
        let index = (1..self.geometry.vintfs.min(u64::BITS) as usize)
            .find(|&v| *taken & (1 << v) == 0)
            .ok_or(ENOSPC)?;
        *taken |= 1 << index;
        Ok(index)
    }

    fn release_vintf(&self, index: usize) {
        *self.vintfs.lock() &= !(1 << index);
    }

    /// Stops the engine: when this returns, the polling work is neither queued nor running.
    pub(crate) fn stop(&self) {
        self.engine.stop();
    }
}

/// A guest's VINTF, shared by its vIOMMU, vDEVICEs and HW queues; disabled and given back when
/// the last of them goes, which is the vIOMMU.
#[pin_data(PinnedDrop)]
pub(crate) struct Guest {
    cmdqv: Arc<CmdqvDev>,
    index: usize,
    /// The VINTF, once enabled.
    #[pin]
    vintf: Mutex<Option<Vintf>>,
}

impl Guest {
    /// Runs `f` on the enabled VINTF, under its lock.
    fn with_vintf<R>(&self, f: impl FnOnce(&mut Vintf, &Cmdqv) -> Result<R>) -> Result<R> {
        let mut vintf = self.vintf.lock();
        let vintf = (*vintf).as_mut().ok_or(ENODEV)?;
        f(vintf, &self.cmdqv.hw)
    }
}

#[pinned_drop]
impl PinnedDrop for Guest {
    fn drop(self: Pin<&mut Self>) {
        // Upstream's tegra241_vintf_hw_deinit(): queues in descending order, then the VINTF.
        if let Some(vintf) = &mut *self.vintf.lock() {
            if vintf.disable(&*self.cmdqv.hw).is_err() {
                pr_warn!("VINTF{}: reset failed\n", self.index);
            }
        }
        self.cmdqv.release_vintf(self.index);
    }
}

/// A vIOMMU (see the module's documentation).
pub(crate) enum CmdqvViommu {
    /// Of type `IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV`: a guest's VINTF.
    Vintf(Arc<Guest>),
    /// Of type `IOMMU_VIOMMU_TYPE_ARM_SMMUV3`: a plain vSMMUv3.
    Plain(Arc<Plain>),
}

/// A plain vSMMUv3.
pub(crate) struct Plain {
    cmdqv: Arc<CmdqvDev>,
}

/// The VMID a plain vSMMUv3 puts in its commands: its nesting parent's, which the selftest's
/// mock domains do not have.
const PLAIN_VMID: u16 = 0;

/// A vDEVICE: a SID slot of a VINTF, or a stream of a plain vSMMUv3, held until the vDEVICE
/// is destroyed.
pub(crate) enum VDevice {
    Slot { _slot: SidSlot },
    Stream { _stream: PlainStream },
}

/// A vDEVICE of a plain vSMMUv3: its virtual ID stands for the device's SID in the trapped
/// invalidations, whose ATC invalidations then reach the device.
pub(crate) struct PlainStream {
    plain: Arc<Plain>,
    psid: u32,
}

impl Drop for PlainStream {
    fn drop(&mut self) {
        self.plain.cmdqv.caches.remove_stream(self.psid);
    }
}

/// A vDEVICE: a SID slot of the VINTF, mapping the guest's vSID to the device's SID, whose
/// ATC invalidations then reach the device.
pub(crate) struct SidSlot {
    guest: Arc<Guest>,
    slot: usize,
    psid: u32,
}

impl Drop for SidSlot {
    fn drop(&mut self) {
        self.guest.cmdqv.caches.remove_stream(self.psid);
        if self
            .guest
            .with_vintf(|vintf, hw| vintf.free_sid(hw, self.slot))
            .is_err()
        {
            pr_warn!(
                "VINTF{}: SID slot {} not in use\n",
                self.guest.index,
                self.slot
            );
        }
    }
}

/// A HW queue: an LVCMDQ of the VINTF, programmed with the guest queue's base.
pub(crate) struct Lvcmdq {
    guest: Arc<Guest>,
    index: u32,
}

impl Drop for Lvcmdq {
    fn drop(&mut self) {
        // First the engine lets go of the queue's registers and memory.
        self.guest.cmdqv.engine.remove(self.guest.index, self.index);
        if self
            .guest
            .with_vintf(|vintf, hw| vintf.free_lvcmdq(hw, self.index))
            .is_err()
        {
            pr_warn!(
                "VINTF{}: LVCMDQ{} not allocated\n",
                self.guest.index,
                self.index
            );
        }
    }
}

/// A nested domain: the guest's STE, checked.
pub(crate) struct NestedStes {
    ste: NestedSte,
}

impl NestedOps for NestedStes {
    fn attach_dev(&self, attach: &Attach<'_>) -> Result {
        // Upstream's arm_smmu_attach_prepare_vmaster(): a translating entry needs the device's
        // vSID for its invalidations, so a vDEVICE first (`ENOENT`); abort and bypass do not.
        if self.ste.translates() {
            attach.virt_id()?;
        }
        mock::attach_nested(attach)
    }
}

/// The plain vSMMUv3 type.
const ARM_SMMUV3: u32 = uapi::iommu_viommu_type_IOMMU_VIOMMU_TYPE_ARM_SMMUV3;
/// The length of `struct iommu_viommu_tegra241_cmdqv` in its first version.
const VIOMMU_DATA_LEN: usize = core::mem::size_of::<uapi::iommu_viommu_tegra241_cmdqv>();
/// The data type of the commands of `IOMMU_HWPT_INVALIDATE` on the vIOMMU.
const INVALIDATE_DATA_ARM_SMMUV3: u32 =
    uapi::iommu_hwpt_invalidate_data_type_IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3;
/// The length of `struct iommu_hwpt_arm_smmuv3` in its first version.
const HWPT_DATA_LEN: usize = core::mem::size_of::<uapi::iommu_hwpt_arm_smmuv3>();

#[vtable]
impl Driver for CmdqvViommu {
    const TYPE: u32 = uapi::iommu_viommu_type_IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV;

    type Iommu = CmdqvDev;
    type VDevice = VDevice;
    type HwQueue = Lvcmdq;
    type Nested = NestedStes;

    fn serves(viommu_type: u32) -> bool {
        viommu_type == Self::TYPE || viommu_type == ARM_SMMUV3
    }

    fn init(
        cmdqv: ArcBorrow<'_, CmdqvDev>,
        viommu: &mut ViommuInit<'_>,
        user_data: Option<&UserData>,
    ) -> Result<Self> {
        if viommu.viommu_type() == ARM_SMMUV3 {
            // Upstream's arm_vsmmu_init() for the plain type: no driver data is read.
            let plain = Arc::new(
                Plain {
                    cmdqv: cmdqv.into(),
                },
                GFP_KERNEL,
            )?;
            return Ok(Self::Plain(plain));
        }
        // Upstream's tegra241_cmdqv_init_vintf_user(), in its order.
        let user_data = user_data.ok_or(EINVAL)?;
        let mut data: uapi::iommu_viommu_tegra241_cmdqv =
            user_data.read(Self::TYPE, VIOMMU_DATA_LEN)?;
        let index = cmdqv.take_vintf()?;
        let guest = Arc::pin_init(
            try_pin_init!(Guest {
                cmdqv: cmdqv.into(),
                index,
                vintf <- new_mutex!(None),
            }),
            GFP_KERNEL,
        )
        .inspect_err(|_| cmdqv.release_vintf(index))?;
        // From here on, dropping `guest` disables the VINTF and gives it back.
        *guest.vintf.lock() = Some(Vintf::enable(&*cmdqv.hw, index, index as u16)?);
        let page0: Arc<RegPage> = cmdqv.hw.vintf_page0(index).ok_or(EINVAL)?;
        let region = viommu.alloc_mmap(page0 as Arc<dyn MmapMemory>)?;
        data.out_vintf_mmap_offset = region.offset;
        data.out_vintf_mmap_length = region.length;
        user_data.write(Self::TYPE, data, VIOMMU_DATA_LEN)?;
        Ok(Self::Vintf(guest))
    }

    fn vdevice_init(viommu: &Viommu<Self>, vdev: &VDeviceInfo<'_>) -> Result<VDevice> {
        // A device behind another IOMMU: the core's answer for a real SMMU.
        let psid = mock::dev_sid(vdev.device())?;
        let guest = match &**viommu {
            Self::Vintf(guest) => guest,
            Self::Plain(plain) => {
                // A plain vSMMUv3's vDEVICE is iommufd's own upstream: any virtual ID goes.
                plain.cmdqv.caches.add_stream(psid, vdev.device())?;
                let stream = PlainStream {
                    plain: plain.clone(),
                    psid,
                };
                return Ok(VDevice::Stream { _stream: stream });
            }
        };
        // Upstream's tegra241_vintf_init_vsid(): vSID range, then a free slot, and only then
        // what may fail to allocate. Mock devices have one stream each.
        let slot = guest.with_vintf(|vintf, hw| vintf.alloc_sid(hw, vdev.virt_id(), psid))?;
        if let Err(e) = guest.cmdqv.caches.add_stream(psid, vdev.device()) {
            // Given out just now, so still the vDEVICE's to give back.
            let _ = guest.with_vintf(|vintf, hw| vintf.free_sid(hw, slot));
            return Err(e);
        }
        Ok(VDevice::Slot {
            _slot: SidSlot {
                guest: guest.clone(),
                slot,
                psid,
            },
        })
    }

    fn hw_queue_supported(viommu: &Viommu<Self>, queue_type: u32) -> bool {
        // Upstream's arm_vsmmu_ops, of the plain type, have no HW queue operations.
        matches!(**viommu, Self::Vintf(_))
            && queue_type == uapi::iommu_hw_queue_type::IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV.0
    }

    fn hw_queue_init(
        viommu: &Viommu<Self>,
        queue: &mut HwQueueInit<'_, Self>,
        index: u32,
        base_pa: PhysAddr,
    ) -> Result<Lvcmdq> {
        let Self::Vintf(guest) = &**viommu else {
            // Not asked for: `hw_queue_supported()` refuses.
            return Err(EOPNOTSUPP);
        };
        guest.with_vintf(|vintf, hw| {
            // Upstream's tegra241_vintf_alloc_lvcmdq_user(): index, then length and base,
            // checked; the LVCMDQ mapped, reset and given its base, not enabled.
            vintf.alloc_lvcmdq(hw, index, queue.length(), base_pa, smmu::CMDQS)?;
            // Queues are destroyed in descending order: the previous one stays while this one
            // is. It is allocated (checked above); one the registry does not hold is between
            // its driver's init and the return of its ioctl, or being destroyed: in transition,
            // `EBUSY`, as iommufd's own check answers for a published queue in either state.
            if index > 0 {
                if let Err(e) = queue.depend_on(index - 1) {
                    let _ = vintf.free_lvcmdq(hw, index);
                    return Err(if e == ENOENT { EBUSY } else { e });
                }
            }
            Ok(())
        })?;
        // From here on, dropping `lvcmdq` frees the LVCMDQ. Allocations come after every check,
        // as upstream's have none to fail before them.
        let lvcmdq = Lvcmdq {
            guest: guest.clone(),
            index,
        };
        let memory = queue.memory()?;
        guest.cmdqv.engine.add(EngineQueue::new(
            guest.index,
            index,
            memory,
            viommu.events(),
        ))?;
        Ok(lvcmdq)
    }

    fn cache_invalidate(viommu: &Viommu<Self>, array: &mut UserDataArray) -> Result {
        let mut handled = 0;
        let result = match &**viommu {
            // The hardware's view: the VINTF's VMID and SID slots.
            Self::Vintf(guest) => guest.with_vintf(|vintf, hw| {
                let vmid = vintf::vmid(hw, vintf.index()).ok_or(EINVAL)?;
                let psid = |vsid| vintf.lookup_sid(hw, vsid);
                invalidate_blocks(array, &mut handled, &guest.cmdqv.caches, vmid, psid)
            }),
            // The vDEVICEs' virtual IDs, as upstream's arm_vsmmu_vsid_to_sid() finds them.
            Self::Plain(plain) => {
                let psid = |vsid: u32| {
                    viommu
                        .with_vdevice_device(vsid.into(), |dev| mock::dev_sid(dev).ok())
                        .flatten()
                };
                invalidate_blocks(array, &mut handled, &plain.cmdqv.caches, PLAIN_VMID, psid)
            }
        };
        array.set_handled(handled);
        result
    }

    fn alloc_domain_nested(
        _viommu: &Viommu<Self>,
        flags: u32,
        user_data: &UserData,
    ) -> Result<NestedStes> {
        // Upstream's arm_vsmmu_alloc_domain_nested().
        if flags != 0 {
            return Err(EOPNOTSUPP);
        }
        let data: uapi::iommu_hwpt_arm_smmuv3 = user_data.read(
            uapi::iommu_hwpt_data_type_IOMMU_HWPT_DATA_ARM_SMMUV3,
            HWPT_DATA_LEN,
        )?;
        let ste = validate_vste([u64::from_le(data.ste[0]), u64::from_le(data.ste[1])])?;
        Ok(NestedStes { ste })
    }
}

/// Upstream's arm_vsmmu_cache_invalidate(), as fixed by this series: the array in blocks that
/// fill a command batch with their CMD_SYNC, each copied, then its commands converted for the
/// host (`vmid`, and the physical SID that `psid` finds for a virtual one) and issued, until
/// one is refused. What was issued is `handled`, also when a later block cannot be read.
fn invalidate_blocks(
    array: &UserDataArray,
    handled: &mut u32,
    caches: &Caches,
    vmid: u16,
    psid: impl Fn(u32) -> Option<u32>,
) -> Result {
    const BLOCK: usize = smmu::CMDQ_BATCH_ENTRIES - 1;
    let mut block = [uapi::iommu_viommu_arm_smmuv3_invalidate::default(); BLOCK];
    loop {
        let count = array.read_block(INVALIDATE_DATA_ARM_SMMUV3, *handled, &mut block)?;
        for cmd in &block[..count] {
            let command = cmd::decode(cmd.cmd.map(u64::from_le)).ok_or(EIO)?;
            let psid = command.vsid().and_then(&psid);
            // `CMD_SYNC` is the host's to issue, and a stream must be the guest's.
            let invalidation = command.issued(vmid, psid).ok_or(EIO)?;
            caches.invalidate(Source::Host, invalidation);
            *handled += 1;
        }
        if *handled == array.len() {
            return Ok(());
        }
    }
}

impl Backend for CmdqvViommu {
    type DeviceData = BoundFunction;

    fn probe(
        _cmdqv: ArcBorrow<'_, CmdqvDev>,
        dev: &Device<Bound>,
    ) -> Result<Pin<KBox<BoundFunction>>> {
        BoundFunction::new(dev)
    }

    fn hw_info(cmdqv: ArcBorrow<'_, CmdqvDev>, _dev: &Device, data_type: u32) -> Result<HwInfo> {
        // Upstream's arm_smmu_hw_info(), then tegra241_cmdqv_hw_info() for its own type.
        match data_type {
            uapi::iommu_hw_info_type_IOMMU_HW_INFO_TYPE_DEFAULT
            | uapi::iommu_hw_info_type_IOMMU_HW_INFO_TYPE_ARM_SMMUV3 => HwInfo::new(
                uapi::iommu_hw_info_type_IOMMU_HW_INFO_TYPE_ARM_SMMUV3,
                &smmu::hw_info(),
            ),
            uapi::iommu_hw_info_type_IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV => {
                let geometry = cmdqv.geometry;
                let info = uapi::iommu_hw_info_tegra241_cmdqv {
                    flags: 0,
                    version: cmdqv.hw.version(),
                    log2vcmdqs: geometry.lvcmdqs.trailing_zeros() as u8,
                    log2vsids: geometry.sids.trailing_zeros() as u8,
                    __reserved: 0,
                };
                HwInfo::new(data_type, &info)
            }
            _ => Err(EOPNOTSUPP),
        }
    }
}
