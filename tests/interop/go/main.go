// SPDX-License-Identifier: Apache-2.0

// Command tlog-interop checks Intake's transparency log with an independent
// implementation: Go's golang.org/x/mod/sumdb/note and sumdb/tlog (Debian's
// golang-golang-x-mod-dev 0.7.0, built offline in GOPATH mode).
//
// Usage: tlog-interop <dir>
//
// <dir> holds what the C side (tests/interop/interop_tlog.c) wrote: the
// exported tiles directory (checkpoint, tile/...), "vkey" (the log's
// verifier key), and "proofs.txt" with our inclusion and consistency proofs.
// This program
//   - verifies the checkpoint's signature with note.Open(NewVerifier(vkey)),
//   - recomputes the root from our tiles with tlog.TileHashReader,
//   - checks each of our proofs with tlog.CheckRecord / tlog.CheckTree and
//     compares them with its own tlog.ProveRecord / tlog.ProveTree,
//   - writes its own proofs to "go-proofs.txt" and a checkpoint it signed
//     with its own key to "go-note" / "go-vkey", for the C side to verify.
//
// Any disagreement prints a message and exits 1.
package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "tlog-interop: "+format+"\n", args...)
	os.Exit(1)
}

// dirTiles reads C2SP tiles from a directory.  x/mod 0.7 names tiles
// tile/<H>/<L>/<N> with a height segment and "data" for entries; C2SP
// tlog-tiles has no height segment and says "entries": map the path.
type dirTiles struct {
	dir   string
	reads int
}

func c2spPath(t tlog.Tile) string {
	p := t.Path()
	p = strings.Replace(p, "tile/8/", "tile/", 1)
	p = strings.Replace(p, "tile/data/", "tile/entries/", 1)
	return p
}

func (d *dirTiles) Height() int { return 8 }

func (d *dirTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		b, err := os.ReadFile(filepath.Join(d.dir, c2spPath(t)))
		if err != nil {
			return nil, err
		}
		if len(b) != t.W*tlog.HashSize {
			return nil, fmt.Errorf("tile %s: %d bytes, want %d", c2spPath(t), len(b), t.W*tlog.HashSize)
		}
		out[i] = b
		d.reads++
	}
	return out, nil
}

func (d *dirTiles) SaveTiles(tiles []tlog.Tile, data [][]byte) {}

// entries reads every entry of a tree of size n from the entry bundles.
func entries(dir string, n int64) [][]byte {
	var all [][]byte
	for start := int64(0); start < n; start += 256 {
		w := n - start
		if w > 256 {
			w = 256
		}
		t := tlog.Tile{H: 8, L: -1, N: start / 256, W: int(w)}
		b, err := os.ReadFile(filepath.Join(dir, c2spPath(t)))
		if err != nil {
			fail("entry bundle: %v", err)
		}
		for i := int64(0); i < w; i++ {
			if len(b) < 2 {
				fail("entry bundle %s: short", c2spPath(t))
			}
			l := int(binary.BigEndian.Uint16(b))
			if len(b) < 2+l {
				fail("entry bundle %s: short entry", c2spPath(t))
			}
			all = append(all, b[2:2+l])
			b = b[2+l:]
		}
		if len(b) != 0 {
			fail("entry bundle %s: %d trailing bytes", c2spPath(t), len(b))
		}
	}
	return all
}

func b64hash(s string) tlog.Hash {
	var h tlog.Hash
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != tlog.HashSize {
		fail("bad hash %q", s)
	}
	copy(h[:], b)
	return h
}

func hashes(fields []string) []tlog.Hash {
	var out []tlog.Hash
	for _, f := range fields {
		out = append(out, b64hash(f))
	}
	return out
}

func formatHashes(hs []tlog.Hash) string {
	var s []string
	for _, h := range hs {
		s = append(s, base64.StdEncoding.EncodeToString(h[:]))
	}
	return strings.Join(s, " ")
}

func equal(a, b []tlog.Hash) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func main() {
	if len(os.Args) != 2 {
		fail("usage: tlog-interop <dir>")
	}
	dir := os.Args[1]
	vkey, err := os.ReadFile(filepath.Join(dir, "vkey"))
	if err != nil {
		fail("%v", err)
	}
	msg, err := os.ReadFile(filepath.Join(dir, "checkpoint"))
	if err != nil {
		fail("%v", err)
	}

	// The signed note, with Go's verifier built from our vkey string.
	v, err := note.NewVerifier(strings.TrimSpace(string(vkey)))
	if err != nil {
		fail("NewVerifier(%q): %v", vkey, err)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		fail("note.Open: %v", err)
	}
	// Any change to the note must make Open fail.
	bad := bytes.Replace(msg, []byte("\n"), []byte("\n\n"), 1)
	if _, err := note.Open(bad, note.VerifierList(v)); err == nil {
		fail("note.Open accepted an altered checkpoint")
	}

	// The checkpoint body (C2SP tlog-checkpoint; Go's tlog.ParseTree
	// only knows the go.sum header, so parse the three lines here).
	lines := strings.Split(n.Text, "\n")
	if len(lines) != 4 || lines[3] != "" {
		fail("checkpoint body: %q", n.Text)
	}
	if lines[0] != v.Name() {
		fail("origin %q != key name %q", lines[0], v.Name())
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size <= 0 || strconv.FormatInt(size, 10) != lines[1] {
		fail("checkpoint size %q", lines[1])
	}
	root := b64hash(lines[2])

	// The root, recomputed from our tiles; TileHashReader also checks
	// every tile it reads against the tree.
	tiles := &dirTiles{dir: dir}
	tree := tlog.Tree{N: size, Hash: root}
	hr := tlog.TileHashReader(tree, tiles)
	th, err := tlog.TreeHash(size, hr)
	if err != nil {
		fail("TreeHash(%d): %v", size, err)
	}
	if th != root {
		fail("root from tiles %v != checkpoint root %v", th, root)
	}

	ents := entries(dir, size)
	if int64(len(ents)) != size {
		fail("%d entries for size %d", len(ents), size)
	}

	pf, err := os.Open(filepath.Join(dir, "proofs.txt"))
	if err != nil {
		fail("%v", err)
	}
	defer pf.Close()
	var out bytes.Buffer
	nincl, ncons := 0, 0
	sc := bufio.NewScanner(pf)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			fail("proofs.txt: %q", sc.Text())
		}
		switch f[0] {
		case "incl":
			// incl <index> <hash>...
			i, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil || i < 0 || i >= size {
				fail("incl index %q", f[1])
			}
			ours := tlog.RecordProof(hashes(f[2:]))
			leaf := tlog.RecordHash(ents[i])
			if err := tlog.CheckRecord(ours, size, root, i, leaf); err != nil {
				fail("CheckRecord(our proof, %d, %d): %v", size, i, err)
			}
			theirs, err := tlog.ProveRecord(size, i, hr)
			if err != nil {
				fail("ProveRecord(%d, %d): %v", size, i, err)
			}
			if !equal(ours, theirs) {
				fail("inclusion proofs differ at %d/%d", i, size)
			}
			if len(ours) > 0 {
				alt := append(tlog.RecordProof(nil), ours...)
				alt[0][0] ^= 1
				if tlog.CheckRecord(alt, size, root, i, leaf) == nil {
					fail("CheckRecord accepted an altered proof")
				}
			}
			fmt.Fprintf(&out, "incl %d %s\n", i, formatHashes(theirs))
			nincl++
		case "cons":
			// cons <m> <root_m> <hash>...
			m, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil || m < 1 || m > size || len(f) < 3 {
				fail("cons line %q", sc.Text())
			}
			rootM := b64hash(f[2])
			ours := tlog.TreeProof(hashes(f[3:]))
			gm, err := tlog.TreeHash(m, hr)
			if err != nil || gm != rootM {
				fail("TreeHash(%d) = %v, %v; ours %v", m, gm, err, rootM)
			}
			if err := tlog.CheckTree(ours, size, root, m, rootM); err != nil {
				fail("CheckTree(our proof, %d, %d): %v", size, m, err)
			}
			theirs, err := tlog.ProveTree(size, m, hr)
			if err != nil {
				fail("ProveTree(%d, %d): %v", size, m, err)
			}
			if !equal(ours, theirs) {
				fail("consistency proofs differ at %d/%d", m, size)
			}
			if len(ours) > 0 {
				alt := append(tlog.TreeProof(nil), ours...)
				alt[len(alt)-1][31] ^= 0x80
				if tlog.CheckTree(alt, size, root, m, rootM) == nil {
					fail("CheckTree accepted an altered proof")
				}
			}
			fmt.Fprintf(&out, "cons %d %s %s\n", m, f[2], formatHashes(theirs))
			ncons++
		default:
			fail("proofs.txt: unknown line %q", f[0])
		}
	}
	if err := sc.Err(); err != nil {
		fail("%v", err)
	}
	if nincl == 0 || ncons == 0 {
		fail("no proofs to check (%d, %d)", nincl, ncons)
	}
	if err := os.WriteFile(filepath.Join(dir, "go-proofs.txt"), out.Bytes(), 0o644); err != nil {
		fail("%v", err)
	}

	// A checkpoint for the same tree, signed by Go, for the C side.
	const name = "go.example/interop"
	skey, gvkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		fail("%v", err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		fail("%v", err)
	}
	body := fmt.Sprintf("%s\n%d\n%s\n", name, size, base64.StdEncoding.EncodeToString(root[:]))
	signed, err := note.Sign(&note.Note{Text: body}, signer)
	if err != nil {
		fail("%v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go-note"), signed, 0o644); err != nil {
		fail("%v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go-vkey"), []byte(gvkey), 0o644); err != nil {
		fail("%v", err)
	}
	fmt.Printf("tlog-interop: size %d: signature, root from %d tiles, %d inclusion and %d consistency proofs agree\n",
		size, tiles.reads, nincl, ncons)
}
