package hostos

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"slices"
	"strings"
)

// ContextDigest is the SHA-256 of the build context: each file the image
// build reads (every file but the provenance, which no step copies), by
// name, with its mode and length, so that no two contexts share a digest.
func ContextDigest(files []File) string {
	sorted := slices.Clone(files)
	slices.SortFunc(sorted, func(a, b File) int { return strings.Compare(a.Name, b.Name) })
	h := sha256.New()
	for _, f := range sorted {
		if f.Name == InfoFile {
			continue
		}
		var n [8]byte
		h.Write([]byte(f.Name))
		h.Write([]byte{0})
		binary.BigEndian.PutUint64(n[:], uint64(f.Mode))
		h.Write(n[:])
		binary.BigEndian.PutUint64(n[:], uint64(len(f.Contents)))
		h.Write(n[:])
		h.Write(f.Contents)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
