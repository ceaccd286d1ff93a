# SPDX-License-Identifier: GPL-2.0
#
# Sourced by the scripts that fetch Debian packages: apt_uri prints the
# Debian archive URI of this machine's apt sources, so that no archive host
# name is written into the repository.
apt_uri() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk '/^URIs:/ { u = $2 }
		     /^Suites:/ { for (i = 2; i <= NF; i++)
				    if ($i ~ /^(bookworm|trixie|sid|unstable|stable)$/) { print u; exit } }' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		awk '$1 == "deb" && $0 !~ /security/ {
			for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' "$f"
	done
}
