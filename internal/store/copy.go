package store

import (
	"context"

	"github.com/keyadm/keyadm/internal/apikey"
	"github.com/keyadm/keyadm/internal/store/sqlstore"
)

// CopyOptions tune Copy.
type CopyOptions = sqlstore.CopyOptions

// TableCount is how many rows a copy moved into one table.
type TableCount = sqlstore.TableCount

// Copy copies the whole store src into dst, both open and migrated, in one
// transaction on dst (see sqlstore.Copy).
func Copy(ctx context.Context, src, dst DB, opts CopyOptions) ([]TableCount, error) {
	s, ok1 := src.(sqlDB)
	d, ok2 := dst.(sqlDB)
	if !ok1 || !ok2 {
		return nil, apikey.Errorf(apikey.EINTERNAL, "db copy needs two SQL stores")
	}
	return sqlstore.Copy(ctx, s.DB, d.DB, opts)
}
