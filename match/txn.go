// This file implements the write transaction that AddAll and Replace use:
// the buckets a call changes are built apart from what readers see, checked
// rule by rule, and published together by commit, or dropped on the first
// error, which leaves the index as it was.
//
// A bucket the call touches is copied into the transaction on first use (its
// held rules inserted into a fresh write side), so the held bucket is never
// changed before commit. commit builds each new bucket's block whole. It
// publishes a single bucket in place (one atomic store into its slot) and
// several buckets by copying the bucket table with all of them and storing
// the copy once, so that readers see all of a call's rules at once.

package match

// txn is one AddAll or Replace in progress. The caller holds the Index's
// writer lock from begin to commit (Replace builds its one bucket before
// taking the lock; see Index.Replace).
type txn struct {
	x       *Index
	buckets map[string]*bucket // the transaction's version of each bucket it touches
	added   int                // rules added, less rules dropped
}

// begin starts a transaction on x.
func (x *Index) begin() *txn { return &txn{x: x, buckets: make(map[string]*bucket)} }

// bucket returns the transaction's version of the bucket name: on first
// use a copy of the held one (or a new one), sized for n more rules.
func (t *txn) bucket(name string, n int) *bucket {
	if b := t.buckets[name]; b != nil {
		return b
	}
	old := t.x.buckets[name]
	if old != nil {
		n += len(old.ids)
	}
	b := newBucket(name, n, t.x.smallLimit)
	if old != nil {
		for _, r := range old.ids {
			b.insert(r)
		}
	}
	t.buckets[name] = b
	return b
}

// replace makes b, built from nothing, the transaction's version of its
// bucket, dropping the held rules.
func (t *txn) replace(b *bucket) {
	if old := t.x.buckets[b.name]; old != nil {
		t.added -= len(old.ids)
	}
	t.added += len(b.ids)
	t.buckets[b.name] = b
}

// add checks r against the transaction's version of its bucket (sized for
// n more rules on first use) and adds it, or returns the error Add would.
func (t *txn) add(r *Rule, n int) error {
	if err := r.Validate(); err != nil {
		return err
	}
	b := t.bucket(r.Bucket, n)
	if err := b.check(r); err != nil {
		return err
	}
	b.insert(intern(*r))
	t.added++
	return nil
}

// commit builds the block of every bucket of t and publishes them. The
// caller holds the writer lock.
func (t *txn) commit() {
	x := t.x
	table := x.table.Load()
	if len(t.buckets) > 1 {
		table = table.grown(2 * (table.live + len(t.buckets)))
	}
	for name, b := range t.buckets {
		b.block = b.build()
		if len(b.ids) == 0 {
			delete(x.buckets, name)
		} else {
			x.buckets[name] = b
		}
		table = table.set(name, b.block)
	}
	x.table.Store(table)
	x.n.Add(int64(t.added))
}
