#!/usr/bin/env bash
# Build a gzip'd cpio initramfs from busybox-static, an /init script and extra files.
#
#   tools/initramfs.sh -o OUT.cpio.gz -i INIT [-f SRC:DST]...
#
#   -o OUT      the archive to write
#   -i INIT     the script that becomes /init
#   -f SRC:DST  copy the file or directory SRC to DST inside the image (repeatable);
#               DST is an absolute path in the guest
#
# Every busybox applet is a symlink to /bin/busybox. The archive is deterministic:
# sorted entries, owner root, mtime 0, normalised modes, gzip without a name or time,
# so the same inputs give the same bytes. No root and no device nodes needed: the
# kernel's built-in initramfs already holds /dev/console, and /init mounts devtmpfs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tools/lib.sh
. "$here/lib.sh"

usage() { die "usage: $0 -o OUT.cpio.gz -i INIT [-f SRC:DST]..."; }

out=
init=
files=()
while getopts 'o:i:f:' opt; do
	case "$opt" in
	o) out=$OPTARG ;;
	i) init=$OPTARG ;;
	f) files+=("$OPTARG") ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
if (($# != 0)) || [[ -z "$out" || -z "$init" ]]; then
	usage
fi
[[ -f "$init" ]] || die "init script not found: $init"

busybox=$(command -v busybox) || die "busybox not found (tools/setup.sh installs busybox-static)"
# A dynamically linked busybox would need a libc in the image.
if ldd "$busybox" >/dev/null 2>&1; then
	die "$busybox is not static (install busybox-static)"
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

# The skeleton and busybox with one symlink per applet.
make_skeleton() {
	local d applet
	for d in bin sbin usr/bin usr/sbin dev proc sys tmp run etc root lib/modules; do
		mkdir -p "$stage/$d"
	done
	cp "$busybox" "$stage/bin/busybox"
	# Absolute links: they resolve inside the guest.
	while IFS= read -r applet; do
		[[ "$applet" == bin/busybox ]] && continue
		[[ -d "$stage/${applet%/*}" ]] || mkdir -p "$stage/${applet%/*}"
		ln -s /bin/busybox "$stage/$applet"
	done < <("$busybox" --list-full)
	install -m 0755 "$init" "$stage/init"
}

add_file() {
	local spec=$1 src dst
	src=${spec%%:*}
	dst=${spec#*:}
	[[ "$spec" == *:* && "$dst" == /* ]] || die "bad -f '$spec': want SRC:/absolute/DST"
	[[ -e "$src" ]] || die "file not found: $src"
	mkdir -p "$stage$(dirname "$dst")"
	# Replace, never write through: an applet symlink points at /bin/busybox,
	# which on the host is the host's busybox.
	rm -rf "$stage$dst"
	cp -RL "$src" "$stage$dst"
}

# Modes from the source files' executable bits only, mtimes zero: umask and
# checkout time do not leak into the archive.
normalise() {
	find "$stage" -type d -exec chmod 0755 {} +
	find "$stage" -type f -perm /111 -exec chmod 0755 {} +
	find "$stage" -type f ! -perm /111 -exec chmod 0644 {} +
	find "$stage" -exec touch -h -d @0 {} +
}

write_archive() {
	local tmp=$out.tmp
	mkdir -p "$(dirname "$out")"
	(cd "$stage" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
		cpio --null -o -H newc -R 0:0 --reproducible --quiet) |
		gzip -n -6 >"$tmp"
	mv "$tmp" "$out"
}

make_skeleton
for f in "${files[@]}"; do
	add_file "$f"
done
normalise
write_archive
log "initramfs: $out ($(du -k "$out" | cut -f1) KiB)"
