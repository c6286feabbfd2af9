package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Output folders (solve -o DIR) are written as one unit: all files go into a fresh
// temporary folder beside DIR (same parent, so on the same file system), each
// flushed and synced, and that folder then replaces DIR — by one atomic exchange of
// the two folders where the system offers it (Linux renameat2 RENAME_EXCHANGE),
// else by two renames (DIR aside, the new folder in, the old one removed; a failure
// in between puts DIR back). A reader, an interruption or a failed write therefore
// sees the previous DIR or the new one, never new weights beside an old report.
//
// Because DIR is replaced as a whole, cnnc only replaces a folder that holds
// nothing but its own outputs (outputFiles); DIR must be absent or such a folder,
// and never a symbolic link or anything but a directory. validateOutDir checks this
// (and that the parent can take the temporary folder) before any work is done, so
// a bad -o fails in a second, not after the solve.

// outputFiles are the files of an output folder: the report, the weights, the
// hidden network of planted data (cnnc.PlantedFile) and the plots of --plots
// (cnnc.PlotFiles).
var outputFiles = []string{"report.json", "weights.json", "planted.json", "convergence.svg", "filters.svg", "spectrum.svg"}

// validateOutDir checks that dir can be replaced by a new output folder: dir is
// absent, or a real directory (not a symbolic link) holding only regular files
// named in outputFiles; its parent (or the nearest existing ancestor) is a folder
// cnnc can create a folder in.
func validateOutDir(dir string) error {
	if dir == "" {
		return errors.New("the output folder is empty; give a folder name with -o DIR")
	}
	st, err := os.Lstat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fmt.Errorf("output folder %s: %v", dir, unwrapPath(err))
	case st.Mode()&os.ModeSymlink != 0:
		return fmt.Errorf("output folder %s is a symbolic link; cnnc replaces its output folder as a whole and does not write through links: give the real folder", dir)
	case !st.IsDir():
		return fmt.Errorf("output folder %s exists and is a %s, not a folder; give a new folder name with -o", dir, modeWords(st.Mode()))
	default:
		if err := ownFolder(dir); err != nil {
			return err
		}
	}
	return probeParent(filepath.Dir(filepath.Clean(dir)))
}

// ownFolder checks that dir holds only regular files named in outputFiles.
func ownFolder(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("output folder %s: %v", dir, unwrapPath(err))
	}
	var other []string
	for _, en := range ents {
		name := en.Name()
		known := false
		for _, f := range outputFiles {
			known = known || name == f
		}
		if !known {
			other = append(other, name)
			continue
		}
		if !en.Type().IsRegular() {
			return fmt.Errorf("output folder %s: %s is a %s, not a regular file; remove it or give another folder", dir, name, modeWords(en.Type()))
		}
	}
	if len(other) > 0 {
		sort.Strings(other)
		if len(other) > 5 {
			other = append(other[:5], fmt.Sprintf("and %d more", len(other)-5))
		}
		return fmt.Errorf("output folder %s holds other files (%s); cnnc replaces its output folder as a whole, so give a new or empty folder, or one holding only %s", dir, strings.Join(other, ", "), strings.Join(outputFiles, ", "))
	}
	return nil
}

// probeParent checks that a folder can be created in dir (or, when dir does not
// exist yet, in its nearest existing ancestor) by creating and removing one.
func probeParent(dir string) error {
	d := dir
	for {
		st, err := os.Stat(d)
		if err == nil {
			if !st.IsDir() {
				return fmt.Errorf("cannot create the output folder: %s is not a folder", d)
			}
			break
		}
		if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("cannot create the output folder in %s: %v", d, unwrapPath(err))
		}
		up := filepath.Dir(d)
		if up == d {
			return fmt.Errorf("cannot create the output folder: no existing parent of %s", dir)
		}
		d = up
	}
	tmp, err := os.MkdirTemp(d, ".cnnc-probe-*")
	if err != nil {
		return fmt.Errorf("cannot create the output folder in %s: %v", d, unwrapPath(err))
	}
	os.Remove(tmp)
	return nil
}

// writeOutDir writes files (name → content, names from outputFiles) as the new
// content of dir, replacing it as one unit (see above). dir is validated again
// first, in case it changed during the run.
func writeOutDir(dir string, files map[string][]byte) (err error) {
	if err := validateOutDir(dir); err != nil {
		return err
	}
	dir = filepath.Clean(dir)
	parent, base := filepath.Dir(dir), filepath.Base(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("creating %s: %v", parent, unwrapPath(err))
	}
	tmp, err := os.MkdirTemp(parent, "."+base+".new-*")
	if err != nil {
		return fmt.Errorf("cannot write %s: %v", dir, unwrapPath(err))
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	mode := os.FileMode(0o755)
	if st, err := os.Stat(dir); err == nil {
		mode = st.Mode().Perm()
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return fmt.Errorf("cannot write %s: %v", dir, unwrapPath(err))
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := writeSynced(filepath.Join(tmp, name), files[name]); err != nil {
			return fmt.Errorf("writing %s: %v", filepath.Join(dir, name), err)
		}
	}
	syncDir(tmp)
	if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
		if err := os.Rename(tmp, dir); err != nil {
			return fmt.Errorf("cannot write %s: %v", dir, unwrapLink(err))
		}
		syncDir(parent)
		return nil
	}
	// tmp ⇄ dir: dir then holds the new files, tmp the old ones.
	if exchangeErr := renameExchange(tmp, dir); exchangeErr == nil {
		syncDir(parent)
		os.RemoveAll(tmp)
		return nil
	}
	old := tmp + ".old"
	if err := os.Rename(dir, old); err != nil {
		return fmt.Errorf("cannot replace %s: %v", dir, unwrapLink(err))
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.Rename(old, dir) // put the previous outputs back
		return fmt.Errorf("cannot replace %s: %v", dir, unwrapLink(err))
	}
	syncDir(parent)
	os.RemoveAll(old)
	return nil
}

// writeSynced creates path (which must not exist) with data and syncs it.
func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return unwrapPath(err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// syncDir makes renames in dir durable (best effort: not every file system syncs
// folders).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// validateOutFile checks that path can be replaced by a new file: absent (in an
// existing folder) or a regular file — never a symbolic link, a device (-o
// /dev/null), a FIFO or a folder.
func validateOutFile(path string) error {
	if path == "" {
		return errors.New("the output path is empty; give a file name with -o PATH")
	}
	st, err := os.Lstat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		dir := filepath.Dir(path)
		dst, err := os.Stat(dir)
		if err != nil {
			return fmt.Errorf("cannot write %s: its folder %s: %v", path, dir, unwrapPath(err))
		}
		if !dst.IsDir() {
			return fmt.Errorf("cannot write %s: %s is not a folder", path, dir)
		}
		return nil
	case err != nil:
		return fmt.Errorf("cannot write %s: %v", path, unwrapPath(err))
	case st.Mode()&os.ModeSymlink != 0:
		return fmt.Errorf("cannot write %s: it is a symbolic link; cnnc replaces files atomically and does not write through links: give the real path", path)
	case !st.Mode().IsRegular():
		return fmt.Errorf("cannot write %s: it is a %s, not a regular file; cnnc only replaces regular files", path, modeWords(st.Mode()))
	}
	return nil
}

// modeWords names a file type for messages.
func modeWords(m os.FileMode) string {
	switch {
	case m&os.ModeSymlink != 0:
		return "symbolic link"
	case m&os.ModeNamedPipe != 0:
		return "named pipe (FIFO)"
	case m&os.ModeSocket != 0:
		return "socket"
	case m&os.ModeCharDevice != 0:
		return "character device"
	case m&os.ModeDevice != 0:
		return "device"
	case m.IsDir():
		return "folder"
	case m.IsRegular():
		return "regular file"
	}
	return "special file"
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func unwrapLink(err error) error {
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}
