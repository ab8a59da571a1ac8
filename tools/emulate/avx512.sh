#!/usr/bin/env bash
# Runs Go package tests on an emulated AVX-512 CPU, for machines without
# one: the AVX-512 kernels of nn/kernels are otherwise only ever executed
# on the days the machine has AVX-512.
#
#   tools/emulate/avx512.sh                    # ./nn/kernels
#   tools/emulate/avx512.sh ./nn ./layers
#   tools/emulate/avx512.sh ./nn/kernels -- -test.run 'Sgemm' -test.v
#
# Arguments before "--" are packages (default ./nn/kernels); those after it
# are the test binaries' flags, without spaces inside one (default:
# -test.skip /^(generic|avx2)(#[0-9]+)?$ -test.v, which runs every test,
# and of the per-implementation subtests only the AVX-512 ones; the guest
# selects AVX-512 by itself, so tests that use the selected implementation
# run on it).
#
# How: the Bochs emulator (Debian's build has AVX-512, EVEX included),
# CPU model corei7_skylake_x (AVX-512 F, CD, BW, DQ, VL), boots Debian's
# cloud kernel from a FAT disk image with SYSLINUX; the initramfs holds the
# statically linked test binaries and tools/emulate/init.go, which runs
# them and prints their output on the serial console, read here. The
# kernel runs with clearcpuid=pku,xsavec,xsaves: Bochs 2.7 reports sizes in
# CPUID leaf 0xD that Linux 6.1's XSAVE checks reject for the compacted
# format and for the protection-keys state, and with them Linux would turn
# off AVX altogether; the standard format passes.
#
# Bochs interprets every instruction: the guest boots in about a minute and
# the default run took 12 minutes on a Zen 3. It needs root for apt-get (Debian
# packages bochs, bochsbios, vgabios, bochs-sdl, syslinux, mtools,
# dosfstools, cpio and one linux-image-*-cloud-amd64, downloaded but not
# installed). Work files go to $EMULATE_DIR (default /tmp/sortnet-emulate);
# $EMULATE_TIMEOUT (default 3600) bounds the emulated run in seconds.
#
# Tests that read the package's source files (TestAsmVectorRegisters)
# skip in the guest, which holds only the binaries and testdata.
#
# The exit status is 0 when every test binary passed.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=${EMULATE_DIR:-/tmp/sortnet-emulate}
limit=${EMULATE_TIMEOUT:-3600}

pkgs=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
	pkgs+=("$1")
	shift
done
[ $# -gt 0 ] && shift
flags=("$@")
[ ${#pkgs[@]} -gt 0 ] || pkgs=(./nn/kernels)
[ ${#flags[@]} -gt 0 ] || flags=('-test.skip' '/^(generic|avx2)(#[0-9]+)?$' -test.v)

log() { printf 'emulate: %s\n' "$*" >&2; }

need=()
for p in bochs bochsbios vgabios bochs-sdl syslinux mtools dosfstools cpio; do
	dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
updated=
apt_update() { [ -n "$updated" ] || apt-get update -qq; updated=1; }
if [ ${#need[@]} -gt 0 ]; then
	log "installing ${need[*]}"
	apt_update
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

mkdir -p "$work"
cd "$work"
exec 9>lock
flock -n 9 || { log "another run is using $work"; exit 1; }
if ! ls kernel/boot/vmlinuz-* >/dev/null 2>&1; then
	apt_update
	pkg=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
	[ -n "$pkg" ] || { log "no linux-image-*-cloud-amd64 package found"; exit 1; }
	log "downloading $pkg"
	rm -f linux-image-*.deb
	apt-get download "$pkg" >/dev/null 2>&1 || { log "apt-get download $pkg failed"; exit 1; }
	dpkg-deb -x linux-image-*.deb kernel
	rm -f linux-image-*.deb
fi

rm -rf initrd && mkdir -p initrd/tmp initrd/dev
: >initrd/cmds
(cd "$root" && CGO_ENABLED=0 go build -o "$work/initrd/init" ./tools/emulate)
for p in "${pkgs[@]}"; do
	name=$(cd "$root" && go list -f '{{.ImportPath}}' "$p" | tr / _)
	dir=$(cd "$root" && go list -f '{{.Dir}}' "$p")
	mkdir -p "initrd/$name"
	[ -d "$dir/testdata" ] && cp -r "$dir/testdata" "initrd/$name/"
	log "building $p"
	(cd "$root" && CGO_ENABLED=0 go test -c -o "$work/initrd/$name/$name.test" "$p")
	echo "/$name /$name/$name.test ${flags[*]}" >>initrd/cmds
done
(cd initrd && find . | cpio -o -H newc 2>/dev/null | gzip -1 >../initrd.gz)

# A FAT disk of 130 cylinders, 16 heads, 63 sectors, booting SYSLINUX.
rm -f disk.img
dd if=/dev/zero of=disk.img bs=512 count=$((130 * 16 * 63)) status=none
mkfs.vfat -F 32 disk.img >/dev/null
syslinux --install disk.img
cat >syslinux.cfg <<'EOF'
DEFAULT linux
PROMPT 0
TIMEOUT 0
LABEL linux
  KERNEL vmlinuz
  INITRD initrd.gz
  APPEND console=ttyS0,115200 quiet loglevel=3 mitigations=off tsc=reliable clearcpuid=515,323,321
EOF
mcopy -i disk.img kernel/boot/vmlinuz-* ::vmlinuz
mcopy -i disk.img initrd.gz ::initrd.gz
mcopy -i disk.img syslinux.cfg ::syslinux.cfg

cat >bochsrc <<'EOF'
megs: 1536
cpu: model=corei7_skylake_x, count=1, ips=400000000
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/vgabios/vgabios.bin
ata0-master: type=disk, path=disk.img, mode=flat, cylinders=130, heads=16, spt=63
boot: disk
com1: enabled=1, mode=file, dev=serial.out
display_library: sdl2
clock: sync=none, time0=local
speaker: enabled=0
sound: driver=dummy
log: bochs.log
panic: action=fatal
error: action=ignore
info: action=ignore
debug: action=ignore
EOF
# Debian's Bochs is built with its debugger, which stops before the first
# instruction: "c" continues.
echo c >bochs.cmds

rm -f serial.out bochs.log disk.img.lock
log "booting (Bochs, corei7_skylake_x); serial console in $work/serial.out"
start=$SECONDS
# SDL2 with its dummy video driver: no window, and no terminal (Bochs's
# curses display blocks on the terminal and ran the guest several times
# slower).
SDL_VIDEODRIVER=dummy bochs -q -f bochsrc -rc bochs.cmds </dev/null >bochs.out 2>&1 &
spid=$!
stop() { kill -9 "$spid" 2>/dev/null || true; }
trap stop EXIT
shown=-1 # serial.out's lines already shown; -1 until the first EMULATE line
while :; do
	sleep 5
	touch serial.out
	if [ "$shown" -lt 0 ]; then
		first=$(grep -an '^EMULATE ' serial.out | head -1 | cut -d: -f1 || true)
		[ -n "$first" ] && shown=$((first - 1))
	fi
	if [ "$shown" -ge 0 ]; then
		n=$(wc -l <serial.out)
		if [ "$n" -gt "$shown" ]; then
			sed -n "$((shown + 1)),${n}p" serial.out | tr -d '\r'
			shown=$n
		fi
	fi
	grep -aq '^EMULATE done' serial.out && break
	if ! kill -0 "$spid" 2>/dev/null; then
		log "Bochs exited before the guest finished; see $work/bochs.out, bochs.log and serial.out"
		exit 1
	fi
	if [ $((SECONDS - start)) -gt "$limit" ]; then
		log "timed out after ${limit}s; see $work/serial.out"
		exit 1
	fi
done
log "finished in $((SECONDS - start))s"
grep -aq '^EMULATE cpu .*avx512f=true avx512bw=true avx512dq=true avx512vl=true' serial.out ||
	{ log "the guest did not see AVX-512 F/BW/DQ/VL"; exit 1; }
grep -aq '^EMULATE done failed=0' serial.out
