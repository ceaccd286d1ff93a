/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A VMM's side of the emulated Tegra241 CMDQV's own devices, which it gets
 * through VFIO's device cdev: adding and removing one through the backend's
 * driver in sysfs, opening its cdev, binding it to an iommufd and attaching
 * it to a page table.
 */
#ifndef __IOMMUFD_TEGRA241_CMDQV_VFIO_H
#define __IOMMUFD_TEGRA241_CMDQV_VFIO_H

#include <dirent.h>
#include <linux/vfio.h>

#define DRIVER_DIR "/sys/bus/iommufd_mock/drivers/iommufd_mock_backend"
#define DEVICES_DIR "/sys/bus/iommufd_mock/devices"

static inline int write_attr(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, value, strlen(value));
	close(fd);
	return n == (ssize_t)strlen(value) ? 0 : -1;
}

/* Whether the driver has device @name bound */
static inline bool bound(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), DRIVER_DIR "/%s", name);
	return !access(path, F_OK);
}

/*
 * Adds a device through the driver and returns its name in @name: the one
 * bound device that was not there before.
 */
static inline int add_device(char *name, size_t size)
{
	struct dirent *d;
	DIR *dir;
	int found = 0;
	char before[4096] = " ";

	dir = opendir(DRIVER_DIR);
	if (!dir)
		return -1;
	while ((d = readdir(dir)))
		if (!strncmp(d->d_name, "iommufd_mock", 12)) {
			strncat(before, d->d_name,
				sizeof(before) - strlen(before) - 2);
			strcat(before, " ");
		}
	closedir(dir);
	if (write_attr(DRIVER_DIR "/add", "1"))
		return -1;
	dir = opendir(DRIVER_DIR);
	if (!dir)
		return -1;
	while ((d = readdir(dir))) {
		char word[272];

		if (strncmp(d->d_name, "iommufd_mock", 12))
			continue;
		snprintf(word, sizeof(word), " %s ", d->d_name);
		if (!strstr(before, word)) {
			snprintf(name, size, "%.63s", d->d_name);
			found++;
		}
	}
	closedir(dir);
	return found == 1 ? 0 : -1;
}

/* Opens the VFIO cdev of device @name */
static inline int open_vfio(const char *name)
{
	char path[256];
	struct dirent *d;
	DIR *dir;
	int fd = -1;

	snprintf(path, sizeof(path), DEVICES_DIR "/%s/vfio-dev", name);
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((d = readdir(dir)))
		if (!strncmp(d->d_name, "vfio", 4)) {
			snprintf(path, sizeof(path), "/dev/vfio/devices/%.64s",
				 d->d_name);
			fd = open(path, O_RDWR | O_CLOEXEC);
			break;
		}
	closedir(dir);
	return fd;
}

static inline int bind_iommufd(int vfio_fd, int iommufd, uint32_t *dev_id)
{
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind),
		.iommufd = iommufd,
	};

	if (ioctl(vfio_fd, VFIO_DEVICE_BIND_IOMMUFD, &bind))
		return -1;
	*dev_id = bind.out_devid;
	return 0;
}

static inline int attach_pt(int vfio_fd, uint32_t *pt_id)
{
	struct vfio_device_attach_iommufd_pt attach = {
		.argsz = sizeof(attach),
		.pt_id = *pt_id,
	};

	if (ioctl(vfio_fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach))
		return -1;
	*pt_id = attach.pt_id;
	return 0;
}

static inline int detach_pt(int vfio_fd)
{
	struct vfio_device_detach_iommufd_pt detach = {
		.argsz = sizeof(detach),
	};

	return ioctl(vfio_fd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach);
}

#endif
