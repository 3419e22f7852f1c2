package locktable

// WaitingFor reports the key owner waits for in Acquire, if it waits: tests use it to know,
// without sleeping, that a goroutine has started to wait.
func (t *Table[O, K]) WaitingFor(owner O) (K, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k, ok := t.waiting[owner]
	return k, ok
}

// Holder reports the owner holding k, if any.
func (t *Table[O, K]) Holder(k K) (O, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.held[k]; e != nil {
		return e.owner, true
	}
	var zero O
	return zero, false
}

// Transfer releases k, which from holds, and gives it to to in the same critical section, as
// if to won the race for it against every waiter woken by the release.
func (t *Table[O, K]) Transfer(from, to O, k K) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.held[k]
	if e == nil || e.owner != from {
		panic("Transfer: from does not hold k")
	}
	close(e.released)
	keys := t.owned[from]
	for i, o := range keys {
		if o == k {
			t.owned[from] = append(keys[:i], keys[i+1:]...)
			break
		}
	}
	t.held[k] = &entry[O]{owner: to, released: make(chan struct{})}
	t.owned[to] = append(t.owned[to], k)
}
