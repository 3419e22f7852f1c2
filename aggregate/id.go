package aggregate

import (
	"fmt"
	"strconv"

	"github.com/google/uuid"
)

// NewID returns a new ID of type K: a UUIDv7 in canonical lower-case form. UUIDv7 IDs sort by
// creation time, which keeps B-tree indexes compact. Declare one ID type per aggregate so IDs
// cannot be mixed up:
//
//	type TransferID string
//	id := aggregate.NewID[TransferID]()
//
// NewID is safe for concurrent use.
func NewID[K ~string]() K {
	// uuid.NewV7 fails only if the system's random source does, which crypto/rand reports by
	// crashing the program since Go 1.24.
	return K(uuid.Must(uuid.NewV7()).String())
}

// ParseID validates s as a UUID (any version) and returns it as a K in canonical lower-case form.
// Only the canonical 36-character form is accepted ("01890a5d-ac96-774b-bcce-b302099a8057", any
// case); the nil UUID and anything else are errors wrapping [ErrInvalidID]. IDs that are not
// UUIDs, such as account numbers, are validated by the domain type that defines them.
func ParseID[K ~string](s string) (K, error) {
	if len(s) != 36 {
		return "", fmt.Errorf("%w: %s is not a UUID in canonical form", ErrInvalidID, strconv.Quote(short(s)))
	}
	u, err := uuid.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %v", ErrInvalidID, strconv.Quote(s), err)
	}
	if u == uuid.Nil {
		return "", fmt.Errorf("%w: the nil UUID", ErrInvalidID)
	}
	return K(u.String()), nil
}

// short shortens s for an error message.
func short(s string) string {
	if len(s) > 48 {
		return s[:48] + "..."
	}
	return s
}
