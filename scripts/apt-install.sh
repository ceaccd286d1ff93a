# SPDX-License-Identifier: GPL-2.0
#
# Sourced by the toolchain scripts: apt_install_missing NAME PKG... installs
# the Debian packages among PKG that are not installed yet, refreshing the
# package lists once if one is unknown (a fresh machine); need_root NAME WHAT
# fails unless running as root. NAME prefixes the messages.

need_root() {
	[ "$(id -u)" -eq 0 ] || { echo "$1: need root to $2" >&2; exit 1; }
}

apt_install_missing() {
	local name=$1 p missing=()
	shift
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -gt 0 ] || return 0
	echo "$name: installing Debian packages: ${missing[*]}"
	need_root "$name" "install ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y -q --no-install-recommends "${missing[@]}"; then
		apt-get update -q
		apt-get install -y -q --no-install-recommends "${missing[@]}"
	fi
}
