package storetest

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/google/uuid"

	"github.com/keyadm/keyadm/internal/apikey"
)

// Seed inserts n keys straight through the store's batch insert, in
// transactions of ten thousand, for tests and benchmarks that need many
// rows fast. Each key
// gets a random hash (no secret exists for it) unless shape sets one;
// shape may change the key before it is stored.
func Seed(ctx context.Context, st apikey.Store, n int, shape func(i int, k *apikey.Key, hash []byte) []byte) error {
	const batch = 10000
	for start := 0; start < n; start += batch {
		err := st.Update(ctx, func(tx apikey.Tx) error {
			now := tx.Now()
			var keys []*apikey.Key
			var hashes [][]byte
			for i := start; i < min(start+batch, n); i++ {
				k := &apikey.Key{
					ID: uuid.Must(uuid.NewV7()).String(), TenantID: apikey.DefaultTenant,
					Name: fmt.Sprintf("seed-%d", i), Permissions: []string{"read"}, Hint: "qapi_seed",
					CreatedAt: now, CreatedBy: "seed", UpdatedAt: now, Metadata: map[string]string{},
				}
				hash := make([]byte, 32)
				rand.Read(hash)
				if shape != nil {
					hash = shape(i, k, hash)
				}
				keys, hashes = append(keys, k), append(hashes, hash)
			}
			return tx.InsertKeys(keys, hashes)
		})
		if err != nil {
			return err
		}
	}
	return nil
}
