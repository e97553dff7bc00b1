// This file turns fuzzer bytes into operations and rule pairs, and back.
//
// Every byte string decodes to something (missing bytes read as zero), so
// the fuzzer never wastes an input, and every value the generators produce
// has an encoding, so seed corpora can be written from readable Ops.
//
// Layout of one Op (each field one byte unless said otherwise):
//
//	kind    k%8: 0, 1 or 4 Add, 2 or 6 Remove, 3 or 7 Replace, 5 AddAll
//	Add     bucket b%2 of Buckets, then a rule body
//	Remove  bucket, id
//	Replace bucket, count c%5 (0 is nil), then per rule a byte f (f%8 == 7
//	        puts the rule in the other bucket) and a rule body; or, when
//	        c >= 0xF8, a wide Replace (WideRules) of MinWide+(c-0xF8)
//	        rules: a start byte s, then per rule i (ID WideIDs[i], prefix
//	        widePrefix(s+i)) events, suffix and target as in a rule body
//	AddAll  count c%5 (0 is nil), then per rule a bucket and a rule body, so
//	        one AddAll may span both buckets
//
// Kind bytes 0 to 3 mean what they meant before AddAll was added (k%4), so
// the seed corpora written then still decode to the same Ops; EncodeOps
// writes 0, 2, 3 and 5.
//
// A rule body is: id (0xFF is "", 0x80 to 0xFE WideIDs[(i-0x80)%18], else
// IDs[i%8]), events (0xFF is the empty
// set, else EventSets[i%10]), prefix and suffix (a length l%4, then l bytes
// c, each Alphabet[c%3]), target (0xFF is "", else Targets[i%3]).

package oracle

import (
	"fmt"
	"slices"

	"github.com/notifymux/notifymux/match"
)

// MaxDecodedOps bounds how many Ops DecodeOps returns, to keep each fuzz
// input quick.
const MaxDecodedOps = 48

type byteReader struct{ data []byte }

func (r *byteReader) next() byte {
	if len(r.data) == 0 {
		return 0
	}
	b := r.data[0]
	r.data = r.data[1:]
	return b
}

func (r *byteReader) filter() string {
	n := int(r.next() % (MaxFilterLen + 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = Alphabet[int(r.next())%len(Alphabet)]
	}
	return string(b)
}

func (r *byteReader) ruleBody(bucket string) match.Rule {
	rule := match.Rule{Bucket: bucket}
	rule.ID = r.id()
	if b := r.next(); b != 0xFF {
		rule.Events = EventSets[int(b)%len(EventSets)]
	}
	rule.Prefix = r.filter()
	rule.Suffix = r.filter()
	if b := r.next(); b != 0xFF {
		rule.Target = Targets[int(b)%len(Targets)]
	}
	return rule
}

// id decodes a rule ID: 0xFF is "", 0x80 and up a wide rule's, else an
// ordinary one.
func (r *byteReader) id() string {
	switch b := r.next(); {
	case b == 0xFF:
		return ""
	case b >= 0x80:
		return WideIDs[int(b-0x80)%len(WideIDs)]
	default:
		return IDs[int(b)%len(IDs)]
	}
}

// tail decodes events, suffix and target into rule, as a rule body ends.
func (r *byteReader) tail(rule *match.Rule) {
	if b := r.next(); b != 0xFF {
		rule.Events = EventSets[int(b)%len(EventSets)]
	}
	rule.Suffix = r.filter()
	if b := r.next(); b != 0xFF {
		rule.Target = Targets[int(b)%len(Targets)]
	}
}

func (r *byteReader) bucket() string { return Buckets[int(r.next())%len(Buckets)] }

// DecodeOps decodes data into at most MaxDecodedOps operations.
func DecodeOps(data []byte) []Op {
	r := &byteReader{data: data}
	var ops []Op
	for len(r.data) > 0 && len(ops) < MaxDecodedOps {
		switch r.next() % 8 {
		case 0, 1, 4:
			ops = append(ops, Op{Kind: OpAdd, Rule: r.ruleBody(r.bucket())})
		case 2, 6:
			b := r.bucket()
			ops = append(ops, Op{Kind: OpRemove, Bucket: b, ID: r.id()})
		case 3, 7:
			b := r.bucket()
			c := r.next()
			n := int(c % 5)
			op := Op{Kind: OpReplace, Bucket: b}
			if c >= 0xF8 { // one count byte in 32: a wide Replace costs the oracle tens of ms
				n, start := MinWide+int(c-0xF8), int(r.next())
				for i := range n {
					rule := match.Rule{ID: WideIDs[i], Bucket: b, Prefix: widePrefix(start + i)}
					r.tail(&rule)
					op.Rules = append(op.Rules, rule)
				}
				ops = append(ops, op)
				continue
			}
			for range n {
				rb := b
				if r.next()%8 == 7 {
					rb = otherBucket(b)
				}
				op.Rules = append(op.Rules, r.ruleBody(rb))
			}
			ops = append(ops, op)
		case 5:
			n := int(r.next() % 5)
			op := Op{Kind: OpAddAll}
			for range n {
				op.Rules = append(op.Rules, r.ruleBody(r.bucket()))
			}
			ops = append(ops, op)
		}
	}
	return ops
}

// EncodeOps returns bytes that DecodeOps turns back into ops, or an error
// naming the first value the encoding cannot express (a bucket, ID, event
// set or target outside the generator's pools, a filter byte outside
// Alphabet, a filter longer than MaxFilterLen, more than 4 rules in an
// AddAll, or more than 4 rules in a Replace that is not a wide Replace). An AddAll of no rules decodes as nil Rules.
func EncodeOps(ops []Op) ([]byte, error) {
	var out []byte
	for i, op := range ops {
		var err error
		switch op.Kind {
		case OpAdd:
			out = append(out, 0)
			if out, err = encodeBucket(out, op.Rule.Bucket); err == nil {
				out, err = encodeBody(out, op.Rule)
			}
		case OpRemove:
			out = append(out, 2)
			if out, err = encodeBucket(out, op.Bucket); err == nil {
				out, err = encodeID(out, op.ID)
			}
		case OpReplace:
			out = append(out, 3)
			if out, err = encodeBucket(out, op.Bucket); err != nil {
				break
			}
			if len(op.Rules) > 4 {
				out, err = encodeWide(out, op)
				break
			}
			out = append(out, byte(len(op.Rules)))
			for _, r := range op.Rules {
				switch r.Bucket {
				case op.Bucket:
					out = append(out, 0)
				case otherBucket(op.Bucket):
					out = append(out, 7)
				default:
					err = fmt.Errorf("rule %q names bucket %q", r.ID, r.Bucket)
				}
				if err == nil {
					out, err = encodeBody(out, r)
				}
				if err != nil {
					break
				}
			}
		case OpAddAll:
			out = append(out, 5)
			if len(op.Rules) > 4 {
				err = fmt.Errorf("%d rules in one AddAll, over 4", len(op.Rules))
				break
			}
			out = append(out, byte(len(op.Rules)))
			for _, r := range op.Rules {
				if out, err = encodeBucket(out, r.Bucket); err == nil {
					out, err = encodeBody(out, r)
				}
				if err != nil {
					break
				}
			}
		default:
			err = fmt.Errorf("unknown kind %d", op.Kind)
		}
		if err != nil {
			return nil, fmt.Errorf("fuzz: cannot encode op %d (%v): %w", i, op, err)
		}
	}
	return out, nil
}

func encodeBucket(out []byte, b string) ([]byte, error) {
	i := slices.Index(Buckets, b)
	if i < 0 {
		return out, fmt.Errorf("bucket %q is not in Buckets", b)
	}
	return append(out, byte(i)), nil
}

// encodeIndex appends the position of v in pool, or 0xFF for "".
func encodeIndex(out []byte, what string, pool []string, v string) ([]byte, error) {
	if v == "" {
		return append(out, 0xFF), nil
	}
	i := slices.Index(pool, v)
	if i < 0 {
		return out, fmt.Errorf("%s %q is not in the pool", what, v)
	}
	return append(out, byte(i)), nil
}

func encodeBody(out []byte, r match.Rule) ([]byte, error) {
	var err error
	if out, err = encodeID(out, r.ID); err != nil {
		return out, err
	}
	if r.Events == 0 {
		out = append(out, 0xFF)
	} else if i := slices.Index(EventSets, r.Events); i >= 0 {
		out = append(out, byte(i))
	} else {
		return out, fmt.Errorf("event set %v is not in EventSets", r.Events)
	}
	for _, f := range []string{r.Prefix, r.Suffix} {
		if out, err = encodeFilter(out, f); err != nil {
			return out, err
		}
	}
	return encodeIndex(out, "target", Targets, r.Target)
}

// encodeID appends the encoding of a rule ID (see byteReader.id).
func encodeID(out []byte, id string) ([]byte, error) {
	if i := slices.Index(WideIDs, id); i >= 0 {
		return append(out, byte(0x80+i)), nil
	}
	return encodeIndex(out, "id", IDs, id)
}

// encodeWide appends the count, start and rule tails of a wide Replace, or
// returns an error when op's rules are not the form WideRules makes.
func encodeWide(out []byte, op Op) ([]byte, error) {
	n := len(op.Rules)
	if n < MinWide || n > MinWide+7 {
		return out, fmt.Errorf("%d rules in one Replace: over 4 and not a wide Replace of %d to %d", n, MinWide, MinWide+7)
	}
	start := slices.Index(widePrefixes, op.Rules[0].Prefix)
	out = append(out, byte(0xF8+n-MinWide), byte(start))
	for i, r := range op.Rules {
		if r.ID != WideIDs[i] || r.Bucket != op.Bucket || start < 0 || r.Prefix != widePrefix(start+i) {
			return out, fmt.Errorf("rule %d of a Replace of %d rules is not rule %d of a wide Replace", i, n, i)
		}
		if r.Events == 0 {
			out = append(out, 0xFF)
		} else if j := slices.Index(EventSets, r.Events); j >= 0 {
			out = append(out, byte(j))
		} else {
			return out, fmt.Errorf("event set %v is not in EventSets", r.Events)
		}
		var err error
		if out, err = encodeFilter(out, r.Suffix); err != nil {
			return out, err
		}
		if out, err = encodeIndex(out, "target", Targets, r.Target); err != nil {
			return out, err
		}
	}
	return out, nil
}

func encodeFilter(out []byte, f string) ([]byte, error) {
	if len(f) > MaxFilterLen {
		return out, fmt.Errorf("filter %q is longer than %d bytes", f, MaxFilterLen)
	}
	out = append(out, byte(len(f)))
	for i := 0; i < len(f); i++ {
		j := indexByte(Alphabet, f[i])
		if j < 0 {
			return out, fmt.Errorf("filter %q holds %q, not in Alphabet", f, f[i])
		}
		out = append(out, byte(j))
	}
	return out, nil
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// DecodeRulePair decodes two rules for FuzzOverlap: rule "x" of Buckets[0],
// then rule "y", in Buckets[1] when its first byte%8 is 7 and Buckets[0]
// otherwise. Each rule is then: events (0xFF is the empty set, else
// EventSets[i%10]), prefix, suffix, laid out as in DecodeOps. Both target "f0".
func DecodeRulePair(data []byte) (a, b match.Rule) {
	r := &byteReader{data: data}
	decode := func(id, bucket string) match.Rule {
		rule := match.Rule{ID: id, Bucket: bucket, Target: Targets[0]}
		if x := r.next(); x != 0xFF {
			rule.Events = EventSets[int(x)%len(EventSets)]
		}
		rule.Prefix = r.filter()
		rule.Suffix = r.filter()
		return rule
	}
	a = decode("x", Buckets[0])
	bucket := Buckets[0]
	if r.next()%8 == 7 {
		bucket = Buckets[1]
	}
	b = decode("y", bucket)
	return a, b
}

// EncodeRulePair is the inverse of DecodeRulePair for rules it can express
// (IDs and targets are not encoded).
func EncodeRulePair(a, b match.Rule) ([]byte, error) {
	if a.Bucket != Buckets[0] {
		return nil, fmt.Errorf("fuzz: cannot encode bucket %q for the first rule", a.Bucket)
	}
	var out []byte
	for i, r := range []match.Rule{a, b} {
		if i == 1 {
			switch r.Bucket {
			case Buckets[0]:
				out = append(out, 0)
			case Buckets[1]:
				out = append(out, 7)
			default:
				return nil, fmt.Errorf("fuzz: cannot encode bucket %q", r.Bucket)
			}
		}
		if r.Events == 0 {
			out = append(out, 0xFF)
		} else if j := slices.Index(EventSets, r.Events); j >= 0 {
			out = append(out, byte(j))
		} else {
			return nil, fmt.Errorf("fuzz: event set %v is not in EventSets", r.Events)
		}
		var err error
		for _, f := range []string{r.Prefix, r.Suffix} {
			if out, err = encodeFilter(out, f); err != nil {
				return nil, fmt.Errorf("fuzz: %w", err)
			}
		}
	}
	return out, nil
}
