package main

import (
	"syscall"
	"unsafe"
)

// renameExchange atomically exchanges the paths a and b (Linux renameat2 with
// RENAME_EXCHANGE, since Linux 3.15); an error (old kernel, file system without
// support) makes the caller fall back to two renames.
func renameExchange(a, b string) error {
	if sysRenameat2 == 0 {
		return syscall.ENOSYS
	}
	pa, err := syscall.BytePtrFromString(a)
	if err != nil {
		return err
	}
	pb, err := syscall.BytePtrFromString(b)
	if err != nil {
		return err
	}
	const atFDCWD = -100
	const renameExchangeFlag = 1 << 1
	fd := atFDCWD
	_, _, e := syscall.Syscall6(sysRenameat2, uintptr(fd), uintptr(unsafe.Pointer(pa)), uintptr(fd), uintptr(unsafe.Pointer(pb)), renameExchangeFlag, 0)
	if e != 0 {
		return e
	}
	return nil
}
