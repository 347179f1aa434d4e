package apikey

import (
	"context"
	"time"
)

// Page is one page of a list.
type Page struct {
	Keys []*Key
	// More is true when the query's limit cut the list.
	More bool
	Now  time.Time
}

// ListInput is a list request; durations are relative to the time the
// query runs.
type ListInput struct {
	Filter         KeyFilter
	UnusedFor      *time.Duration
	ExpiringWithin *time.Duration
	Sort           Sort
	After, Before  string
	Limit          int // 0: every key
}

// Validate checks the input without touching a store.
func (in *ListInput) Validate() error {
	_, err := in.query(time.Time{})
	return err
}

func (in *ListInput) query(now time.Time) (ListQuery, error) {
	f := in.Filter
	for what, id := range map[string]string{"tenant": f.TenantID, "team": f.TeamID} {
		if id != "" {
			if err := ValidateID(what, id); err != nil {
				return ListQuery{}, err
			}
		}
	}
	if in.After != "" && in.Before != "" {
		return ListQuery{}, Errorf(EINVALID, "give %s or %s, not both", Field("after"), Field("before"))
	}
	for _, id := range []string{in.After, in.Before} {
		if id != "" {
			if err := ValidateKeyID(id); err != nil {
				return ListQuery{}, err
			}
		}
	}
	if in.Limit < 0 {
		return ListQuery{}, Errorf(EINVALID, "invalid limit %d: must be 1 or more", in.Limit)
	}
	if err := positive("unusedFor", in.UnusedFor); err != nil {
		return ListQuery{}, err
	}
	if err := positive("expiringWithin", in.ExpiringWithin); err != nil {
		return ListQuery{}, err
	}
	if in.UnusedFor != nil {
		t := now.Add(-*in.UnusedFor)
		f.UnusedSince = &t
	}
	if in.ExpiringWithin != nil {
		t := now.Add(*in.ExpiringWithin)
		f.ExpiringBy = &t
	}
	if in.Sort.Field == "" {
		in.Sort = DefaultSort
	}
	return ListQuery{Filter: f, Sort: in.Sort, After: in.After, Before: in.Before, Limit: in.Limit, Now: now}, nil
}

// List returns one page of keys; the input is checked before the store is
// touched.
func (s *Service) List(ctx context.Context, in ListInput) (*Page, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	p := &Page{}
	err := s.Store.View(ctx, func(tx Tx) error {
		p.Now = tx.Now()
		q, err := in.query(p.Now)
		if err != nil {
			return err
		}
		if q.Limit > 0 {
			q.Limit++ // one more tells whether there is a next page
		}
		err = tx.EachKey(q, func(k *Key) error {
			p.Keys = append(p.Keys, k)
			return nil
		})
		if err != nil {
			return err
		}
		if in.Limit > 0 && len(p.Keys) > in.Limit {
			p.More = true
			if in.Before != "" {
				p.Keys = p.Keys[1:]
			} else {
				p.Keys = p.Keys[:in.Limit]
			}
		}
		return nil
	})
	return p, err
}

// Each streams every key the input selects, for exports of any size; the
// input is checked before the store is touched.
func (s *Service) Each(ctx context.Context, in ListInput, fn func(k *Key, now time.Time) error) error {
	if err := in.Validate(); err != nil {
		return err
	}
	return s.Store.View(ctx, func(tx Tx) error {
		now := tx.Now()
		q, err := in.query(now)
		if err != nil {
			return err
		}
		return tx.EachKey(q, func(k *Key) error { return fn(k, now) })
	})
}
