package aggregate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
)

// Activities tracks, per partner, which activities the aggregate has seen: Helland's partner
// activities, the domain model's own answer to duplicate and out-of-order messages. A partner is
// whatever the aggregate collaborates with (another aggregate, a bounded context); an activity is
// anything that partner identifies, such as a message ID or a request number.
//
//	if !order.Payments.Record("payments", evt.PaymentID) {
//		return nil // seen before: no second effect
//	}
//
// Activities keeps every activity it has seen; when a partner numbers its activities 1, 2, 3...,
// use [SequencedActivities], which stays small. The zero value is ready to use. It is not safe for
// concurrent use; it lives inside an aggregate. It encodes to JSON as
// {"partner":["activity",...]}, sorted, so it is stored with the aggregate.
type Activities struct {
	seen map[string]map[string]struct{}
}

// Record notes that partner performed activity and reports whether that is new: false means it
// was recorded before.
func (a *Activities) Record(partner, activity string) bool {
	if a.seen == nil {
		a.seen = make(map[string]map[string]struct{})
	}
	set, ok := a.seen[partner]
	if !ok {
		set = make(map[string]struct{})
		a.seen[partner] = set
	}
	if _, dup := set[activity]; dup {
		return false
	}
	set[activity] = struct{}{}
	return true
}

// Seen reports whether partner's activity was recorded.
func (a *Activities) Seen(partner, activity string) bool {
	_, ok := a.seen[partner][activity]
	return ok
}

// Len returns how many activities of partner were recorded.
func (a *Activities) Len(partner string) int { return len(a.seen[partner]) }

// MarshalJSON encodes the activities as {"partner":["activity",...]}, partners and activities
// sorted.
func (a Activities) MarshalJSON() ([]byte, error) {
	out := make(map[string][]string, len(a.seen))
	for p, set := range a.seen {
		out[p] = slices.Sorted(maps.Keys(set))
	}
	return json.Marshal(out)
}

// UnmarshalJSON decodes what MarshalJSON writes, replacing the current contents; null leaves a
// unchanged. Malformed input is an error wrapping [ErrInvalidActivity] and leaves a unchanged.
func (a *Activities) UnmarshalJSON(data []byte) error {
	if isNull(data) {
		return nil
	}
	var in map[string][]string
	if err := json.Unmarshal(data, &in); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidActivity, err)
	}
	seen := make(map[string]map[string]struct{}, len(in))
	for p, list := range in {
		set := make(map[string]struct{}, len(list))
		for _, act := range list {
			set[act] = struct{}{}
		}
		seen[p] = set
	}
	a.seen = seen
	return nil
}

// DefaultWindow is the out-of-order window of a [SequencedActivities] whose window is not set.
const DefaultWindow = 1024

// SequencedActivities tracks activities that each partner numbers 1, 2, 3...: per partner a
// high-water mark (every activity up to it has been seen) and the few activities seen above it,
// out of order. It answers like [Activities] but does not grow with the number of activities:
// only with the out-of-order ones, at most Window per partner. An activity more than Window above
// the mark is refused with an error wrapping [ErrActivityWindow] rather than remembered; the
// sender's redelivery brings it back once the gap below it has filled.
//
// The zero value is ready to use, with [DefaultWindow]. It is not safe for concurrent use; it
// lives inside an aggregate. It encodes to JSON as
// {"window":64,"partners":{"p":{"upTo":10,"above":[12,15]}}}.
type SequencedActivities struct {
	// Window is how far above a partner's high-water mark an activity may be recorded; 0 means
	// DefaultWindow.
	Window   uint64
	partners map[string]*sequence
}

// sequence is one partner's state: every activity in 1..upTo seen, and above (sorted, each in
// upTo+2..upTo+window) seen too.
type sequence struct {
	UpTo  uint64   `json:"upTo"`
	Above []uint64 `json:"above,omitempty"`
}

func (s *SequencedActivities) window() uint64 {
	if s.Window == 0 {
		return DefaultWindow
	}
	return s.Window
}

// Record notes that partner performed activity number n and reports whether that is new. n is
// at least 1 (error wrapping [ErrInvalidActivity]) and at most the high-water mark plus the
// window (error wrapping [ErrActivityWindow]); on error nothing is recorded.
func (s *SequencedActivities) Record(partner string, n uint64) (bool, error) {
	if n == 0 {
		return false, fmt.Errorf("%w: activities are numbered from 1", ErrInvalidActivity)
	}
	seq := s.partners[partner]
	if seq == nil {
		seq = &sequence{}
	}
	if n <= seq.UpTo {
		return false, nil
	}
	if n-seq.UpTo > s.window() {
		return false, fmt.Errorf("%w: %s activity %d is more than %d above %d", ErrActivityWindow, partner, n, s.window(), seq.UpTo)
	}
	i, found := slices.BinarySearch(seq.Above, n)
	if found {
		return false, nil
	}
	if s.partners == nil {
		s.partners = make(map[string]*sequence)
	}
	s.partners[partner] = seq
	if n == seq.UpTo+1 {
		seq.UpTo = n
		// Absorb the activities above that are now contiguous.
		k := 0
		for k < len(seq.Above) && seq.Above[k] == seq.UpTo+1 {
			seq.UpTo++
			k++
		}
		seq.Above = slices.Delete(seq.Above, 0, k)
		return true, nil
	}
	seq.Above = slices.Insert(seq.Above, i, n)
	return true, nil
}

// Seen reports whether partner's activity number n was recorded.
func (s *SequencedActivities) Seen(partner string, n uint64) bool {
	seq := s.partners[partner]
	if seq == nil || n == 0 {
		return false
	}
	if n <= seq.UpTo {
		return true
	}
	_, found := slices.BinarySearch(seq.Above, n)
	return found
}

// HighWater returns partner's high-water mark: every activity from 1 to it has been recorded.
func (s *SequencedActivities) HighWater(partner string) uint64 {
	if seq := s.partners[partner]; seq != nil {
		return seq.UpTo
	}
	return 0
}

// Pending returns how many of partner's activities above the high-water mark are remembered.
func (s *SequencedActivities) Pending(partner string) int {
	if seq := s.partners[partner]; seq != nil {
		return len(seq.Above)
	}
	return 0
}

type sequencedJSON struct {
	Window   uint64               `json:"window,omitempty"`
	Partners map[string]*sequence `json:"partners"`
}

// MarshalJSON encodes the window (left out when it is the default, 0) and each partner's mark and
// activities above it.
func (s SequencedActivities) MarshalJSON() ([]byte, error) {
	partners := s.partners
	if partners == nil {
		partners = map[string]*sequence{}
	}
	return json.Marshal(sequencedJSON{Window: s.Window, Partners: partners})
}

func isNull(data []byte) bool { return string(bytes.TrimSpace(data)) == "null" }

// UnmarshalJSON decodes what MarshalJSON writes, replacing the current contents. Input that breaks
// the invariants (activities above not sorted, not above mark+1, or beyond the window) is an error
// wrapping [ErrInvalidActivity] and leaves s unchanged; null leaves s unchanged too.
func (s *SequencedActivities) UnmarshalJSON(data []byte) error {
	if isNull(data) {
		return nil
	}
	var in sequencedJSON
	if err := json.Unmarshal(data, &in); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidActivity, err)
	}
	w := in.Window
	if w == 0 {
		w = DefaultWindow
	}
	for p, seq := range in.Partners {
		if seq == nil {
			return fmt.Errorf("%w: partner %q has no state", ErrInvalidActivity, p)
		}
		prev := seq.UpTo + 1 // the first gap: never in Above
		for _, n := range seq.Above {
			// n <= seq.UpTo catches what n <= prev misses when seq.UpTo+1 overflows.
			if n <= prev || n <= seq.UpTo || n-seq.UpTo > w {
				return fmt.Errorf("%w: partner %q: activity %d out of place above %d", ErrInvalidActivity, p, n, seq.UpTo)
			}
			prev = n
		}
	}
	s.Window, s.partners = in.Window, in.Partners
	return nil
}
