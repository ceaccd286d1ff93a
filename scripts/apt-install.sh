# SPDX-License-Identifier: GPL-2.0
#
# Sourced by the toolchain scripts: apt_install_missing NAME PKG... installs
# the Debian packages among PKG that are not installed yet, refreshing the
# package lists once if one is unknown (a fresh machine). NAME prefixes the
# messages.

apt_install_missing() {
	local name=$1 p missing=()
	shift
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -gt 0 ] || return 0
	echo "$name: installing Debian packages: ${missing[*]}"
	if [ "$(id -u)" -ne 0 ]; then
		echo "$name: need root to install: ${missing[*]}" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y -q --no-install-recommends "${missing[@]}"; then
		apt-get update -q
		apt-get install -y -q --no-install-recommends "${missing[@]}"
	fi
}
