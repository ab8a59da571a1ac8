//go:build linux

// Command emulate is the init process of the guest that
// tools/emulate/avx512.sh boots in the Bochs emulator: it prints the CPU
// features the guest sees, runs each line of /cmds in turn (a directory
// to run in, then a test binary and its flags), reports each one's exit
// status on the console, and powers the guest off.
//
// Every line it prints for the host to read starts with "EMULATE ".
package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/klauspost/cpuid/v2"
)

func main() {
	defer powerOff()
	// exec gives a command without stdin /dev/null, which an initramfs
	// lacks.
	if err := syscall.Mknod("/dev/null", syscall.S_IFCHR|0o666, 1<<8|3); err != nil && !errors.Is(err, os.ErrExist) {
		fmt.Println("EMULATE mknod /dev/null:", err)
	}
	fmt.Printf("EMULATE cpu %q avx512f=%v avx512bw=%v avx512dq=%v avx512vl=%v avx2=%v fma=%v\n",
		cpuid.CPU.BrandName, cpuid.CPU.Supports(cpuid.AVX512F), cpuid.CPU.Supports(cpuid.AVX512BW),
		cpuid.CPU.Supports(cpuid.AVX512DQ), cpuid.CPU.Supports(cpuid.AVX512VL),
		cpuid.CPU.Supports(cpuid.AVX2), cpuid.CPU.Supports(cpuid.FMA3))
	f, err := os.Open("/cmds")
	if err != nil {
		fmt.Println("EMULATE done error:", err)
		return
	}
	defer f.Close()
	failed := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// Each line is the directory to run in, then the command.
		args := strings.Fields(sc.Text())
		if len(args) < 2 {
			continue
		}
		dir := args[0]
		args = args[1:]
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir = dir
		cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, os.Stdout, os.Stdout
		cmd.Env = []string{"HOME=/tmp", "TMPDIR=/tmp", "PATH=/"}
		fmt.Println("EMULATE run", strings.Join(args, " "))
		start := time.Now()
		err := cmd.Run()
		code := 0
		if err != nil {
			code = -1
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			}
			failed++
		}
		fmt.Printf("EMULATE exit %d %s (%v, guest clock)\n", code, args[0], time.Since(start).Round(time.Millisecond))
	}
	fmt.Printf("EMULATE done failed=%d\n", failed)
}

// powerOff flushes the console and powers the guest off; the host script
// stops the emulator once it reads "EMULATE done".
func powerOff() {
	syscall.Sync()
	time.Sleep(2 * time.Second)
	syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF)
}
